package batch

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// jsonMerge merges two profile items with encoding/json: the test's model
// of a merge (the real one is package fold's).
func jsonMerge(into, next *talon.Item) error {
	var a, b struct {
		ID    string                     `json:"integrationId"`
		Attrs map[string]json.RawMessage `json:"attributes"`
	}
	if err := json.Unmarshal(into.JSON, &a); err != nil {
		return err
	}
	if err := json.Unmarshal(next.JSON, &b); err != nil {
		return err
	}
	if a.Attrs == nil {
		a.Attrs = map[string]json.RawMessage{}
	}
	for k, v := range b.Attrs {
		a.Attrs[k] = v
	}
	j, err := json.Marshal(a)
	if err != nil {
		return err
	}
	into.JSON = j
	return nil
}

func profileRow(seq int, id string, attrs string) readers.Row {
	return readers.Row{Seq: int64(seq), Line: int64(seq + 2), Item: talon.Item{Key: id,
		JSON: []byte(fmt.Sprintf(`{"integrationId":%q,"attributes":%s}`, id, attrs))}}
}

// TestChunkerCoalescesRepeats: on the input (30,000 rows over
// 24,000 ids drawn at random, 8 lanes), rows of a key not yet sent merge
// into its item, so batches stay full of distinct keys and the requests
// are about ceil(distinct keys / 1000) + lanes. Every row is in exactly one
// item, a key's rows in file order.
func TestChunkerCoalescesRepeats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var rows []readers.Row
	distinct := map[string]bool{}
	for i := range 30_000 {
		id := fmt.Sprintf("c%d", rng.IntN(24_000))
		distinct[id] = true
		rows = append(rows, profileRow(i, id, fmt.Sprintf(`{"n":%d}`, i)))
	}
	const lanes, size = 8, 1000
	var out []*batch
	c := newChunker(lanes, size, 0, mergeWindow*size/lanes, func(b *batch) error { out = append(out, b); return nil })
	c.merge = jsonMerge
	for _, r := range rows {
		require.NoError(t, c.add(r, nil))
	}
	require.NoError(t, c.flush())
	maxReq := (len(distinct)+size-1)/size + lanes
	t.Logf("%d rows, %d distinct keys, %d batches (bound %d), %d rows merged", len(rows), len(distinct), len(out), maxReq, c.merges)
	assert.LessOrEqual(t, len(out), maxReq)
	assert.Positive(t, c.merges)

	seen := map[int64]bool{}
	lastSeq := map[string]int64{}
	for i, b := range out {
		keys := map[string]bool{}
		for _, r := range b.rows {
			require.False(t, keys[r.Item.Key], "key %s twice in batch %d", r.Item.Key, i)
			keys[r.Item.Key] = true
			group := []readers.Row{r}
			if m := b.merged[r.Seq]; m != nil {
				group = m.all()
				assert.Equal(t, m.first.Seq, r.Seq)
			}
			var want map[string]json.RawMessage
			for _, g := range group {
				assert.False(t, seen[g.Seq], "row %d twice", g.Seq)
				seen[g.Seq] = true
				if l, ok := lastSeq[g.Item.Key]; ok {
					assert.Greater(t, g.Seq, l, "key %s out of file order", g.Item.Key)
				}
				lastSeq[g.Item.Key] = g.Seq
				var p struct {
					Attrs map[string]json.RawMessage `json:"attributes"`
				}
				require.NoError(t, json.Unmarshal(g.Item.JSON, &p))
				want = p.Attrs // the last row's value of n wins
			}
			var got struct {
				Attrs map[string]json.RawMessage `json:"attributes"`
			}
			require.NoError(t, json.Unmarshal(r.Item.JSON, &got))
			assert.Equal(t, want, got.Attrs, "the item is the rows' net effect")
		}
	}
	assert.Len(t, seen, len(rows), "every row is in an item")
}

// TestMergedItemRejectedIsSplit: a 400 for a merged item splits it back
// into its rows, sent one by one in order: only the bad row is rejected,
// with its own line, and the other rows of its key are delivered in order.
func TestMergedItemRejectedIsSplit(t *testing.T) {
	var mu sync.Mutex
	var applied []string // "id:n" in the order the server applied them
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Profiles []struct {
				ID    string         `json:"integrationId"`
				Attrs map[string]any `json:"attributes"`
			} `json:"customerProfiles"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		var errs []string
		for i, p := range body.Profiles {
			if p.Attrs["bad"] != nil {
				errs = append(errs, fmt.Sprintf(`{"title":"unknown attribute","source":{"pointer":"/customerProfiles/%d/attributes/bad"}}`, i))
			}
		}
		if len(errs) > 0 {
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"message":"bad","errors":[%s]}`, strings.Join(errs, ","))
			return
		}
		mu.Lock()
		for _, p := range body.Profiles {
			applied = append(applied, fmt.Sprintf("%s:%v", p.ID, p.Attrs["n"]))
		}
		mu.Unlock()
		w.WriteHeader(204)
	})
	rows := []readers.Row{
		profileRow(0, "a", `{"n":1}`),
		profileRow(1, "b", `{"n":1}`),
		profileRow(2, "a", `{"n":2,"bad":true}`),
		profileRow(3, "a", `{"n":3}`),
		profileRow(4, "b", `{"n":2}`),
	}
	res := runAgainst(t, h, rows, func(c *Config) { c.Lanes, c.Merge = 1, jsonMerge })
	require.NoError(t, res.err)
	assert.Equal(t, int64(4), res.stats.Delivered.Load())
	assert.Equal(t, int64(1), res.stats.Rejected.Load())
	assert.Equal(t, int64(3), res.res.Merged)
	assert.Equal(t, int64(5), res.res.Attempted)
	lines := esLinesOf(t, res.rejects)
	assert.Equal(t, []float64{4}, lines, "the bad row's own line")
	// b went merged (n:2); a's rows one by one, in order, without the bad one.
	assert.Contains(t, applied, "b:2")
	assert.Equal(t, []string{"a:1", "a:3"}, slices.DeleteFunc(slices.Clone(applied), func(s string) bool { return strings.HasPrefix(s, "b") }))
}

// esLinesOf returns the lines of a rejects file.
func esLinesOf(t *testing.T, path string) []float64 {
	var lines []float64
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, path)), "\n") {
		if line == "" {
			continue
		}
		var rej map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rej))
		lines = append(lines, rej["line"].(float64))
	}
	return lines
}
