package fold

import (
	"bytes"

	"github.com/talonsync/talonsync/internal/talon"
)

// This file joins runs of a SKU's catalog actions; see Catalog rules in
// catalog.go.

// outcome is the outcome of the rows of a run.
type outcome uint8

const (
	accepted outcome = iota + 1
	rejected
	mixed
)

func combine(a, b outcome) outcome {
	if a == b {
		return a
	}
	return mixed
}

// presentKind is what a run does to a present SKU.
type presentKind uint8

const (
	unchanged presentKind = iota // every row was rejected
	removed
	modified // to span.mod
)

// Entry states of a SKU, as indexes of span.out.
const (
	wasAbsent  = 0
	wasPresent = 1
)

// span is a run of consecutive rows [from, to) of one SKU.
type span struct {
	from, tail, to int
	sku            []byte

	created bool    // an absent SKU is present after the run...
	made    content // ...with this content (concrete)

	kind presentKind // what the run does to a present SKU
	mod  content

	// out is the outcome of rows [tail, to) for a SKU absent or present
	// before the run.
	out [2]outcome
	// constant: row tail sets the SKU regardless of its state (REMOVE, or
	// ADD_r with price); the rows before it are superseded.
	constant bool
	// cleared: the run removes a present SKU at some point, and with it
	// what the fold does not model (its price adjustments), which an ADD
	// or PATCH keeps. So only a REMOVE can stand for it.
	cleared bool

	one talon.Item // the row itself, when the run is one row
}

// single returns the run of one row.
func single(a *action, row int, it talon.Item) span {
	s := span{from: row, tail: row, to: row + 1, sku: a.sku, one: it}
	c := content{pm: keepPrice, price: a.price, attrs: a.attrs, product: a.product}
	if a.price != nil {
		c.pm = setPrice
	}
	made := c
	if made.pm == keepPrice {
		made.pm = clearPrice
	}
	switch {
	case a.typ == talon.ActionRemove:
		s.kind, s.constant, s.cleared = removed, true, true
		s.out = [2]outcome{accepted, accepted}
	case a.typ == talon.ActionAdd && a.replace == yes:
		s.created, s.made, s.kind, s.mod = true, made, modified, c
		s.constant = a.price != nil
		s.out = [2]outcome{accepted, accepted}
	case a.typ == talon.ActionAdd:
		s.created, s.made, s.kind = true, made, unchanged
		s.out = [2]outcome{accepted, rejected}
	case a.create == yes: // PATCH
		c.merge = true
		s.created, s.made, s.kind, s.mod = true, made, modified, c
		s.out = [2]outcome{accepted, accepted}
	default: // PATCH without createIfNotExists
		c.merge = true
		s.kind, s.mod = modified, c
		s.out = [2]outcome{rejected, accepted}
	}
	return s
}

// apply returns the concrete item x after m.
func apply(x *content, m *content) content {
	r := content{pm: x.pm, price: x.price, product: m.product}
	if m.pm != keepPrice {
		r.pm, r.price = m.pm, m.price
	}
	if m.merge {
		r.attrs = x.attrs.mergeWith(&m.attrs)
	} else {
		r.attrs = m.attrs.clone()
	}
	return r
}

// then returns the change m1 followed by m2.
func then(m1, m2 *content) content {
	r := apply(m1, m2)
	r.merge = m1.merge && m2.merge
	return r
}

// compose returns the run a followed by b.
func compose(a, b *span) span {
	c := span{from: a.from, to: b.to, sku: a.sku, cleared: a.cleared || b.cleared}
	exists := [2]int{wasAbsent, wasPresent} // a's exit state for each entry state
	if a.created {
		exists[wasAbsent] = wasPresent
	}
	if a.kind == removed {
		exists[wasPresent] = wasAbsent
	}
	// An absent SKU: a leaves it absent or makes a.made; then b.
	switch {
	case !a.created:
		c.created, c.made = b.created, b.made
	case b.kind == unchanged:
		c.created, c.made = true, a.made
	case b.kind == modified:
		c.created, c.made = true, apply(&a.made, &b.mod)
	}
	// A present SKU.
	switch a.kind {
	case unchanged:
		c.kind, c.mod = b.kind, b.mod
	case removed:
		c.kind = removed
		if b.created {
			c.kind, c.mod = modified, b.made // clearPrice stays: the REMOVE dropped the price
		}
	case modified:
		switch b.kind {
		case unchanged:
			c.kind, c.mod = modified, a.mod
		case removed:
			c.kind = removed
		case modified:
			c.kind, c.mod = modified, then(&a.mod, &b.mod)
		}
	}
	if b.constant {
		c.tail, c.constant, c.out = b.tail, true, b.out
	} else {
		c.tail, c.constant = a.tail, a.constant
		for e := range c.out {
			c.out[e] = combine(a.out[e], b.out[exists[e]])
		}
	}
	return c
}

