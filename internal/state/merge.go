package state

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/talonsync/talonsync/internal/group"
	"github.com/talonsync/talonsync/internal/talon"
)

// change is the last journal record of one key.
type change struct {
	kind byte
	e    entry
	key  string
	seq  int64
}

// changes yields a journal's last record per key in Key order. The
// records are sorted through a group.Spool, so memory stays within its
// budget however long the journal is.
type changes struct {
	records  int64 // intact records read
	clearSeq int64 // the last recInvalidateAll, or -1
	spool    *group.Spool
	g        *group.Groups
	pending  []change // the changes of one hash, sorted by tag, next first
	held     *change  // read ahead: the first key of the next hash
}

// sortJournal reads the intact records of jr into a spool.
func sortJournal(jr *journalReader, opts group.Options) (*changes, error) {
	s, err := group.New(opts)
	if err != nil {
		return nil, err
	}
	var seq int64
	clearSeq := int64(-1)
	payload := make([]byte, recFixed)
	for ; ; seq++ {
		rec, ok := jr.next()
		if !ok {
			break
		}
		if rec.kind == recInvalidateAll {
			clearSeq = seq
			continue
		}
		payload[0] = rec.kind
		binary.LittleEndian.PutUint32(payload[1:], rec.e.key.Tag)
		binary.LittleEndian.PutUint32(payload[5:], rec.e.meta)
		binary.LittleEndian.PutUint64(payload[9:], uint64(rec.e.value))
		key := string(rec.key)
		if key == "" {
			key = "\x00" // group records need a key; no entity key is empty
		}
		err := s.Add(group.Record{Hash: rec.e.key.Hash, Seq: seq, Item: talon.Item{Key: key, JSON: payload[:17]}})
		if err != nil {
			s.Close()
			return nil, err
		}
	}
	g, err := s.Groups()
	if err != nil {
		s.Close()
		return nil, err
	}
	return &changes{spool: s, g: g, records: seq, clearSeq: clearSeq}, nil
}

// next returns the next key's last change; ok is false at the end (see
// err).
func (c *changes) next() (ch change, ok bool, err error) {
	if len(c.pending) == 0 {
		if err := c.fill(); err != nil {
			return ch, false, err
		}
		if len(c.pending) == 0 {
			return ch, false, nil
		}
	}
	ch = c.pending[0]
	c.pending = c.pending[1:]
	return ch, true, nil
}

// read returns the last change of the spool's next key.
func (c *changes) read() (change, bool) {
	if !c.g.NextKey() {
		return change{}, false
	}
	var last group.Record
	for c.g.NextRecord() {
		last = c.g.Record()
	}
	p := last.Item.JSON
	ch := change{kind: p[0], key: c.g.Key(), seq: last.Seq, e: entry{
		key:   Key{Hash: last.Hash, Tag: binary.LittleEndian.Uint32(p[1:])},
		meta:  binary.LittleEndian.Uint32(p[5:]),
		value: Value(binary.LittleEndian.Uint64(p[9:])),
	}}
	if ch.key == "\x00" {
		ch.key = ""
	}
	return ch, true
}

// fill reads the keys of the next hash (several only when 64-bit hashes
// collide: the spool yields them in no particular order) and sorts them
// by Key. One key of the following hash is held for the next fill.
func (c *changes) fill() error {
	c.pending = c.pending[:0]
	if c.held != nil {
		c.pending = append(c.pending, *c.held)
		c.held = nil
	} else if ch, ok := c.read(); ok {
		c.pending = append(c.pending, ch)
	} else {
		return c.g.Err()
	}
	for {
		ch, ok := c.read()
		if !ok {
			break
		}
		if ch.e.key.Hash != c.pending[0].e.key.Hash {
			c.held = &ch
			break
		}
		c.pending = append(c.pending, ch)
	}
	if len(c.pending) > 1 {
		slices.SortFunc(c.pending, func(a, b change) int {
			switch {
			case a.e.key.less(b.e.key):
				return -1
			case b.e.key.less(a.e.key):
				return 1
			}
			return cmp.Compare(b.seq, a.seq) // the latest first: Compact keeps it
		})
		// Two strings with one 96-bit Key are one key to the state: the
		// later record wins.
		c.pending = slices.CompactFunc(c.pending, func(a, b change) bool { return a.e.key == b.e.key })
	}
	return c.g.Err()
}

func (c *changes) close() error {
	if c == nil {
		return nil
	}
	return c.spool.Close()
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
			if err := emit(e, []byte(next.key)); err != nil {
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
