package readers

import (
	"math"
	"strconv"

	"github.com/talonsync/talonsync/internal/talon"
)

// catalogJSONL maps a JSONL line to a catalog action: either flat fields
// with an optional "action", or a raw CatalogAction {"type","payload"}.
func (r *Reader) catalogJSONL(b []byte, line int64) (talon.Item, error) {
	f := catalogFields{}
	var action, typ []byte
	raw, flat := false, false
	it := objectIter{b: b}
	if !it.begin() {
		return talon.Item{}, &rowError{Line: line, Err: it.err}
	}
	for it.nextKey() {
		name := it.name()
		switch string(name) {
		case "type":
			raw = true
			if !it.value() {
				break
			}
			typ = it.val
		case "payload":
			raw = true
			if !isObjectStart(b, it.i) {
				if it.value() && isNull(it.val) {
					continue
				}
				return talon.Item{}, &rowError{Line: line, Column: "payload", Err: badValue(string(it.val), "is not an object")}
			}
			pit := objectIter{b: b, i: it.i, depth: 2}
			pit.begin()
			for pit.nextKey() {
				if err := catalogMember(&pit, &f, line); err != nil {
					return talon.Item{}, err
				}
			}
			if pit.err != nil {
				return talon.Item{}, &rowError{Line: line, Err: pit.err}
			}
			it.i = pit.i
		case "action":
			flat = true
			if it.value() {
				action = it.val
			}
		default:
			flat = true
			if err := catalogMember(&it, &f, line); err != nil {
				return talon.Item{}, err
			}
		}
	}
	if it.err != nil || !it.end() {
		return talon.Item{}, &rowError{Line: line, Err: it.err}
	}
	if raw && flat {
		return talon.Item{}, &rowError{Line: line, Err: withDetail(errUnknownField,
			`a raw action {"type","payload"} has no other fields`)}
	}
	f.Type = talon.ActionAdd
	col, v := "action", action
	if raw {
		col, v = "type", typ
	}
	if v != nil && !isNull(v) {
		s, ok := stringValue(v)
		if !ok {
			return talon.Item{}, &rowError{Line: line, Column: col, Err: badValue(string(v), "is not a string")}
		}
		if f.Type, ok = parseCatalogAction(s, true); !ok {
			return talon.Item{}, &rowError{Line: line, Column: col, Err: withDetail(errUnknownAction, strconv.Quote(s))}
		}
	} else if raw {
		return talon.Item{}, &rowError{Line: line, Column: "type", Err: withDetail(errUnknownAction, "no type")}
	}
	return r.encodeCatalog(&f, line)
}

func isObjectStart(b []byte, i int) bool { return i < len(b) && b[i] == '{' }

// catalogMember reads one payload member into f; the iterator is at its
// value.
func catalogMember(it *objectIter, f *catalogFields, line int64) error {
	name := string(it.name())
	if name == "attributes" {
		end, err := scanAttributes(it.b, it.i, it.depth+1)
		if err != nil {
			return &rowError{Line: line, Column: name, Err: err}
		}
		if v := it.b[it.i:end]; !isNull(v) && !isEmptyContainer(v) {
			f.Attributes = v
		}
		it.i = end
		return nil
	}
	if !it.value() {
		return &rowError{Line: line, Err: it.err}
	}
	v := it.val
	if isNull(v) {
		switch name {
		case "sku", "price", "product", "replaceIfExists", "createIfNotExists", "filters":
			return nil
		}
	}
	bad := func(want string) error {
		return &rowError{Line: line, Column: name, Err: badValue(string(v), want)}
	}
	switch name {
	case "sku":
		s, ok := stringValue(v)
		if !ok {
			return bad("is not a string")
		}
		f.sku, f.SKU = s, v
	case "price":
		if v[0] != '-' && !isDigit(v[0]) {
			return bad("is not a number")
		}
		if x, err := strconv.ParseFloat(string(v), 64); err != nil || math.IsInf(x, 0) {
			return bad("is not a finite number")
		}
		f.Price = v
	case "product":
		if v[0] != '{' {
			return bad("is not an object")
		}
		f.Product = v
	case "replaceIfExists", "createIfNotExists":
		t := &f.ReplaceIfExists
		if name == "createIfNotExists" {
			t = &f.CreateIfNotExists
		}
		switch string(v) {
		case "true":
			*t = talon.TriTrue
		case "false":
			*t = talon.TriFalse
		default:
			return bad("is not a boolean")
		}
	case "filters":
		if v[0] != '[' {
			return bad("is not an array")
		}
		if !isEmptyContainer(v) {
			f.Filters = v
		}
	default:
		return &rowError{Line: line, Column: name, Err: errUnknownField}
	}
	return nil
}
