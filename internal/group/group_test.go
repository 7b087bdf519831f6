package group

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

func fnvHash(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return h.Sum64()
}

// gen returns n records over keys keys in seq order; hash maps a key to
// its hash (a narrow one forces collisions).
func gen(rng *rand.Rand, n, keys int, hash func(string) uint64) []Record {
	types := []talon.ActionType{"", talon.ActionAdd, talon.ActionPatch, talon.ActionRemove}
	recs := make([]Record, n)
	for i := range recs {
		k := rng.IntN(keys)
		key := fmt.Sprintf("key-%d", k)
		if k%5 == 1 {
			key += `"q` // escaped in the JSON: stored beside it
		}
		typ := types[rng.IntN(len(types))]
		js := fmt.Appendf(nil, `{"integrationId":%q,"attributes":{"N":%d,"Pad":"%s"}}`, key, i, make([]byte, rng.IntN(200)))
		if rng.IntN(4) == 0 {
			js = fmt.Appendf(nil, `{"action":"add","n":%d}`, i) // no key in it
		}
		recs[i] = Record{
			Hash: hash(key), Seq: int64(i), Line: int64(2 + 3*i),
			Item: talon.Item{Key: key, Type: typ, Remove: typ == talon.ActionRemove, JSON: js},
		}
	}
	return recs
}

// collect reads every group back; records are copied.
func collect(t *testing.T, g *Groups) (keys []string, byKey map[string][]Record) {
	t.Helper()
	byKey = map[string][]Record{}
	var lastHash uint64
	for g.NextKey() {
		key := g.Key()
		if _, dup := byKey[key]; dup {
			t.Fatalf("key %s came twice", key)
		}
		if len(keys) > 0 {
			require.GreaterOrEqual(t, g.Hash(), lastHash, "keys come in hash order")
		}
		lastHash = g.Hash()
		keys = append(keys, key)
		byKey[key] = []Record{}
		for g.NextRecord() {
			r := g.Record()
			r.Item.JSON = slices.Clone(r.Item.JSON)
			require.Equal(t, key, r.Item.Key)
			require.Equal(t, g.Hash(), r.Hash)
			byKey[key] = append(byKey[key], r)
		}
	}
	require.NoError(t, g.Err())
	return keys, byKey
}

func TestGroups(t *testing.T) {
	narrow := func(key string) uint64 { return fnvHash(key) % 7 << 60 } // 7 hashes: many collisions
	tests := []struct {
		name           string
		n, keys        int
		opts           Options
		hash           func(string) uint64
		spills, splits bool
		streamed       int // -1: some
	}{
		{name: "in memory", n: 2000, keys: 300, hash: fnvHash},
		{name: "spilled", n: 20000, keys: 5000, opts: Options{Budget: 1 << 20}, hash: fnvHash, spills: true},
		{name: "spilled and split", n: 20000, keys: 5000, opts: Options{Budget: 64 << 10, Partitions: 4}, hash: fnvHash, spills: true, splits: true},
		{name: "two partitions", n: 5000, keys: 50, opts: Options{Budget: 64 << 10, Partitions: 2}, hash: fnvHash, spills: true, splits: true},
		{name: "colliding keys, small budget", n: 3000, keys: 40, opts: Options{Budget: 64 << 10, Partitions: 2}, hash: narrow, spills: true, splits: true, streamed: -1},
		{name: "one hot key beyond the budget", n: 4000, keys: 1, opts: Options{Budget: 64 << 10}, hash: fnvHash, spills: true, splits: true, streamed: 1},
		{name: "two colliding hot keys beyond the budget", n: 4000, keys: 2, opts: Options{Budget: 64 << 10}, hash: func(string) uint64 { return 42 }, spills: true, splits: true, streamed: 1},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			recs := gen(rng, tc.n, tc.keys, tc.hash)
			tc.opts.Dir = t.TempDir()
			s, err := New(tc.opts)
			require.NoError(t, err)
			defer s.Close()
			for _, r := range recs {
				require.NoError(t, s.Add(r))
			}
			g, err := s.Groups()
			require.NoError(t, err)
			keys, got := collect(t, g)

			want := map[string][]Record{}
			for _, r := range recs {
				want[r.Item.Key] = append(want[r.Item.Key], r)
			}
			assert.Len(t, keys, len(want))
			for k, w := range want {
				require.Equal(t, w, got[k], "records of %s", k)
			}
			st := s.Stats()
			assert.Equal(t, int64(tc.n), st.Records)
			assert.Equal(t, tc.spills, st.SpilledBytes > 0, "spilled %d bytes", st.SpilledBytes)
			assert.Equal(t, tc.splits, st.Splits > 0, "%d splits", st.Splits)
			if tc.streamed < 0 { // several, as the data falls
				assert.Positive(t, st.Streamed)
			} else {
				assert.Equal(t, tc.streamed, st.Streamed)
			}
			entries, err := os.ReadDir(tc.opts.Dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "the spill file is unlinked while in use")
		})
	}
}

func TestSkipRecords(t *testing.T) {
	for _, budget := range []int{DefaultBudget, 64 << 10} {
		rng := rand.New(rand.NewPCG(1, 1))
		recs := gen(rng, 3000, 3, fnvHash)
		s, err := New(Options{Budget: budget, Dir: t.TempDir()})
		require.NoError(t, err)
		for _, r := range recs {
			require.NoError(t, s.Add(r))
		}
		g, err := s.Groups()
		require.NoError(t, err)
		var keys []string
		for g.NextKey() {
			keys = append(keys, g.Key())
			require.True(t, g.NextRecord(), "each key has a record") // and the rest is skipped
		}
		require.NoError(t, g.Err())
		assert.Len(t, keys, 3, "budget %d", budget)
		require.NoError(t, s.Close())
	}
}

func TestUsage(t *testing.T) {
	_, err := New(Options{Budget: 1000})
	assert.Error(t, err)
	_, err = New(Options{Partitions: 3})
	assert.Error(t, err)

	s, err := New(Options{})
	require.NoError(t, err)
	assert.ErrorIs(t, s.Add(Record{Item: talon.Item{Type: talon.ActionPatchMany, JSON: []byte("{}")}}), ErrNoKey)
	assert.Error(t, s.Add(Record{Item: talon.Item{Key: "k", Type: "ADD_PRICE_ADJUSTMENT"}}))
	g, err := s.Groups()
	require.NoError(t, err)
	assert.False(t, g.NextKey(), "nothing was added")
	assert.NoError(t, g.Err())
	assert.Error(t, s.Add(Record{Item: talon.Item{Key: "k"}}), "add after Groups")
	_, err = s.Groups()
	assert.Error(t, err, "Groups twice")
	assert.NoError(t, s.Close())
}

func TestSortRefs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{0, 1, 2, 10, 1000, 70000} {
		for _, known := range []uint{0, 6, 60, 64} {
			refs := make([]ref, n)
			for i := range refs {
				h := rng.Uint64() >> known // the top known bits are equal (zero)
				if rng.IntN(4) == 0 && i > 0 {
					h = refs[rng.IntN(i)].hash // repeated keys
				}
				refs[i] = ref{hash: h, seq: int64(i)}
			}
			want := slices.Clone(refs)
			slices.SortStableFunc(want, func(a, b ref) int {
				if a.hash != b.hash {
					if a.hash < b.hash {
						return -1
					}
					return 1
				}
				return 0
			})
			got, _ := sortRefs(refs, nil, known)
			require.Equal(t, want, got, "n=%d known=%d", n, known)
		}
	}
}
