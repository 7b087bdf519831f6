package batch

import (
	"sync"

	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// chunker routes rows to lanes by key and packs each lane's rows into batches
// that obey the API's limits: at most Size items, one catalog action type per
// batch, and no key twice in one batch.
//
// A repeated key does not cut a batch short. Each lane keeps open batches in
// order; a row goes into the first open batch that comes after the batch
// holding the previous row of its key, has room, and holds the same action
// type. A full batch is emitted when it is the oldest, or when none of its
// keys has an earlier row in an older open batch (so a slowly filling PATCH
// batch does not hold back full ADD batches). The oldest batch is also
// emitted, short, when a row fits nowhere and no further batch may be opened,
// and every batch when the input ends. Because a lane sends its batches one
// after another in the order they were emitted, the rows of one key reach the
// API in file order and never in two requests at once.
//
// Keys are tracked by a 64-bit hash. A collision can only make a row wait for
// a later batch than it needs; it never puts one key twice in a batch.
//
// Rows with an empty key (PATCH_MANY, REMOVE_MANY) touch the whole catalog:
// every lane is flushed first and they are emitted as a barrier batch.
//
// A chunker is owned by one goroutine and is not safe for concurrent use.
type chunker struct {
	size    int
	maxOpen int
	maxHeld int
	lanes   []lane
	emit    func(b *batch) error
	bulk    *batch
	// merge, when set, merges a repeated key's row into the item of its
	// earlier row that is not yet sent, instead of queueing it for a
	// later batch.
	merge MergeFunc
	// merges counts the rows merged.
	merges int64
	// emitted is set once a batch left; until then the input's end
	// repacks the lanes' rows (see repack).
	emitted bool
}

type lane struct {
	open   []*openBatch
	held   int // rows in open batches
	serial int64
	// last maps a key's hash to the open batch holding its latest row and
	// the row's place in it. Entries are removed when that batch is
	// emitted.
	last map[uint64]slotRef
	free []*openBatch
}

// slotRef is where a key's latest row is: the serial of its open batch and
// its index there.
type slotRef struct {
	serial int64
	slot   int32
}

type openBatch struct {
	serial int64
	typ    talon.ActionType
	rows   []readers.Row
	hashes []uint64
	merged map[int64]*mergedRows
	// dependent is set when a row joined whose key had an earlier row in an
	// older open batch: then the batch must not overtake the older ones.
	dependent bool
}

// newChunker returns a chunker over lanes lanes with batches of at most size
// rows. A lane holds at most maxOpen open batches and at most maxHeld rows in
// them (at least size; defaults 64 and 2*size when <= 0). emit is called, on the
// caller's goroutine, with each batch in the order it must be sent within its
// lane; emit owns the batch's rows afterwards. An error from emit is returned
// by Add or Flush.
func newChunker(lanes, size, maxOpen, maxHeld int, emit func(b *batch) error) *chunker {
	if lanes < 1 {
		lanes = 1
	}
	if size < 1 || size > talon.MaxItems {
		size = talon.MaxItems
	}
	if maxOpen < 1 {
		maxOpen = 64
	}
	if maxHeld <= 0 {
		maxHeld = 2 * size
	}
	maxHeld = max(maxHeld, size)
	c := &chunker{size: size, maxOpen: maxOpen, maxHeld: maxHeld, lanes: make([]lane, lanes), emit: emit}
	for i := range c.lanes {
		c.lanes[i].last = make(map[uint64]slotRef)
	}
	return c
}

// hashKey is 64-bit FNV-1a.
func hashKey(key string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return h
}

// add places one accepted row; m, when set, holds the input rows its item
// stands for (a unit of an incremental sync).
func (c *chunker) add(r readers.Row, m *mergedRows) error {
	if r.Item.Key == "" {
		return c.addBulk(r)
	}
	if c.bulk != nil {
		if err := c.flushBulk(); err != nil {
			return err
		}
	}
	h := hashKey(r.Item.Key)
	li := int(h % uint64(len(c.lanes)))
	l := &c.lanes[li]
	if m == nil && c.merge != nil && c.mergeRow(l, h, &r) {
		return nil
	}
	for {
		ref, seen := l.last[h]
		after := ref.serial
		b := c.place(l, r.Item.Type, after, seen)
		if b == nil && len(l.open) < c.maxOpen && l.held < c.maxHeld {
			b = l.newBatch(r.Item.Type, c.size)
			l.open = append(l.open, b)
		}
		if b != nil {
			b.rows = append(b.rows, r)
			b.hashes = append(b.hashes, h)
			b.dependent = b.dependent || seen
			l.held++
			l.last[h] = slotRef{serial: b.serial, slot: int32(len(b.rows) - 1)}
			if m != nil {
				if b.merged == nil {
					b.merged = make(map[int64]*mergedRows)
				}
				b.merged[r.Seq] = m
				l.held += len(m.rest)
			}
			if len(b.rows) < c.size || c.merge != nil {
				// Merging, a full batch stays open while the lane has room:
				// the later rows of its keys merge into it.
				return nil
			}
			return c.emitFull(li)
		}
		// Nowhere to go: the oldest batch leaves short so the row can wait in
		// a new one. This only happens when one key repeats many times within
		// about one batch's worth of its lane's rows.
		if err := c.emitAt(li, 0); err != nil {
			return err
		}
	}
}

// mergeRow merges r into the item of its key's latest row when that row is
// still in an open batch, and reports whether it did. A key hash that two
// keys share is told apart by the key itself: such a row is placed, not
// merged.
func (c *chunker) mergeRow(l *lane, h uint64, r *readers.Row) bool {
	ref, ok := l.last[h]
	if !ok {
		return false
	}
	var b *openBatch
	for _, ob := range l.open {
		if ob.serial == ref.serial {
			b = ob
			break
		}
	}
	if b == nil || int(ref.slot) >= len(b.rows) {
		return false
	}
	slot := &b.rows[ref.slot]
	if slot.Item.Key != r.Item.Key || slot.Item.Type != r.Item.Type {
		return false
	}
	merged := slot.Item
	if c.merge(&merged, &r.Item) != nil {
		return false
	}
	if b.merged == nil {
		b.merged = make(map[int64]*mergedRows)
	}
	m := b.merged[slot.Seq]
	if m == nil {
		m = &mergedRows{first: *slot}
		b.merged[slot.Seq] = m
	}
	m.rest = append(m.rest, *r)
	slot.Item = merged
	l.held++
	c.merges++
	return true
}

// place returns the first open batch a row of type typ may join, given the
// serial of the batch holding its key's previous row (if seen), or nil.
func (c *chunker) place(l *lane, typ talon.ActionType, after int64, seen bool) *openBatch {
	for _, b := range l.open {
		if seen && b.serial <= after {
			continue
		}
		if len(b.rows) < c.size && b.typ == typ {
			return b
		}
	}
	return nil
}

func (l *lane) newBatch(typ talon.ActionType, size int) *openBatch {
	l.serial++
	var b *openBatch
	if n := len(l.free); n > 0 {
		b, l.free = l.free[n-1], l.free[:n-1]
	} else {
		b = &openBatch{}
	}
	b.serial, b.typ, b.dependent, b.merged = l.serial, typ, false, nil
	if b.rows == nil {
		b.rows = getRows(size)
	}
	b.hashes = b.hashes[:0]
	return b
}

// emitFull emits the lane's full batches that may go now: the oldest, and
// any whose keys have no rows in older open batches.
func (c *chunker) emitFull(li int) error {
	l := &c.lanes[li]
	for i := 0; i < len(l.open); {
		b := l.open[i]
		if len(b.rows) >= c.size && (i == 0 || !b.dependent) {
			if err := c.emitAt(li, i); err != nil {
				return err
			}
			i = 0 // the next batch may have become the oldest
			continue
		}
		i++
	}
	return nil
}

// emitAt removes the lane's i-th open batch and emits it.
func (c *chunker) emitAt(li, i int) error {
	l := &c.lanes[li]
	b := l.open[i]
	copy(l.open[i:], l.open[i+1:])
	l.open[len(l.open)-1] = nil
	l.open = l.open[:len(l.open)-1]
	l.held -= len(b.rows)
	for _, m := range b.merged {
		l.held -= len(m.rest)
	}
	for _, h := range b.hashes {
		if l.last[h].serial == b.serial {
			delete(l.last, h)
		}
	}
	c.emitted = true
	out := &batch{lane: li, typ: b.typ, rows: b.rows, merged: b.merged}
	// The rows now belong to emit; the openBatch shell is reused with a
	// fresh slice.
	b.rows, b.merged = nil, nil
	l.free = append(l.free, b)
	return c.emit(out)
}

func (c *chunker) addBulk(r readers.Row) error {
	if c.bulk != nil && (c.bulk.typ != r.Item.Type || len(c.bulk.rows) >= c.size) {
		if err := c.flushBulk(); err != nil {
			return err
		}
	}
	if c.bulk == nil {
		// Everything before a bulk action must be sent before it.
		if err := c.flushLanes(); err != nil {
			return err
		}
		c.bulk = &batch{lane: -1, barrier: true, typ: r.Item.Type}
	}
	c.bulk.rows = append(c.bulk.rows, r)
	return nil
}

func (c *chunker) flushBulk() error {
	b := c.bulk
	c.bulk = nil
	c.emitted = true
	return c.emit(b)
}

func (c *chunker) flushLanes() error {
	for li := range c.lanes {
		for len(c.lanes[li].open) > 0 {
			if err := c.emitAt(li, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush emits every open batch, in order, repacked (see repack) when none
// left before. Call it when the input ends.
func (c *chunker) flush() error {
	if c.bulk != nil {
		return c.flushBulk()
	}
	if !c.emitted && len(c.lanes) > 1 {
		return c.repack()
	}
	return c.flushLanes()
}

// rowSlices recycles the row slices of sent batches: a batch's rows are
// about 150 KB, and allocating them anew for every batch costs GC time.
var rowSlices sync.Pool

func getRows(size int) []readers.Row {
	if v, ok := rowSlices.Get().(*[]readers.Row); ok && cap(*v) >= size {
		return (*v)[:0]
	}
	return make([]readers.Row, 0, size)
}

// recycle hands the rows of a finished batch back for reuse. The caller must
// not touch b.rows afterwards.
func recycle(b *batch) {
	rows := b.rows
	b.rows = nil
	clear(rows)
	rows = rows[:0]
	rowSlices.Put(&rows)
}
