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

// TestRepackSmallInput: an input that ends before any batch is full goes
// out in the fewest batches the rules allow, not one per lane it touched.
func TestRepackSmallInput(t *testing.T) {
	var rows []readers.Row
	for i := range 8 {
		rows = append(rows, row(i, fmt.Sprintf("k%d", i), talon.ActionAdd))
	}
	got := chunkAll(t, 32, 1000, 0, rows)
	checkInvariants(t, 1000, rows, got)
	require.Len(t, got, 1, "8 rows of 8 keys are one batch")
	assert.Len(t, got[0].rows, 8)

	// 2,500 rows of distinct keys over 32 lanes: 3 batches, spread over 3 lanes.
	rows = rows[:0]
	for i := range 2500 {
		rows = append(rows, row(i, fmt.Sprintf("k%d", i), talon.ActionAdd))
	}
	got = chunkAll(t, 32, 1000, 0, rows)
	checkInvariants(t, 1000, rows, got)
	require.Len(t, got, 3)
	assert.Equal(t, []int{1000, 1000, 500}, []int{len(got[0].rows), len(got[1].rows), len(got[2].rows)})
	assert.ElementsMatch(t, []int{0, 1, 2}, []int{got[0].lane, got[1].lane, got[2].lane}, "batches without a shared key go out in parallel")
}

// TestRepackKeepsKeyOrder: repeated keys and several action types, packed
// again, keep each key's rows in file order, in one lane, one type per
// batch; batches that share a key are in one lane.
func TestRepackKeepsKeyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	types := []talon.ActionType{talon.ActionAdd, talon.ActionPatch, talon.ActionRemove}
	for range 50 {
		var rows []readers.Row
		keys := 1 + rng.IntN(40)
		for i := range 1 + rng.IntN(300) {
			rows = append(rows, row(i, fmt.Sprintf("k%d", rng.IntN(keys)), types[rng.IntN(len(types))]))
		}
		size := 1 + rng.IntN(20)
		got := chunkAll(t, 1+rng.IntN(32), size, 0, rows)
		checkInvariants(t, size, rows, got)
	}
}

// TestNoRepackAfterABatchLeft: once a batch was sent, the rest stays in
// its lanes: a batch in flight could hold a key of another lane's rows.
func TestNoRepackAfterABatchLeft(t *testing.T) {
	var rows []readers.Row
	for i := range 10 {
		rows = append(rows, row(i, fmt.Sprintf("k%d", i), talon.ActionAdd))
	}
	var got []*batch
	c := newChunker(4, 3, 0, 0, func(b *batch) error { got = append(got, b); return nil })
	for _, r := range rows {
		require.NoError(t, c.add(r, nil))
	}
	sent := len(got)
	require.Positive(t, sent, "some lane filled a batch of 3")
	require.NoError(t, c.flush())
	checkInvariants(t, 3, rows, got)
	for _, b := range got[sent:] {
		for _, r := range b.rows {
			assert.Equal(t, int(hashKey(r.Item.Key)%4), b.lane, "row %d stays in its key's lane", r.Seq)
		}
	}
}
