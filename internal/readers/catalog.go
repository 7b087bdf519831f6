package readers

import (
	"math"
	"strconv"
	"strings"

	"github.com/talonsync/talonsync/internal/talon"
)

// catalogFields is a catalog action before encoding: the wire parts and the
// sku as text, its key.
type catalogFields struct {
	talon.CatalogFields
	sku string
}

// encodeCatalog checks f against the rules of its action type and encodes
// it as a CatalogAction.
func (r *Reader) encodeCatalog(f *catalogFields, line int64) (talon.Item, error) {
	key := f.sku
	switch f.Type {
	case talon.ActionAdd, talon.ActionPatch, talon.ActionRemove:
		if f.sku == "" {
			return talon.Item{}, &rowError{Line: line, Column: "sku", Err: withDetail(errMissingKey, "no sku")}
		}
	case talon.ActionPatchMany, talon.ActionRemoveMany:
		if r.opts.Owns != nil {
			return talon.Item{}, &rowError{Line: line, Column: "type", Err: withDetail(errBulkRefused,
				string(f.Type)+" "+errBulkSharded.Error())}
		}
		if f.Filters == nil && !r.opts.AllowBulk {
			return talon.Item{}, &rowError{Line: line, Column: "filters", Err: withDetail(errBulkRefused,
				string(f.Type)+" without filters touches every catalog item; allow it explicitly")}
		}
		key = ""
	}
	if f.Type == talon.ActionAdd && f.ReplaceIfExists == talon.TriUnset {
		// ADD replaces by default so that loading a file twice is idempotent.
		f.ReplaceIfExists = talon.TriTrue
	}
	return talon.Item{
		Key:    key,
		Type:   f.Type,
		Remove: f.Type == talon.ActionRemove,
		JSON:   talon.AppendCatalogAction(nil, &f.CatalogFields),
	}, nil
}

// parseCatalogAction parses an action name, case-insensitively. CSV allows
// only the actions on one SKU.
func parseCatalogAction(s string, many bool) (talon.ActionType, bool) {
	for _, t := range []talon.ActionType{talon.ActionAdd, talon.ActionPatch, talon.ActionRemove,
		talon.ActionPatchMany, talon.ActionRemoveMany} {
		if strings.EqualFold(s, string(t)) {
			if !many && (t == talon.ActionPatchMany || t == talon.ActionRemoveMany) {
				return "", false
			}
			return t, true
		}
	}
	return "", false
}

// catalogCSV maps a CSV record to a catalog action.
func (r *Reader) catalogCSV(rec []string, line int64) (talon.Item, error) {
	p := &r.plan
	f := catalogFields{CatalogFields: talon.CatalogFields{Type: talon.ActionAdd}, sku: rec[p.key]}
	if p.action >= 0 {
		if s := trimBlank(rec[p.action]); s != "" {
			t, ok := parseCatalogAction(s, false)
			if !ok {
				return talon.Item{}, r.rowErr(line, p.action, withDetail(errUnknownAction,
					strconv.Quote(s)+" (want ADD, PATCH or REMOVE)"))
			}
			f.Type = t
		}
	}
	if f.sku == "" {
		return talon.Item{}, r.rowErr(line, p.key, withDetail(errMissingKey, "empty sku"))
	}
	s := r.scratch[:0]
	s, _ = talon.AppendString(s, f.sku) // checked by checkCell
	f.SKU = s
	if f.Type != talon.ActionRemove {
		if p.price >= 0 && rec[p.price] != "" {
			n := len(s)
			var err error
			if s, err = appendValue(s, attrNumber, rec[p.price]); err != nil {
				return talon.Item{}, r.rowErr(line, p.price, err)
			}
			f.Price = s[n:]
		}
		if p.product >= 0 && rec[p.product] != "" {
			n := len(s)
			s = append(s, `{"name":`...)
			s, _ = talon.AppendString(s, rec[p.product])
			s = append(s, '}')
			f.Product = s[n:]
		}
		for _, col := range []struct {
			i int
			t *talon.Tri
		}{{p.replace, &f.ReplaceIfExists}, {p.create, &f.CreateIfNotExists}} {
			if col.i < 0 || trimBlank(rec[col.i]) == "" {
				continue
			}
			v, ok := parseBool(rec[col.i])
			if !ok {
				return talon.Item{}, r.rowErr(line, col.i, badValue(rec[col.i], "is not a boolean"))
			}
			*col.t = talon.TriFalse
			if v {
				*col.t = talon.TriTrue
			}
		}
		var err error
		n := len(s)
		if s, err = r.appendAttrs(s, rec, line); err != nil {
			return talon.Item{}, err
		}
		if len(s) > n {
			f.Attributes = s[n:]
		}
	}
	r.scratch = s
	return r.encodeCatalog(&f, line)
}

// appendAttrs appends the attributes object of a record, or nothing when
// every attribute cell is empty.
func (r *Reader) appendAttrs(dst []byte, rec []string, line int64) ([]byte, error) {
	orig := len(dst)
	for _, i := range r.plan.attrs {
		cell := rec[i]
		if cell == "" {
			continue // an empty cell leaves the attribute as it is
		}
		col := &r.plan.cols[i]
		if len(dst) == orig {
			dst = append(dst, '{')
		} else {
			dst = append(dst, ',')
		}
		dst = append(dst, col.key...)
		var err error
		if dst, err = appendValue(dst, col.typ, cell); err != nil {
			return dst[:orig], r.rowErr(line, i, err)
		}
	}
	if len(dst) > orig {
		dst = append(dst, '}')
	}
	return dst, nil
}

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
