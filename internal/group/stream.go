package group

import "bytes"

// stream yields the records of a partition too big for the budget whose
// records all have one hash, reading it chunk by chunk: one pass per key
// (there is one key, unless two keys' hashes collide) and one to find that
// no key is left.
type stream struct {
	p    *partition
	done map[string]bool
	cur  []byte // the current key

	ci   int    // the chunk in data; -1 before the first
	data []byte // chunk ci
	off  int    // the next record in data
}

// load makes chunk ci the current one.
func (st *stream) load(g *Groups, ci int) bool {
	c := &st.p.chunks[ci]
	b, err := g.s.read(c, g.buf)
	if err != nil {
		g.err = err
		return false
	}
	if c.mem == nil {
		g.buf = b
	}
	st.ci, st.data, st.off = ci, b, 0
	return true
}

// next returns the next record of p in file order, its body and where it
// starts.
func (st *stream) next(g *Groups) (d decoded, body []byte, off int, ok bool) {
	for st.ci < 0 || st.off >= len(st.data) {
		if st.ci+1 >= len(st.p.chunks) || !st.load(g, st.ci+1) {
			return d, nil, 0, false
		}
	}
	off = st.off
	body, rest, err := nextRecord(st.data[off:])
	if err == nil {
		d, err = decode(body)
	}
	if err != nil {
		g.err = err
		return d, nil, 0, false
	}
	st.off = len(st.data) - len(rest)
	return d, body, off, true
}

func (st *stream) nextKey(g *Groups) bool {
	if st.cur != nil {
		st.done[string(st.cur)] = true
	}
	st.ci, st.data = -1, nil
	for {
		d, body, off, ok := st.next(g)
		if !ok {
			return false
		}
		if key := d.key(body); !st.done[string(key)] {
			st.cur = append(st.cur[:0], key...)
			g.key, g.hash = string(key), d.hash
			st.off = off // NextRecord yields this record first
			return true
		}
	}
}

func (st *stream) nextRecord(g *Groups) bool {
	for {
		d, body, _, ok := st.next(g)
		if !ok {
			return false
		}
		if bytes.Equal(d.key(body), st.cur) {
			g.setRecord(&d, body)
			return true
		}
	}
}