// joined says how one action does what the multi-row run s does: its type,
// content and flag; ok is false when no single action does.
func (s *span) joined() (t talon.ActionType, c *content, flag tri, ok bool) {
	if s.cleared && (s.created || s.kind != removed) {
		return "", nil, unset, false
	}
	switch s.out {
	case [2]outcome{accepted, accepted}:
		switch {
		case !s.created && s.kind == removed:
			return talon.ActionRemove, nil, unset, true
		case s.created && s.kind == modified && sameContent(&s.made, &s.mod):
			if s.mod.merge {
				return talon.ActionPatch, &s.mod, yes, true
			}
			return talon.ActionAdd, &s.mod, yes, true
		}
	case [2]outcome{accepted, rejected}:
		if s.created && s.kind == unchanged {
			return talon.ActionAdd, &s.made, no, true
		}
	case [2]outcome{rejected, accepted}:
		if !s.created && s.kind == modified && s.mod.merge && s.mod.pm != clearPrice {
			return talon.ActionPatch, &s.mod, unset, true
		}
	}
	return "", nil, unset, false
}

// item returns the action of s, which is realizable.
func (s *span) item() talon.Item {
	if s.to-s.from == 1 {
		return s.one
	}
	t, c, flag, _ := s.joined()
	return encodeAction(t, s.sku, c, flag)
}

// sameContent reports whether the change m, applied to a present SKU,
// gives what made is for an absent one, so that one ADD_r or PATCH_c does
// both.
func sameContent(made, m *content) bool {
	if !bytes.Equal(made.product, m.product) || !made.attrs.equalSet(&m.attrs) {
		return false
	}
	switch m.pm {
	case setPrice:
		return made.pm == setPrice && bytes.Equal(made.price, m.price)
	case keepPrice:
		return made.pm == clearPrice
	}
	return false
}

// encodeAction encodes an action as the readers do: payload members sku,
// price, product, attributes, then the flag (replaceIfExists for ADD,
// createIfNotExists for PATCH when set).
func encodeAction(t talon.ActionType, sku []byte, c *content, flag tri) talon.Item {
	n := 64 + len(sku)
	if c != nil {
		n += len(c.price) + len(c.product)
		for _, a := range c.attrs.attrs {
			n += len(a.name) + len(a.val) + 4
		}
	}
	b := make([]byte, 0, n)
	b = append(b, `{"type":"`...)
	b = append(b, t...)
	b = append(b, `","payload":{"sku":`...)
	b = append(b, sku...)
	if c != nil {
		if c.pm == setPrice {
			b = append(b, `,"price":`...)
			b = append(b, c.price...)
		}
		if c.product != nil {
			b = append(b, `,"product":`...)
			b = append(b, c.product...)
		}
		if len(c.attrs.attrs) > 0 {
			b = append(b, `,"attributes":`...)
			b = c.attrs.appendObject(b)
		}
	}
	name := `,"replaceIfExists":`
	if t == talon.ActionPatch {
		name = `,"createIfNotExists":`
	}
	switch flag {
	case yes:
		b = append(b, name...)
		b = append(b, "true"...)
	case no:
		b = append(b, name...)
		b = append(b, "false"...)
	}
	b = append(b, "}}"...)
	return talon.Item{Key: "", Type: t, Remove: t == talon.ActionRemove, JSON: b}
}

// window is how many of the last units a new row may join back to. Beyond
// it, a run of rows that join nothing (say a SKU ADDed a thousand times
// without replaceIfExists) costs no more per row.
const window = 8

// catalogFold joins a SKU's rows as they come. spans are the units so far;
// suffix[i] is the run of spans[i:] composed, for the last window spans, so
// that a new row can join a run further back than the last unit: REMOVE,
// ADD (no price) cannot be one action, but with a PATCH that sets the price
// after them all three are one ADD.
type catalogFold struct {
	spans  []span
	suffix []span
	// fence: no row joins a span before this index. An ADD_PRICE_ADJUSTMENT
	// sets one, after itself: the fold does not model price adjustments,
	// so it is sent as it is, between what the rows before and after it
	// fold to.
	fence int
}

func (f *catalogFold) reset() {
	clear(f.spans)
	clear(f.suffix)
	f.spans, f.suffix = f.spans[:0], f.suffix[:0]
	f.fence = 0
}

func (f *catalogFold) add(it talon.Item, row int) error {
	it.JSON = append([]byte(nil), it.JSON...) // owned: the action points into it
	a, err := parseAction(it)
	if err != nil {
		return err
	}
	it.Remove = a.typ == talon.ActionRemove
	if a.typ == talon.ActionAddPriceAdjustment {
		s := span{from: row, tail: row, to: row + 1, sku: a.sku, one: it}
		f.spans = append(f.spans, s)
		f.suffix = append(f.suffix, s)
		f.fence = len(f.spans)
		return nil
	}
	s := single(&a, row, it)
	lo := max(f.fence, len(f.spans)-window)
	for i := lo; i < len(f.spans); i++ {
		f.suffix[i] = compose(&f.suffix[i], &s)
	}
	f.spans = append(f.spans, s)
	f.suffix = append(f.suffix, s)
	for i := lo; i < len(f.spans)-1; i++ {
		if _, _, _, ok := f.suffix[i].joined(); ok {
			f.spans[i] = f.suffix[i]
			clear(f.spans[i+1:])
			clear(f.suffix[i+1:])
			f.spans, f.suffix = f.spans[:i+1], f.suffix[:i+1]
			break
		}
	}
	return nil
}

func (f *catalogFold) units(dst []Unit, key string) []Unit {
	for i := range f.spans {
		s := &f.spans[i]
		it := s.item()
		it.Key = key
		dst = append(dst, Unit{Item: it, From: s.from, Tail: s.tail, To: s.to})
	}
	return dst
}
