package batch

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

func row(seq int, key string, typ talon.ActionType) readers.Row {
	return readers.Row{Seq: int64(seq), Line: int64(seq + 2), Item: talon.Item{Key: key, Type: typ, JSON: []byte(`{}`)}}
}

// chunkAll runs rows through a Chunker and returns the emitted batches.
func chunkAll(t *testing.T, lanes, size, maxOpen int, rows []readers.Row) []*batch {
	t.Helper()
	var out []*batch
	c := newChunker(lanes, size, maxOpen, 0, func(b *batch) error {
		out = append(out, b)
		return nil
	})
	for _, r := range rows {
		require.NoError(t, c.add(r, nil))
	}
	require.NoError(t, c.flush())
	return out
}

// chunkFull chunks rows with the default limits, asserts that every batch
// emitted before the input ended is full and that the batch rules hold, and
// returns the batches and how many came before the final Flush.
func chunkFull(t *testing.T, lanes, size int, rows []readers.Row) ([]*batch, int) {
	t.Helper()
	var got []*batch
	c := newChunker(lanes, size, 0, 0, func(b *batch) error {
		got = append(got, b)
		return nil
	})
	for _, r := range rows {
		require.NoError(t, c.add(r, nil))
	}
	for i, b := range got {
		assert.Len(t, b.rows, size, "batch %d (%s) was emitted short before the input ended", i, b.typ)
	}
	beforeFlush := len(got)
	require.NoError(t, c.flush())
	checkInvariants(t, size, rows, got)
	return got, beforeFlush
}

// checkInvariants asserts the batch rules: size, one type, no key twice,
// every row exactly once, and each key's rows in file order across the
// batches of its lane.
func checkInvariants(t *testing.T, size int, rows []readers.Row, batches []*batch) {
	t.Helper()
	seen := make(map[int64]bool)
	lastPos := make(map[string]int) // key -> emission index of its latest row
	lastSeq := make(map[string]int64)
	laneOf := make(map[string]int) // a key's rows are all sent by one lane
	for i, b := range batches {
		assert.LessOrEqual(t, len(b.rows), size, "batch %d too big", i)
		assert.NotEmpty(t, b.rows)
		keys := make(map[string]bool)
		for _, r := range b.rows {
			assert.Equal(t, b.typ, r.Item.Type, "batch %d mixes action types", i)
			if r.Item.Key != "" {
				assert.False(t, keys[r.Item.Key], "key %s twice in batch %d", r.Item.Key, i)
				keys[r.Item.Key] = true
				if p, ok := lastPos[r.Item.Key]; ok {
					assert.Greater(t, i, p, "key %s: row %d emitted with or before an earlier row", r.Item.Key, r.Seq)
					assert.Greater(t, r.Seq, lastSeq[r.Item.Key], "key %s out of file order", r.Item.Key)
				}
				lastPos[r.Item.Key], lastSeq[r.Item.Key] = i, r.Seq
				if l, ok := laneOf[r.Item.Key]; ok && !b.barrier {
					assert.Equal(t, l, b.lane, "key %s in two lanes", r.Item.Key)
				} else if !b.barrier {
					laneOf[r.Item.Key] = b.lane
				}
			}
			assert.False(t, seen[r.Seq], "row %d emitted twice", r.Seq)
			seen[r.Seq] = true
		}
	}
	assert.Len(t, seen, len(rows), "every row is emitted once")
}

func TestChunkerBatchRules(t *testing.T) {
	tests := []struct {
		name      string
		lanes     int
		size      int
		rows      func() []readers.Row
		wantSizes []int // per emitted batch, in order; nil = don't check
	}{
		{
			name: "distinct keys fill batches", lanes: 1, size: 1000,
			rows: func() []readers.Row {
				var rs []readers.Row
				for i := 0; i < 2500; i++ {
					rs = append(rs, row(i, fmt.Sprintf("k%d", i), ""))
				}
				return rs
			},
			wantSizes: []int{1000, 1000, 500},
		},
		{
			name: "adjacent duplicate waits for the next batch", lanes: 1, size: 3,
			rows: func() []readers.Row {
				return []readers.Row{row(0, "a", ""), row(1, "a", ""), row(2, "b", ""), row(3, "c", ""), row(4, "d", "")}
			},
			// a,b,c fill the first batch; the second a and d go to the second.
			wantSizes: []int{3, 2},
		},
		{
			name: "one action type per batch", lanes: 1, size: 10,
			rows: func() []readers.Row {
				return []readers.Row{
					row(0, "a", talon.ActionAdd), row(1, "b", talon.ActionPatch), row(2, "c", talon.ActionAdd),
					row(3, "a", talon.ActionRemove), row(4, "d", talon.ActionPatch),
				}
			},
			wantSizes: []int{2, 2, 1},
		},
		{
			name: "a hot key never shares a batch with itself", lanes: 2, size: 4,
			rows: func() []readers.Row {
				var rs []readers.Row
				for i := 0; i < 40; i++ {
					k := "hot"
					if i%2 == 1 {
						k = fmt.Sprintf("k%d", i)
					}
					rs = append(rs, row(i, k, ""))
				}
				return rs
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := tc.rows()
			got := chunkAll(t, tc.lanes, tc.size, 4, rows)
			checkInvariants(t, tc.size, rows, got)
			if tc.wantSizes != nil {
				var sizes []int
				for _, b := range got {
					sizes = append(sizes, len(b.rows))
				}
				assert.Equal(t, tc.wantSizes, sizes)
			}
		})
	}
}

