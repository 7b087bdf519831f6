package readers

import (
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
	switch f.Type {
	case talon.ActionAdd, talon.ActionPatch, talon.ActionRemove, talon.ActionAddPriceAdjustment:
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
				string(f.Type)+" without filters touches every catalog item; give --allow-bulk to send it")}
		}
	}
	return catalogItem(f), nil
}

// catalogItem encodes a checked action. ADD replaces by default, so that
// loading a file twice is idempotent.
func catalogItem(f *catalogFields) talon.Item {
	key := strings.Clone(f.sku) // not a slice of the whole CSV record (see profileCSV)
	if f.Type == talon.ActionPatchMany || f.Type == talon.ActionRemoveMany {
		key = ""
	}
	if f.Type == talon.ActionAdd && f.ReplaceIfExists == talon.TriUnset {
		f.ReplaceIfExists = talon.TriTrue
	}
	return talon.Item{
		Key:    key,
		Type:   f.Type,
		Remove: f.Type == talon.ActionRemove,
		JSON:   talon.AppendCatalogAction(nil, &f.CatalogFields),
	}
}

// parseCatalogAction parses an action name, case-insensitively. CSV allows
// only the actions on one SKU that a row's cells can hold: ADD, PATCH and
// REMOVE; JSONL allows every type.
func parseCatalogAction(s string, jsonl bool) (talon.ActionType, bool) {
	for _, t := range []talon.ActionType{talon.ActionAdd, talon.ActionPatch, talon.ActionRemove,
		talon.ActionPatchMany, talon.ActionRemoveMany, talon.ActionAddPriceAdjustment} {
		if strings.EqualFold(s, string(t)) {
			if !jsonl && t != talon.ActionAdd && t != talon.ActionPatch && t != talon.ActionRemove {
				return "", false
			}
			return t, true
		}
	}
	return "", false
}

// catalogCSV maps a CSV record to a catalog action, recording every bad
// cell (see badCell).
func (r *Reader) catalogCSV(rec []string) talon.Item {
	p := &r.plan
	f := catalogFields{CatalogFields: talon.CatalogFields{Type: talon.ActionAdd}, sku: rec[p.key]}
	if p.action >= 0 {
		if s := trimBlank(rec[p.action]); s != "" {
			if t, ok := parseCatalogAction(s, false); ok {
				f.Type = t
			} else {
				r.badCell(p.action, withDetail(errUnknownAction, strconv.Quote(s)+" (want ADD, PATCH or REMOVE)"))
			}
		}
	}
	if f.sku == "" {
		r.badCell(p.key, withDetail(errMissingKey, "empty sku"))
	}
	s := r.scratch[:0]
	s, _ = talon.AppendString(s, f.sku) // checked by checkCell
	f.SKU = s
	if f.Type != talon.ActionRemove {
		if p.price >= 0 && rec[p.price] != "" {
			n := len(s)
			var err error
			if s, err = appendCell(s[:n], &p.cols[p.price], attrNumber, rec[p.price]); err != nil {
				r.badCell(p.price, err)
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
				r.badCell(col.i, badValue(rec[col.i], "is not a boolean"))
				continue
			}
			*col.t = talon.TriFalse
			if v {
				*col.t = talon.TriTrue
			}
		}
		n := len(s)
		if s = r.appendAttrs(s, rec); len(s) > n {
			f.Attributes = s[n:]
		}
	}
	r.scratch = s
	if len(r.bad) > 0 {
		return talon.Item{}
	}
	return catalogItem(&f)
}

// appendAttrs appends the attributes object of a record, with the
// mapping's constants, or nothing when every attribute cell is empty and
// there are no constants. A bad cell is recorded and left out.
func (r *Reader) appendAttrs(dst []byte, rec []string) []byte {
	orig := len(dst)
	for _, i := range r.plan.attrs {
		cell := rec[i]
		if cell == "" {
			continue // an empty cell leaves the attribute as it is
		}
		col := &r.plan.cols[i]
		mark := len(dst)
		if len(dst) == orig {
			dst = append(dst, '{')
		} else {
			dst = append(dst, ',')
		}
		dst = append(dst, col.key...)
		var err error
		if dst, err = appendCell(dst, col, col.typ, cell); err != nil {
			dst = dst[:mark]
			r.badCell(i, err)
		}
	}
	if c := r.plan.consts; len(c) > 0 {
		if len(dst) == orig {
			dst = append(dst, '{')
		} else {
			dst = append(dst, ',')
		}
		dst = append(dst, c...)
	}
	if len(dst) > orig {
		dst = append(dst, '}')
	}
	return dst
}
