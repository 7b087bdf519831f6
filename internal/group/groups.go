package group

import (
	"bytes"
	"errors"
	"slices"
)

// ref locates one record of a loaded partition.
type ref struct {
	hash       uint64
	seq, line  int64
	j0, j1     uint32 // the item JSON, in Groups.data
	koff, klen uint32 // the key, in Groups.data
	flags      byte
}

// refSize is what a ref costs, counted against the budget: a ref and its
// copy in the sort's second buffer.
const refSize = 2 * 48

// Groups yields a Spool's records key by key:
//
//	for g.NextKey() {
//		key, hash := g.Key(), g.Hash()
//		for g.NextRecord() {
//			r := g.Record()
//		}
//	}
//	if err := g.Err(); err != nil { ... }
//
// Keys come in ascending Hash order; keys of equal hash (a collision) in an
// unspecified order, each once. A key's records come in Seq order (for a
// key too big for the budget: in the order they were added). A Record's
// Item.JSON is valid until the next NextKey or NextRecord call; its
// Item.Key is the key's string, the caller's to keep.
type Groups struct {
	s     *Spool
	stack []*partition // partitions still to read, the next one last

	data  []byte // the loaded partition
	refs  []ref
	spare []ref // sortRefs' other buffer
	next  int   // the first ref of the next key

	key    string
	hash   uint64
	hi, ri int // the current key's refs are [.., hi); ri is the next one

	st  *stream // set while a uniform partition is streamed
	buf []byte  // a chunk read from the file
	rec Record
	err error
}

// Groups ends adding and returns the iterator. Call it once.
func (s *Spool) Groups() (*Groups, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.reading {
		return nil, errors.New("group: Groups called twice")
	}
	s.reading = true
	for i := range s.parts {
		if err := s.seal(&s.parts[i]); err != nil {
			return nil, err
		}
	}
	if s.f != nil {
		// Something is in the file already; move the rest there too, so
		// that reading a partition is the only memory the budget pays for.
		if err := s.spillAll(); err != nil {
			return nil, err
		}
	}
	s.free = nil
	g := &Groups{s: s}
	for i := len(s.parts) - 1; i >= 0; i-- {
		if s.parts[i].records > 0 {
			g.stack = append(g.stack, &s.parts[i])
		}
	}
	return g, nil
}

// Key returns the current key.
func (g *Groups) Key() string { return g.key }

// Hash returns the current key's hash.
func (g *Groups) Hash() uint64 { return g.hash }

// Record returns the current record.
func (g *Groups) Record() Record { return g.rec }

// Err returns the error that ended the iteration, if any.
func (g *Groups) Err() error { return g.err }

// NextKey advances to the next key, skipping what is left of the current
// one. It returns false at the end or on error (see Err).
func (g *Groups) NextKey() bool {
	for g.err == nil {
		if g.st != nil {
			if g.st.nextKey(g) {
				return true
			}
			g.st = nil
			continue
		}
		if g.next < len(g.refs) {
			lo := g.next
			r := &g.refs[lo]
			key := g.data[r.koff : r.koff+r.klen]
			hi := lo + 1
			for hi < len(g.refs) && g.refs[hi].hash == r.hash && bytes.Equal(g.keyOf(hi), key) {
				hi++
			}
			g.key, g.hash, g.ri, g.hi, g.next = string(key), r.hash, lo, hi, hi
			return true
		}
		if len(g.stack) == 0 {
			return false
		}
		p := g.stack[len(g.stack)-1]
		g.stack = g.stack[:len(g.stack)-1]
		switch {
		case p.bytes+refSize*p.records <= int64(g.s.opts.Budget):
			g.err = g.load(p)
		case p.uniform:
			g.s.streamed++
			g.st = &stream{p: p, done: map[string]bool{}, ci: -1}
		default:
			g.err = g.split(p)
		}
	}
	return false
}

// NextRecord advances to the current key's next record.
func (g *Groups) NextRecord() bool {
	if g.err != nil {
		return false
	}
	if g.st != nil {
		return g.st.nextRecord(g)
	}
	if g.ri >= g.hi {
		return false
	}
	r := &g.refs[g.ri]
	g.ri++
	g.rec = Record{Hash: r.hash, Seq: r.seq, Line: r.line}
	g.rec.Item.Key = g.key
	g.rec.Item.Type = typeCodes[r.flags&typeMask]
	g.rec.Item.Remove = r.flags&removeFlag != 0
	g.rec.Item.JSON = g.data[r.j0:r.j1]
	return true
}

