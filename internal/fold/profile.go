package fold

import "bytes"

// attr is one attribute of an item: its raw name (between the quotes), its
// raw JSON value and a hash of the name that makes most comparisons cheap.
type attr struct {
	name, val []byte
	h         uint32
}

// nameHash is FNV-1a of a name.
func nameHash(name []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range name {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// attrList is an ordered set of attributes: setting a name that is already
// there replaces its value in place, so the order is that of first
// appearance. Names are compared as written; the readers only pass names
// that match ^[A-Za-z]\w*$, which have a single spelling.
type attrList struct {
	attrs []attr
	idx   map[string]int // built once the list outgrows linear search
}

// linearAttrs is how many attributes a list searches one by one.
const linearAttrs = 32

func (l *attrList) set(name, val []byte) {
	if l.idx != nil {
		if i, ok := l.idx[string(name)]; ok {
			l.attrs[i].val = val
			return
		}
		l.idx[string(name)] = len(l.attrs)
		l.attrs = append(l.attrs, attr{name: name, val: val})
		return
	}
	for i := range l.attrs {
		if bytes.Equal(l.attrs[i].name, name) {
			l.attrs[i].val = val
			return
		}
	}
	l.attrs = append(l.attrs, attr{name: name, val: val})
	if len(l.attrs) > linearAttrs {
		l.idx = make(map[string]int, 2*len(l.attrs))
		for i, a := range l.attrs {
			l.idx[string(a.name)] = i
		}
	}
}

// setObject sets the members of the attributes object obj in order.
func (l *attrList) setObject(obj []byte) error {
	if isNull(obj) {
		return nil
	}
	it := objIter{b: obj, depth: 1}
	for it.next() {
		l.set(it.name, it.val)
	}
	return it.trailing()
}

// appendObject appends the list as a JSON object, without white space.
func (l *attrList) appendObject(dst []byte) []byte {
	return append(appendMembers(append(dst, '{'), l.attrs, true), '}')
}

// appendMembers appends attrs as object members, after a comma unless first.
func appendMembers(dst []byte, attrs []attr, first bool) []byte {
	for _, a := range attrs {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, a.name...)
		dst = append(dst, `":`...)
		dst = append(dst, a.val...)
	}
	return dst
}

// inlineAttrs is how many attributes a profile merge handles without
// allocating.
const inlineAttrs = 32

// merger is attrList for MergeProfile, tuned for its hot path: the first
// inlineAttrs attributes live in an array inside the struct, so a merger on
// the stack allocates nothing (no pointer to the array is ever stored), and
// a bitmap of name hashes skips the search for names not seen yet.
type merger struct {
	n    int
	inl  [inlineAttrs]attr
	more []attr
	seen [4]uint64      // bit h%256 is set for the hash h of every name held
	idx  map[string]int // built once there are more than inlineAttrs
}

func (m *merger) at(i int) *attr {
	if i < inlineAttrs {
		return &m.inl[i]
	}
	return &m.more[i-inlineAttrs]
}

func (m *merger) set(name, val []byte) {
	if m.idx != nil {
		if i, ok := m.idx[string(name)]; ok {
			m.at(i).val = val
			return
		}
		m.idx[string(name)] = m.n
		m.push(attr{name: name, val: val})
		return
	}
	h := nameHash(name)
	if w, bit := h>>6&3, uint64(1)<<(h&63); m.seen[w]&bit == 0 {
		m.seen[w] |= bit
	} else {
		for i := range min(m.n, inlineAttrs) {
			if a := &m.inl[i]; a.h == h && bytes.Equal(a.name, name) {
				a.val = val
				return
			}
		}
	}
	m.push(attr{name, val, h})
	if m.n > inlineAttrs {
		m.idx = make(map[string]int, 2*m.n)
		for i := range m.n {
			m.idx[string(m.at(i).name)] = i
		}
	}
}

func (m *merger) push(a attr) {
	if m.n < inlineAttrs {
		m.inl[m.n] = a
	} else {
		m.more = append(m.more, a)
	}
	m.n++
}

func (m *merger) setObject(obj []byte) error {
	if isNull(obj) {
		return nil
	}
	it := objIter{b: obj, depth: 1}
	for it.next() {
		m.set(it.name, it.val)
	}
	return it.trailing()
}

// appendObject appends the attributes as a JSON object, without white space.
func (m *merger) appendObject(dst []byte) []byte {
	dst = appendMembers(append(dst, '{'), m.inl[:min(m.n, inlineAttrs)], true)
	return append(appendMembers(dst, m.more, false), '}')
}

// size is the length of the attributes' members.
func (m *merger) size() int {
	n := 0
	for i := range m.n {
		a := m.at(i)
		n += len(a.name) + len(a.val) + 4
	}
	return n
}

// compact is profileAttrs for the encoder's own layout, which is what
// nearly every item has: {"integrationId":ID} or
// {"integrationId":ID,"attributes":{"Name":value,...}} without white space
// between members. It reports false for anything else, having set some
// attributes; the caller then starts again with profileAttrs.
func (m *merger) compact(p []byte) (id []byte, ok bool) {
	const head, attrs = `{"integrationId":`, `,"attributes":{`
	if len(p) < len(head)+3 || string(p[:len(head)]) != head || p[len(head)] != '"' {
		return nil, false
	}
	i, err := skipString(p, len(head))
	if err != nil || i >= len(p) {
		return nil, false
	}
	id = p[len(head):i]
	if p[i] == '}' {
		return id, i == len(p)-1
	}
	if len(p)-i < len(attrs)+2 || string(p[i:i+len(attrs)]) != attrs {
		return nil, false
	}
	i += len(attrs)
	if p[i] == '}' {
		return id, i == len(p)-2 && p[i+1] == '}'
	}
	for {
		if p[i] != '"' {
			return nil, false
		}
		end, err := skipString(p, i)
		if err != nil || end >= len(p)-1 || p[end] != ':' {
			return nil, false
		}
		name := p[i+1 : end-1]
		if i, err = skipValue(p, end+1, 2); err != nil || i >= len(p)-1 {
			return nil, false
		}
		m.set(name, p[end+1:i])
		switch p[i] {
		case ',':
			i++
		case '}':
			return id, i == len(p)-2 && p[i+1] == '}'
		default:
			return nil, false
		}
	}
}

// profileAttrs adds the attributes of the encoded CustomerProfile p to m
// and returns p's raw integrationId.
func profileAttrs(p []byte, m *merger) (id []byte, err error) {
	it := objIter{b: p}
	for it.next() {
		switch string(it.name) {
		case "integrationId":
			id = it.val
		case "attributes":
			if err := m.setObject(it.val); err != nil {
				return nil, err
			}
		default:
			return nil, bad(it.i, "unexpected member \""+string(it.name)+"\" in a customer profile")
		}
	}
	if err := it.trailing(); err != nil {
		return nil, err
	}
	if id == nil {
		return nil, bad(0, "no integrationId")
	}
	return id, nil
}

// MergeProfile appends to dst the customer profile that has the effect of
// the encoded profiles a then b, of one integrationId: b's attributes on
// top of a's. The result is what the encoder writes for that attribute set:
//
//	{"integrationId":ID,"attributes":{"Name":value,...}}
//
// with a's integrationId as written, each attribute once, in the order of
// its first appearance in a then b, with the value of its last appearance,
// copied byte for byte; no "attributes" member when there are none. The
// caller guarantees that a and b are of one key; it is not checked.
// MergeProfile grows dst at most once and allocates nothing else for up to
// 32 distinct attributes. On error (ErrBadItem) dst is returned unchanged.
func MergeProfile(dst, a, b []byte) ([]byte, error) {
	var m merger
	id, ok := m.compact(a)
	if ok {
		_, ok = m.compact(b)
	}
	if !ok {
		m = merger{}
		var err error
		if id, err = profileAttrs(a, &m); err != nil {
			return dst, err
		}
		if _, err = profileAttrs(b, &m); err != nil {
			return dst, err
		}
	}
	n := len(`{"integrationId":,"attributes":{}}`) + len(id) + m.size()
	if cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	dst = append(dst, `{"integrationId":`...)
	dst = append(dst, id...)
	if m.n > 0 {
		dst = append(dst, `,"attributes":`...)
		dst = m.appendObject(dst)
	}
	return append(dst, '}'), nil
}

// profileFold merges a key's profiles as they come: each row is merged into
// the running result, so memory is one item whatever the number of rows.
type profileFold struct {
	cur, spare []byte
	n          int
}

func (f *profileFold) reset() { f.cur, f.n = f.cur[:0], 0 }

func (f *profileFold) add(p []byte) error {
	if f.n == 0 {
		// A single row stays as it was read.
		f.cur = append(f.cur[:0], p...)
		f.n = 1
		return nil
	}
	out, err := MergeProfile(f.spare[:0], f.cur, p)
	if err != nil {
		return err
	}
	f.cur, f.spare = out, f.cur
	f.n++
	return nil
}
