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

// mattr is an attribute of a merge: offsets into one of the two items.
type mattr struct {
	n0, n1 uint32 // the name, in src[ns]
	v0, v1 uint32 // the value, in src[vs]
	h      uint32 // nameHash of the name
	ns, vs uint8  // 0: the first item, 1: the second
}

// merger is attrList for MergeProfile, tuned for its hot path: the first
// inlineAttrs attributes live in an array inside the struct, as offsets
// (24 bytes each), so a merger on the stack allocates nothing and is cheap
// to clear; a bitmap of name hashes skips the search for names not seen
// yet.
type merger struct {
	src  [2][]byte
	cur  uint8 // the item being read
	n    int
	inl  [inlineAttrs]mattr
	more []mattr
	seen [4]uint64      // bit h%256 is set for the hash h of every name held
	idx  map[string]int // built once there are more than inlineAttrs
}

func (m *merger) at(i int) *mattr {
	if i < inlineAttrs {
		return &m.inl[i]
	}
	return &m.more[i-inlineAttrs]
}

func (m *merger) name(a *mattr) []byte { return m.src[a.ns][a.n0:a.n1] }
func (m *merger) val(a *mattr) []byte  { return m.src[a.vs][a.v0:a.v1] }

// offset returns where sub starts in the item being read; sub is a slice
// of it.
func (m *merger) offset(sub []byte) uint32 { return uint32(cap(m.src[m.cur]) - cap(sub)) }

// set sets the attribute whose name and value are slices of the item
// being read.
func (m *merger) set(name, val []byte) {
	n0, v0 := m.offset(name), m.offset(val)
	a := mattr{n0: n0, n1: n0 + uint32(len(name)), v0: v0, v1: v0 + uint32(len(val)), ns: m.cur, vs: m.cur}
	if m.idx != nil {
		if i, ok := m.idx[string(name)]; ok {
			b := m.at(i)
			b.vs, b.v0, b.v1 = a.vs, a.v0, a.v1
			return
		}
		m.idx[string(name)] = m.n
		m.push(a)
		return
	}
	a.h = nameHash(name)
	if w, bit := a.h>>6&3, uint64(1)<<(a.h&63); m.seen[w]&bit == 0 {
		m.seen[w] |= bit
	} else {
		for i := range min(m.n, inlineAttrs) {
			if b := &m.inl[i]; b.h == a.h && bytes.Equal(m.name(b), name) {
				b.vs, b.v0, b.v1 = a.vs, a.v0, a.v1
				return
			}
		}
	}
	m.push(a)
	if m.n > inlineAttrs {
		m.idx = make(map[string]int, 2*m.n)
		for i := range m.n {
			m.idx[string(m.name(m.at(i)))] = i
		}
	}
}

func (m *merger) push(a mattr) {
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
	dst = append(dst, '{')
	for i := range m.n {
		a := m.at(i)
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, m.name(a)...)
		dst = append(dst, `":`...)
		dst = append(dst, m.val(a)...)
	}
	return append(dst, '}')
}

// size is the length of the attributes' members.
func (m *merger) size() int {
	n := 0
	for i := range m.n {
		a := m.at(i)
		n += int(a.n1-a.n0) + int(a.v1-a.v0) + 4
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
	p = m.use(p)
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

// use makes p the item being read and returns it cut to its length: the
// caller slices that, so that offsets computed from capacities hold.
func (m *merger) use(p []byte) []byte {
	if m.src[0] == nil {
		m.cur = 0
	} else {
		m.cur = 1
	}
	p = p[:len(p):len(p)]
	m.src[m.cur] = p
	return p
}

// profileAttrs adds the attributes of the encoded CustomerProfile p to m
// and returns p's raw integrationId.
func profileAttrs(p []byte, m *merger) (id []byte, err error) {
	p = m.use(p)
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