func (g *Groups) setRecord(d *decoded, body []byte) {
	g.rec = Record{Hash: d.hash, Seq: d.seq, Line: d.line}
	g.rec.Item.Key = g.key
	g.rec.Item.Type = typeCodes[d.flags&typeMask]
	g.rec.Item.Remove = d.flags&removeFlag != 0
	g.rec.Item.JSON = d.json(body)
}

func (g *Groups) keyOf(i int) []byte {
	r := &g.refs[i]
	return g.data[r.koff : r.koff+r.klen]
}

// load reads partition p into memory and sorts its records by hash, key
// and seq.
func (g *Groups) load(p *partition) error {
	s := g.s
	if int64(cap(g.data)) < p.bytes {
		g.data = make([]byte, p.bytes)
	}
	g.data = g.data[:p.bytes]
	pos := 0
	for i := range p.chunks {
		c := &p.chunks[i]
		if c.mem != nil {
			pos += copy(g.data[pos:], c.mem)
			s.held -= len(c.mem)
			continue
		}
		if _, err := s.f.ReadAt(g.data[pos:pos+c.n], c.off); err != nil {
			return err
		}
		pos += c.n
	}
	p.chunks = nil
	if pos != len(g.data) {
		return errCorrupt
	}
	g.refs = g.refs[:0]
	for b := g.data; len(b) > 0; {
		body, rest, err := nextRecord(b)
		if err != nil {
			return err
		}
		d, err := decode(body)
		if err != nil {
			return err
		}
		off := len(g.data) - len(b) + (len(b) - len(rest) - len(body))
		g.refs = append(g.refs, ref{hash: d.hash, seq: d.seq, line: d.line,
			j0: uint32(off + d.j0), j1: uint32(off + len(body)),
			koff: uint32(off + d.k0), klen: uint32(d.k1 - d.k0), flags: d.flags})
		b = rest
	}
	// Records were added in seq order, and distinct keys rarely share a
	// hash: sort by (hash, seq), then sort runs of one hash by key only
	// when their keys differ.
	g.refs, g.spare = sortRefs(g.refs, g.spare, uint((p.depth+1))*s.bits)
	for lo := 0; lo < len(g.refs); {
		hi := lo + 1
		same := true
		for hi < len(g.refs) && g.refs[hi].hash == g.refs[lo].hash {
			same = same && bytes.Equal(g.keyOf(hi), g.keyOf(lo))
			hi++
		}
		if !same {
			slices.SortStableFunc(g.refs[lo:hi], func(a, b ref) int {
				return bytes.Compare(g.data[a.koff:a.koff+a.klen], g.data[b.koff:b.koff+b.klen])
			})
		}
		lo = hi
	}
	g.next = 0
	return nil
}

// split spreads the records of p over sub-partitions by the next bits of
// their hash, writing full buffers to the file, and queues the non-empty
// ones in order.
func (g *Groups) split(p *partition) error {
	s := g.s
	s.splits++
	subs := make([]partition, len(s.parts))
	for i := range subs {
		subs[i].depth = p.depth + 1
	}
	first, seen, uniform := uint64(0), false, true
	for i := range p.chunks {
		b, err := s.read(&p.chunks[i], g.buf)
		if err != nil {
			return err
		}
		if p.chunks[i].mem == nil {
			g.buf = b
		} else {
			s.held -= len(b)
		}
		for len(b) > 0 {
			body, rest, err := nextRecord(b)
			if err != nil {
				return err
			}
			h := hashOf(body)
			if !seen {
				first, seen = h, true
			}
			uniform = uniform && h == first
			q := &subs[s.index(h, p.depth+1)]
			q.buf = append(q.buf, b[:len(b)-len(rest)]...)
			q.bytes += int64(len(b) - len(rest))
			q.records++
			if len(q.buf) >= s.chunkSize {
				if err := g.flush(q); err != nil {
					return err
				}
			}
			b = rest
		}
	}
	p.chunks = nil
	for i := len(subs) - 1; i >= 0; i-- {
		q := &subs[i]
		if q.records == 0 {
			continue
		}
		if err := g.flush(q); err != nil {
			return err
		}
		q.buf = nil
		q.uniform = uniform
		g.stack = append(g.stack, q)
	}
	return nil
}

// flush writes q's buffer to the file as a chunk.
func (g *Groups) flush(q *partition) error {
	if len(q.buf) == 0 {
		return nil
	}
	off, err := g.s.write(q.buf)
	if err != nil {
		return err
	}
	q.chunks = append(q.chunks, chunk{off: off, n: len(q.buf)})
	q.buf = q.buf[:0]
	return nil
}
