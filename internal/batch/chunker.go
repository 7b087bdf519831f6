package batch

import (
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// Chunker routes rows to lanes by key and packs each lane's rows into batches
// that obey the API's limits: at most Size items, one catalog action type per
// batch, and no key twice in one batch.
//
// A repeated key does not cut a batch short. Each lane keeps up to MaxOpen
// open batches in order; a row goes into the first open batch that comes after
// the batch holding the previous row of its key, has room, and holds the same
// action type. The oldest open batch is emitted when it is full, when the input
// ends, or when a row fits nowhere and no further batch may be opened. Because
// a lane emits its batches in order and sends them one after another, the rows
// of one key reach the API in file order and never in two requests at once.
//
// Rows with an empty key (PATCH_MANY, REMOVE_MANY) touch the whole catalog:
// every lane is flushed first and they are emitted as a barrier batch.
//
// A Chunker is owned by one goroutine and is not safe for concurrent use.
type Chunker struct {
	size    int
	maxOpen int
	maxHeld int
	lanes   []lane
	emit    func(b *Batch) error
	bulk    *Batch
}

type lane struct {
	open   []*openBatch
	held   int // rows in open batches
	serial int64
	// last maps a key to the serial of the open batch holding its latest row.
	// Entries that point below open[0] are stale and mean "already emitted".
	last map[string]int64
	free []*openBatch
}

type openBatch struct {
	serial int64
	typ    talon.ActionType
	rows   []readers.Row
}

// NewChunker returns a Chunker over lanes lanes with batches of at most size
// rows. A lane holds at most maxOpen open batches and at most maxHeld rows in
// them (at least size; defaults 64 and 2*size when <= 0). emit is called, on the
// caller's goroutine, with each batch in the order it must be sent within its
// lane; emit owns the batch's rows afterwards. An error from emit is returned
// by Add or Flush.
func NewChunker(lanes, size, maxOpen, maxHeld int, emit func(b *Batch) error) *Chunker {
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
	c := &Chunker{size: size, maxOpen: maxOpen, maxHeld: maxHeld, lanes: make([]lane, lanes), emit: emit}
	for i := range c.lanes {
		c.lanes[i].last = make(map[string]int64)
	}
	return c
}

// LaneOf returns the lane a key is routed to among n lanes (FNV-1a).
func LaneOf(key string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}

// Add places one accepted row.
func (c *Chunker) Add(r readers.Row) error {
	if r.Item.Key == "" {
		return c.addBulk(r)
	}
	if c.bulk != nil {
		if err := c.flushBulk(); err != nil {
			return err
		}
	}
	li := LaneOf(r.Item.Key, len(c.lanes))
	l := &c.lanes[li]
	for {
		if b := c.place(l, r); b != nil {
			b.rows = append(b.rows, r)
			l.held++
			l.last[r.Item.Key] = b.serial
			return c.emitFull(li)
		}
		if len(l.open) < c.maxOpen && l.held < c.maxHeld {
			b := l.newBatch(r.Item.Type, c.size)
			b.rows = append(b.rows, r)
			l.held++
			l.open = append(l.open, b)
			l.last[r.Item.Key] = b.serial
			return c.emitFull(li)
		}
		// Nowhere to go: the oldest batch leaves short so the row can wait in
		// a new one. This only happens when one key repeats many times within
		// about one batch's worth of its lane's rows.
		if err := c.emitOldest(li); err != nil {
			return err
		}
	}
}

// place returns the first open batch the row may join, or nil.
func (c *Chunker) place(l *lane, r readers.Row) *openBatch {
	after, seen := l.last[r.Item.Key]
	for _, b := range l.open {
		if seen && b.serial <= after {
			continue
		}
		if len(b.rows) < c.size && b.typ == r.Item.Type {
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
	b.serial, b.typ = l.serial, typ
	if b.rows == nil {
		b.rows = make([]readers.Row, 0, size)
	}
	return b
}

// emitFull emits the lane's leading batches while they are full.
func (c *Chunker) emitFull(li int) error {
	l := &c.lanes[li]
	for len(l.open) > 0 && len(l.open[0].rows) >= c.size {
		if err := c.emitOldest(li); err != nil {
			return err
		}
	}
	return nil
}

func (c *Chunker) emitOldest(li int) error {
	l := &c.lanes[li]
	b := l.open[0]
	copy(l.open, l.open[1:])
	l.open[len(l.open)-1] = nil
	l.open = l.open[:len(l.open)-1]
	l.held -= len(b.rows)
	for i := range b.rows {
		k := b.rows[i].Item.Key
		if l.last[k] == b.serial {
			delete(l.last, k)
		}
	}
	out := &Batch{Lane: li, Type: b.typ, Rows: b.rows}
	// The rows now belong to emit; the openBatch shell is reused with a
	// fresh slice.
	b.rows = nil
	l.free = append(l.free, b)
	return c.emit(out)
}

func (c *Chunker) addBulk(r readers.Row) error {
	if c.bulk != nil && (c.bulk.Type != r.Item.Type || len(c.bulk.Rows) >= c.size) {
		if err := c.flushBulk(); err != nil {
			return err
		}
	}
	if c.bulk == nil {
		// Everything before a bulk action must be sent before it.
		if err := c.flushLanes(); err != nil {
			return err
		}
		c.bulk = &Batch{Lane: -1, Barrier: true, Type: r.Item.Type}
	}
	c.bulk.Rows = append(c.bulk.Rows, r)
	return nil
}

func (c *Chunker) flushBulk() error {
	b := c.bulk
	c.bulk = nil
	return c.emit(b)
}

func (c *Chunker) flushLanes() error {
	for li := range c.lanes {
		for len(c.lanes[li].open) > 0 {
			if err := c.emitOldest(li); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush emits every open batch, in order. Call it when the input ends.
func (c *Chunker) Flush() error {
	if c.bulk != nil {
		return c.flushBulk()
	}
	return c.flushLanes()
}
