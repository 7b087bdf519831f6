package fold

import (
	"bytes"
	"maps"

	"github.com/talonsync/talonsync/internal/talon"
)

// Catalog rules.
//
// A SKU is absent, or present with an optional price, attributes and an
// optional product. Sent alone, the actions do this:
//
//	ADD, replaceIfExists     absent: create.  present: replace attributes and product (null if left out); keep the price if left out.
//	ADD, no replaceIfExists  absent: create.  present: 400 "item exists", nothing changes.
//	PATCH, createIfNotExists absent: create.  present: merge attributes, set product (null if left out), keep the price if left out.
//	PATCH, no create...      absent: 400 "item not found".  present: as above.
//	REMOVE                   absent: nothing. present: delete.
//
// The fold describes a run of rows by what it does to an absent SKU and what
// it does to a present one, and by the outcome of its rows in each case.
// Adjacent runs are joined when one action does exactly that; otherwise they
// stay separate units, in order. Examples of what joins:
//
//	ADD_r(x) + PATCH(y)        → ADD_r(x⊕y), price y's or else x's, product y's
//	PATCH_c(x) + PATCH(y)      → PATCH_c(x⊕y)
//	PATCH(x) + PATCH(y)        → PATCH(x⊕y) (both rejected for an absent SKU)
//	anything + REMOVE          → REMOVE
//	anything but a REMOVE + ADD_r with price → that ADD
//
// and what does not: a REMOVE and a later row that makes the SKU present
// again (the REMOVE drops the SKU's price adjustments, which an ADD or PATCH
// keeps and the fold does not model), PATCH(x) + PATCH_c(y) (for
// an absent SKU x is rejected and y creates), ADD(x) + ADD(y) without
// replaceIfExists (for an absent SKU the second is rejected).
//
// An ADD_PRICE_ADJUSTMENT is sent as it is, and no row joins across it.
//
// Rejections. A row whose outcome would differ from the others' is never
// hidden in a join: within a unit the rows from Tail on all share the
// unit's outcome. The one exception is deliberate: rows before a REMOVE or
// an ADD_r with price in the same unit are superseded (Unit.Tail), so that
// "PATCH, REMOVE" of a SKU that may be absent is one REMOVE. The PATCH
// would have been rejected for an absent SKU; folded it is not sent, so it
// is neither delivered nor rejected, and the final state is the same.

// tri is an optional boolean.
type tri uint8

const (
	unset tri = iota
	no
	yes
)

// priceMode is what a run does to the price.
type priceMode uint8

const (
	keepPrice  priceMode = iota // leave it (the old one, or none)
	setPrice                    // set it to content.price
	clearPrice                  // no price
)

// content is a catalog item, or what a run makes of a present item.
type content struct {
	pm      priceMode // concrete items use setPrice or clearPrice
	price   []byte
	merge   bool // attrs are merged into the old ones, not replacing them
	attrs   attrList
	product []byte // nil: product null
}

func (c content) clone() content {
	c.attrs = c.attrs.clone()
	return c
}

func (l attrList) clone() attrList {
	out := attrList{attrs: append([]attr(nil), l.attrs...)}
	if l.idx != nil {
		out.idx = maps.Clone(l.idx)
	}
	return out
}

// mergeWith returns l with m's attributes set on top, as a new list.
func (l attrList) mergeWith(m *attrList) attrList {
	out := l.clone()
	for _, a := range m.attrs {
		out.set(a.name, a.val)
	}
	return out
}

func (l *attrList) get(name []byte) ([]byte, bool) {
	if l.idx != nil {
		i, ok := l.idx[string(name)]
		if !ok {
			return nil, false
		}
		return l.attrs[i].val, true
	}
	for _, a := range l.attrs {
		if bytes.Equal(a.name, name) {
			return a.val, true
		}
	}
	return nil, false
}

// equalSet reports whether l and m hold the same attributes with the same
// values, in any order.
func (l *attrList) equalSet(m *attrList) bool {
	if len(l.attrs) != len(m.attrs) {
		return false
	}
	for _, a := range l.attrs {
		if v, ok := m.get(a.name); !ok || !bytes.Equal(v, a.val) {
			return false
		}
	}
	return true
}

// action is a parsed catalog action; its slices point into an owned copy
// of the item's JSON.
type action struct {
	typ     talon.ActionType
	sku     []byte // the raw JSON string
	price   []byte
	product []byte
	attrs   attrList
	replace tri
	create  tri
}

// parseAction parses a CatalogAction item; the action points into it.JSON.
func parseAction(it talon.Item) (action, error) {
	b := it.JSON
	var a action
	var payload []byte
	top := objIter{b: b}
	for top.next() {
		switch string(top.name) {
		case "type":
			a.typ = talon.ActionType(bytes.Trim(top.val, `"`))
		case "payload":
			payload = top.val
		default:
			return action{}, bad(top.i, "unexpected member \""+string(top.name)+"\" in a catalog action")
		}
	}
	if err := top.trailing(); err != nil {
		return action{}, err
	}
	switch a.typ {
	case talon.ActionPatchMany, talon.ActionRemoveMany:
		return action{}, ErrBulk
	case talon.ActionAddPriceAdjustment:
		if err := a.parseSKU(payload); err != nil {
			return action{}, err
		}
	case talon.ActionAdd, talon.ActionPatch, talon.ActionRemove:
		if payload != nil {
			if err := a.parsePayload(payload); err != nil {
				return action{}, err
			}
		}
	default:
		return action{}, bad(0, "unknown action type \""+string(a.typ)+"\"")
	}
	if a.sku == nil {
		return action{}, bad(0, "no sku")
	}
	return a, nil
}

// parseSKU takes only the sku of an ADD_PRICE_ADJUSTMENT payload: the
// action is sent as it is, never joined (see catalogFold.add).
func (a *action) parseSKU(p []byte) error {
	it := objIter{b: p, depth: 1}
	for it.next() {
		if string(it.name) == "sku" && !isNull(it.val) {
			a.sku = it.val
		}
	}
	return it.trailing()
}

func (a *action) parsePayload(p []byte) error {
	it := objIter{b: p, depth: 1}
	for it.next() {
		v := it.val
		if isNull(v) {
			v = nil
		}
		switch string(it.name) {
		case "sku":
			a.sku = v
		case "price":
			a.price = v
		case "product":
			a.product = v
		case "attributes":
			if err := a.attrs.setObject(it.val); err != nil {
				return err
			}
		case "replaceIfExists", "createIfNotExists":
			t := &a.replace
			if string(it.name) == "createIfNotExists" {
				t = &a.create
			}
			switch string(v) {
			case "true":
				*t = yes
			case "false", "":
				*t = no
			default:
				return bad(it.i, string(it.name)+" is not a boolean")
			}
		case "filters":
			return ErrBulk
		default:
			return bad(it.i, "unexpected member \""+string(it.name)+"\" in a catalog payload")
		}
	}
	return it.trailing()
}
