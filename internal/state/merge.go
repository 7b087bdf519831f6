package state

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// change is the last journal record of one key; key aliases the loaded
// partition.
type change struct {
	kind byte
	e    entry
	key  []byte
	seq  int64
}

// changes yields a journal's last record per key in Key order, loading
// one partition at a time: memory is about the journal's size divided by
// journalParts (the snapshot's 24 bytes per key dwarf it).
type changes struct {
	ji       *journalIndex
	clearSeq int64 // the last recInvalidateAll, or -1
	p        int   // the next partition to load
	data     []byte
	buf      []byte
	recs     []change
	i        int
}

// newChanges starts reading the journal indexed by ji.
func newChanges(ji *journalIndex) (*changes, error) {
	c := &changes{ji: ji, clearSeq: -1}
	for _, ref := range ji.all {
		b, err := ji.readChunk(ref, c.buf)
		if err != nil {
			return nil, err
		}
		c.buf = b
		for len(b) > 0 {
			rec, rest, err := nextRecord(b)
			if err != nil {
				return nil, err
			}
			c.clearSeq = max(c.clearSeq, rec.seq)
			b = rest
		}
	}
	return c, nil
}

// next returns the next key's last change; ok is false at the end. A
// damaged chunk answers *errBadChunk.
func (c *changes) next() (ch change, ok bool, err error) {
	for c.i >= len(c.recs) {
		if c.p >= journalParts {
			return ch, false, nil
		}
		if err := c.load(c.p); err != nil {
			return ch, false, err
		}
		c.p++
	}
	c.i++
	return c.recs[c.i-1], true, nil
}

// load reads partition p's records, sorts them by Key and keeps the last
// of each key.
func (c *changes) load(p int) error {
	c.data, c.recs, c.i = c.data[:0], c.recs[:0], 0
	refs := c.ji.parts[p]
	n := 0
	for _, ref := range refs {
		n += ref.n
	}
	if cap(c.data) < n {
		c.data = make([]byte, 0, n)
	}
	for _, ref := range refs {
		b, err := c.ji.readChunk(ref, c.data[len(c.data):len(c.data)+ref.n])
		if err != nil {
			return err
		}
		c.data = c.data[:len(c.data)+len(b)]
	}
	for b := c.data; len(b) > 0; {
		rec, rest, err := nextRecord(b)
		if err != nil {
			return err
		}
		if rec.kind != recInvalidateAll {
			c.recs = append(c.recs, change{kind: rec.kind, e: rec.e, key: rec.key, seq: rec.seq})
		}
		b = rest
	}
	slices.SortFunc(c.recs, func(a, b change) int {
		switch {
		case a.e.key.less(b.e.key):
			return -1
		case b.e.key.less(a.e.key):
			return 1
		}
		return cmp.Compare(b.seq, a.seq) // the latest first: Compact keeps it
	})
	c.recs = slices.CompactFunc(c.recs, func(a, b change) bool { return a.e.key == b.e.key })
	return nil
}

// withJournal runs fn over the changes of ji. When a chunk turns out to be
// damaged, nothing from it on is trusted: fn runs again without them.
func withJournal(ji *journalIndex, fn func(*changes) error) error {
	for {
		ch, err := newChanges(ji)
		if err == nil {
			err = fn(ch)
		}
		var bad *errBadChunk
		if !errors.As(err, &bad) {
			return err
		}
		ji.cut(bad.off)
	}
}

// strCursor reads a snapshot's key strings in entry order, a block at a
// time.
type strCursor struct {
	s    *snapshot
	bi   int
	buf  []byte
	rest []byte
	left int // strings left in the current block
}

func (c *strCursor) next() ([]byte, error) {
	for c.left == 0 {
		if c.s == nil || c.bi >= len(c.s.blocks) {
			return nil, fmt.Errorf("%w: fewer key strings than entries", ErrCorrupt)
		}
		b := &c.s.blocks[c.bi]
		c.bi++
		if cap(c.buf) < b.strLen {
			c.buf = make([]byte, b.strLen)
		}
		c.rest, c.left = c.buf[:b.strLen], b.n
		if err := c.s.readAt(c.rest, b.off+int64(b.n*entrySize), b.strCRC, "key strings"); err != nil {
			return nil, err
		}
	}
	l, k := binary.Uvarint(c.rest)
	if k <= 0 || l > uint64(len(c.rest)-k) {
		return nil, fmt.Errorf("%w: key strings", ErrCorrupt)
	}
	key := c.rest[k : k+int(l)]
	c.rest = c.rest[k+int(l):]
	c.left--
	return key, nil
}

// droppable reports whether e may be forgotten when a complete feed did
// not hold its key: it records a removal the API confirmed, so the API
// holds nothing that a prune would have to remove.
func droppable(e entry) bool { return e.value != 0 && e.meta&absentBit != 0 }

// merge calls emit with the entries of snap (nil: none) updated by the
// journal's changes (nil: none), in Key order. seen marks the snapshot
// entries the run's feed held; with complete, droppable entries the feed
// did not hold are left out. key is valid during the call only.
func merge(snap *snapshot, seen bitmap, ch *changes, complete bool, emit func(e entry, key []byte) error) error {
	var t table
	if snap != nil {
		t = snap.t
	}
	clearSeq := int64(-1)
	if ch != nil {
		clearSeq = ch.clearSeq
	}
	// unknown is e after a bulk action: the key may be anything now.
	unknown := func(e entry) entry { e.meta, e.value = e.meta&^absentBit, 0; return e }
	cur := strCursor{s: snap}
	var next change
	have := false
	advance := func() error {
		if ch == nil {
			have = false
			return nil
		}
		var err error
		next, have, err = ch.next()
		return err
	}
	if err := advance(); err != nil {
		return err
	}
	for i := 0; i < t.len() || have; {
		if i < t.len() && (!have || !next.e.key.less(t.key(i))) {
			key, err := cur.next()
			if err != nil {
				return err
			}
			e := t.at(i)
			if clearSeq >= 0 {
				e = unknown(e)
			}
			if have && next.e.key == e.key {
				switch {
				case next.kind == recConfirm && next.seq > clearSeq:
					e.meta, e.value = next.e.meta, next.e.value
				default:
					e = unknown(e)
				}
				if err := advance(); err != nil {
					return err
				}
			}
			dropped := complete && !seen.has(i) && droppable(e)
			i++
			if dropped {
				continue
			}
			if err := emit(e, key); err != nil {
				return err
			}
			continue
		}
		// A key the snapshot does not hold: only a confirmation adds it,
		// with its value unknown if a bulk action came after it.
		if next.kind == recConfirm {
			e := next.e
			if next.seq < clearSeq {
				e = unknown(e)
			}
			if err := emit(e, next.key); err != nil {
				return err
			}
		}
		if err := advance(); err != nil {
			return err
		}
	}
	return nil
}

// bitmap is a set of entry indexes; a nil bitmap is empty.
type bitmap []uint64

func newBitmap(n int) bitmap { return make(bitmap, (n+63)/64) }

func (b bitmap) set(i int) { b[i>>6] |= 1 << (i & 63) }

func (b bitmap) has(i int) bool { return i>>6 < len(b) && b[i>>6]&(1<<(i&63)) != 0 }
