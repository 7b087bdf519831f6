package batch

import (
	"cmp"
	"slices"

	"github.com/talonsync/talonsync/internal/readers"
)

// An input that ends before any batch left has every row in the lanes'
// open batches, split by key hash over all the lanes: a file of 8 rows
// would go out as 8 requests of one row, and one of 20,000 rows over 32
// lanes as 32 requests of some 600. Since nothing is in flight yet, the
// rows may be packed again, in file order, into the fewest batches the
// rules allow, as if there were one lane. The batches that share a key
// then go to one lane, in order; the others spread over the lanes. Per-key
// order and "no key twice in a batch" hold as for any chunking.

// heldRow is a row of an open batch, with the rows merged into it.
type heldRow struct {
	row    readers.Row
	hash   uint64
	merged *mergedRows
}

// packedBatch is a batch of the repacking and the key hashes of its rows.
type packedBatch struct {
	b      *batch
	hashes []uint64
}

// repack emits every open batch, packed again as above. Call it only when
// no batch was emitted and no bulk batch is open.
func (c *chunker) repack() error {
	var held []heldRow
	for li := range c.lanes {
		l := &c.lanes[li]
		for _, b := range l.open {
			for i := range b.rows {
				held = append(held, heldRow{row: b.rows[i], hash: b.hashes[i], merged: b.merged[b.rows[i].Seq]})
			}
			clear(b.rows)
			b.rows, b.merged = b.rows[:0], nil
			l.free = append(l.free, b)
		}
		clear(l.open)
		l.open, l.held = l.open[:0], 0
		clear(l.last)
	}
	slices.SortFunc(held, func(a, b heldRow) int { return cmp.Compare(a.row.Seq, b.row.Seq) })
	packed := c.pack(held)
	for i, li := range shareLanes(packed, len(c.lanes)) {
		packed[i].b.lane = li
		if err := c.emit(packed[i].b); err != nil {
			return err
		}
	}
	return nil
}

// pack puts rows, in file order, into batches by the chunker's rules with
// one lane and no bound on open batches: a row joins the first batch after
// the one that holds its key's previous row, with room and its type.
func (c *chunker) pack(rows []heldRow) []packedBatch {
	var out []packedBatch
	last := make(map[uint64]int, len(rows))
	for _, h := range rows {
		start := 0
		if j, ok := last[h.hash]; ok {
			start = j + 1
		}
		at := -1
		for k := start; k < len(out); k++ {
			if out[k].b.typ == h.row.Item.Type && len(out[k].b.rows) < c.size {
				at = k
				break
			}
		}
		if at < 0 {
			out = append(out, packedBatch{b: &batch{typ: h.row.Item.Type, rows: getRows(c.size)}})
			at = len(out) - 1
		}
		p := &out[at]
		p.b.rows = append(p.b.rows, h.row)
		p.hashes = append(p.hashes, h.hash)
		if h.merged != nil {
			if p.b.merged == nil {
				p.b.merged = make(map[int64]*mergedRows)
			}
			p.b.merged[h.row.Seq] = h.merged
		}
		last[h.hash] = at
	}
	return out
}

// shareLanes gives each batch a lane: batches that share a key are one
// group (union-find), which goes to one lane and so is sent in order; each
// group takes the next lane in turn, in the order of its first batch.
func shareLanes(batches []packedBatch, lanes int) []int {
	parent := make([]int, len(batches))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	first := make(map[uint64]int)
	for i, p := range batches {
		for _, h := range p.hashes {
			j, ok := first[h]
			if !ok {
				first[h] = i
				continue
			}
			if a, b := find(i), find(j); a != b {
				parent[max(a, b)] = min(a, b) // a group's root is its first batch
			}
		}
	}
	lane := make([]int, len(batches))
	next := 0
	for i := range batches {
		if r := find(i); r != i {
			lane[i] = lane[r]
			continue
		}
		lane[i] = next % lanes
		next++
	}
	return lane
}