// TestChunkerRepeatsKeepBatchesFull is the case the issue names: 20% of the
// rows repeat an earlier key, and batches still stay full.
func TestChunkerRepeatsKeepBatchesFull(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var rows []readers.Row
	for i := 0; i < 100_000; i++ {
		k := fmt.Sprintf("k%d", i)
		if i > 0 && rng.Float64() < 0.2 {
			k = rows[rng.IntN(len(rows))].Item.Key // an earlier key, near or far
			if rng.IntN(2) == 0 {
				k = rows[len(rows)-1].Item.Key // adjacent
			}
		}
		rows = append(rows, row(i, k, ""))
	}
	const lanes, size = 4, 1000
	got, beforeFlush := chunkFull(t, lanes, size, rows)
	// At the end each lane flushes its open batches: a few short ones per lane
	// (as many as the longest run of one key among the rows it still holds).
	assert.LessOrEqual(t, len(got)-beforeFlush, lanes*8)
	assert.LessOrEqual(t, len(got), len(rows)/size+lanes*8)
}

func TestChunkerRandomInvariants(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		types := []talon.ActionType{talon.ActionAdd, talon.ActionPatch, talon.ActionRemove}
		var rows []readers.Row
		n := 200 + rng.IntN(2000)
		for i := 0; i < n; i++ {
			rows = append(rows, row(i, fmt.Sprintf("k%d", rng.IntN(50+rng.IntN(500))), types[rng.IntN(3)]))
		}
		size := 1 + rng.IntN(60)
		got := chunkAll(t, 1+rng.IntN(5), size, 1+rng.IntN(5), rows)
		checkInvariants(t, size, rows, got)
	}
}

func TestChunkerBulkIsABarrier(t *testing.T) {
	rows := []readers.Row{
		row(0, "a", talon.ActionAdd), row(1, "b", talon.ActionAdd),
		row(2, "", talon.ActionPatchMany), row(3, "", talon.ActionPatchMany),
		row(4, "a", talon.ActionAdd),
	}
	got := chunkAll(t, 2, 10, 0, rows)
	var order []string
	for _, b := range got {
		s := ""
		for _, r := range b.rows {
			s += fmt.Sprint(r.Seq)
		}
		if b.barrier {
			s = "barrier:" + s
		}
		order = append(order, s)
	}
	// Everything before the bulk rows is emitted before them, everything after, after.
	require.Len(t, order, 4)
	assert.ElementsMatch(t, []string{"0", "1"}, order[:2])
	assert.Equal(t, "barrier:23", order[2])
	assert.Equal(t, "4", order[3])
}

// TestLaneIsStable: a key's lane depends on the key alone, so a resumed run
// routes it as the first run did (FNV-1a, not a seeded hash).
func TestLaneIsStable(t *testing.T) {
	assert.Equal(t, uint64(14695981039346656037), hashKey(""))
	assert.Equal(t, uint64(0xaf63dc4c8601ec8c), hashKey("a"))
}

func BenchmarkChunker(b *testing.B) {
	rows := make([]readers.Row, 100_000)
	for i := range rows {
		rows[i] = row(i, fmt.Sprintf("k%d", i%80_000), "")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := newChunker(4, 1000, 64, 0, func(*batch) error { return nil })
		for _, r := range rows {
			_ = c.add(r, nil)
		}
		_ = c.flush()
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
}

// TestChunkerMixedTypesStayFull: a slowly filling PATCH batch at the head of
// a lane must not hold back full ADD batches, or force them out short.
func TestChunkerMixedTypesStayFull(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var rows []readers.Row
	for i := 0; i < 200_000; i++ {
		typ := talon.ActionAdd
		switch p := rng.Float64(); {
		case p < 0.02:
			typ = talon.ActionRemove
		case p < 0.10:
			typ = talon.ActionPatch
		}
		rows = append(rows, row(i, fmt.Sprintf("SKU-%d", i), typ))
	}
	const lanes, size = 4, 1000
	got, _ := chunkFull(t, lanes, size, rows)
	assert.LessOrEqual(t, len(got), len(rows)/size+lanes*3)
}
