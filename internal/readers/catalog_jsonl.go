package readers

import (
	"math"
	"strconv"
	"strings"

	"github.com/talonsync/talonsync/internal/talon"
)

// A JSONL catalog action is checked against the spec's schema for its
// type before it is batched (AddItemCatalogAction and its kin in the
// vendor's OpenAPI spec): every field of the right type, no field the type
// does not take, nothing the API would drop or read ambiguously. The
// checks are hand-written over the raw bytes, with no decoding and no
// reflection; the tests check them against the spec with kin-openapi.

// payloadField is a bit for each field of a catalog payload.
type payloadField uint16

const (
	pfSKU payloadField = 1 << iota
	pfPrice
	pfProduct
	pfAttributes
	pfReplace
	pfCreate
	pfFilters
	pfAdjustments
	// Not payload fields: the other names of a line, for finding repeats.
	pfType
	pfPayload
	pfAction
)

// payloadFields names the bits, in the order AppendCatalogAction writes.
var payloadFields = []struct {
	bit  payloadField
	name string
}{
	{pfSKU, "sku"}, {pfFilters, "filters"}, {pfPrice, "price"}, {pfProduct, "product"},
	{pfAttributes, "attributes"}, {pfReplace, "replaceIfExists"}, {pfCreate, "createIfNotExists"},
	{pfAdjustments, "adjustments"},
}

// takes is the payload fields each action type takes.
var takes = map[talon.ActionType]payloadField{
	talon.ActionAdd:                pfSKU | pfPrice | pfProduct | pfAttributes | pfReplace,
	talon.ActionPatch:              pfSKU | pfPrice | pfProduct | pfAttributes | pfCreate,
	talon.ActionRemove:             pfSKU,
	talon.ActionPatchMany:          pfFilters | pfPrice | pfAttributes,
	talon.ActionRemoveMany:         pfFilters,
	talon.ActionAddPriceAdjustment: pfSKU | pfAdjustments,
}

// fieldNames lists the payload fields in set.
func fieldNames(set payloadField) string {
	var names []string
	for _, f := range payloadFields {
		if set&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, ", ")
}

// jsonlCatalog is a catalog line being read: the action's parts, which
// fields are there (not null), and which names were seen.
type jsonlCatalog struct {
	catalogFields
	present payloadField
	line    int64
	names   []name // scratch for scanAttributes
}

// catalogJSONL maps a JSONL line to a catalog action: either flat fields
// with an optional "action", or a raw CatalogAction {"type","payload"}.
func (r *Reader) catalogJSONL(b []byte, line int64) (talon.Item, error) {
	c := jsonlCatalog{line: line, names: r.names[:0]}
	var action, typ []byte
	var seen payloadField // names of the line
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
			if err := once(&seen, pfType, "type", line); err != nil {
				return talon.Item{}, err
			}
			if !it.value() {
				break
			}
			typ = it.val
		case "payload":
			raw = true
			if err := once(&seen, pfPayload, "payload", line); err != nil {
				return talon.Item{}, err
			}
			if !isObjectStart(b, it.i) {
				if it.value() && isNull(it.val) {
					continue
				}
				return talon.Item{}, &rowError{Line: line, Column: "payload", Err: badJSONValue(string(it.val), "is not an object")}
			}
			pit := objectIter{b: b, i: it.i, depth: 2}
			pit.begin()
			var pseen payloadField
			for pit.nextKey() {
				if err := c.member(&pit, &pseen); err != nil {
					return talon.Item{}, err
				}
			}
			if pit.err != nil {
				return talon.Item{}, &rowError{Line: line, Err: pit.err}
			}
			it.i = pit.i
		case "action":
			flat = true
			if err := once(&seen, pfAction, "action", line); err != nil {
				return talon.Item{}, err
			}
			if it.value() {
				action = it.val
			}
		default:
			flat = true
			if err := c.member(&it, &seen); err != nil {
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
	c.Type = talon.ActionAdd
	col, v := "action", action
	if raw {
		col, v = "type", typ
	}
	if v != nil && !isNull(v) {
		s, ok := stringValue(v)
		if !ok {
			return talon.Item{}, &rowError{Line: line, Column: col, Err: badJSONValue(string(v), "is not a string")}
		}
		if c.Type, ok = parseCatalogAction(s, true); !ok {
			return talon.Item{}, &rowError{Line: line, Column: col, Err: withDetail(errUnknownAction,
				strconv.Quote(s)+" (want ADD, PATCH, REMOVE, PATCH_MANY, REMOVE_MANY or ADD_PRICE_ADJUSTMENT)")}
		}
	} else if raw {
		return talon.Item{}, &rowError{Line: line, Column: "type", Err: withDetail(errUnknownAction, "no type")}
	}
	if extra := c.present &^ takes[c.Type]; extra != 0 {
		first := fieldNames(extra & -extra)
		return talon.Item{}, &rowError{Line: line, Column: first, Err: withDetail(errNotForType,
			string(c.Type)+" takes no "+first+" (its fields: "+fieldNames(takes[c.Type])+"); the API would drop it")}
	}
	if c.Type == talon.ActionAddPriceAdjustment && c.Adjustments == nil {
		return talon.Item{}, &rowError{Line: line, Column: "adjustments", Err: withDetail(errMissingKey,
			"ADD_PRICE_ADJUSTMENT needs adjustments")}
	}
	return r.encodeCatalog(&c.catalogFields, line)
}

func isObjectStart(b []byte, i int) bool { return i < len(b) && b[i] == '{' }

// once marks the name of bit f seen, and is an error if it was already.
func once(seen *payloadField, f payloadField, name string, line int64) error {
	if *seen&f != 0 {
		return twice(name, line)
	}
	*seen |= f
	return nil
}

// twice is the error of a line with the field name twice.
func twice(name string, line int64) error {
	return &rowError{Line: line, Column: name, Err: withDetail(errDuplicateField, strconv.Quote(name)+" appears twice")}
}

// payloadBit is the bit of a payload field's name (a switch: a map lookup
// costs more on this path).
func payloadBit(name []byte) (payloadField, bool) {
	switch string(name) {
	case "sku":
		return pfSKU, true
	case "price":
		return pfPrice, true
	case "product":
		return pfProduct, true
	case "attributes":
		return pfAttributes, true
	case "replaceIfExists":
		return pfReplace, true
	case "createIfNotExists":
		return pfCreate, true
	case "filters":
		return pfFilters, true
	case "adjustments":
		return pfAdjustments, true
	}
	return 0, false
}

// member reads one payload member into c; the iterator is at its value.
func (c *jsonlCatalog) member(it *objectIter, seen *payloadField) error {
	nb := it.name()
	bit, known := payloadBit(nb)
	if !known {
		return &rowError{Line: c.line, Column: string(nb), Err: errUnknownField}
	}
	if *seen&bit != 0 {
		return twice(payloadFieldName(bit), c.line)
	}
	*seen |= bit
	b, i, depth := it.b, it.i, it.depth+1
	var end int
	var err error
	if len(b)-i >= 4 && isNull(b[i:i+4]) {
		// null leaves a field out.
		it.i = i + 4
		return nil
	}
	switch bit {
	case pfAttributes:
		end, err = scanAttributes(b, i, depth, c.names)
		if err == nil && !isEmptyContainer(b[i:end]) {
			c.Attributes = b[i:end]
		}
	case pfProduct:
		end, err = scanProduct(b, i, depth)
		c.Product = b[i:end]
	case pfFilters:
		end, err = scanFilters(b, i, depth)
		if err == nil && !isEmptyContainer(b[i:end]) {
			c.Filters = b[i:end]
		}
	case pfAdjustments:
		end, err = scanAdjustments(b, i, depth)
		c.Adjustments = b[i:end]
	default:
		if !it.value() {
			return &rowError{Line: c.line, Column: payloadFieldName(bit), Err: it.err}
		}
		end, err = it.i, c.scalar(bit, it.val)
	}
	if err != nil {
		return &rowError{Line: c.line, Column: payloadFieldName(bit), Err: err}
	}
	it.i = end
	c.present |= bit
	return nil
}

func payloadFieldName(bit payloadField) string {
	for _, f := range payloadFields {
		if f.bit == bit {
			return f.name
		}
	}
	return ""
}

// scalar checks and keeps the value v of a scalar payload field.
func (c *jsonlCatalog) scalar(bit payloadField, v []byte) error {
	switch bit {
	case pfSKU:
		s, ok := stringValue(v)
		if !ok {
			return badJSONValue(string(v), "is not a string")
		}
		c.sku, c.SKU = s, v
	case pfPrice:
		if v[0] != '-' && !isDigit(v[0]) {
			return badJSONValue(string(v), "is not a number")
		}
		if x, err := strconv.ParseFloat(string(v), 64); err != nil || math.IsInf(x, 0) {
			return badJSONValue(string(v), "is not a finite number")
		}
		c.Price = v
	case pfReplace, pfCreate:
		t := &c.ReplaceIfExists
		if bit == pfCreate {
			t = &c.CreateIfNotExists
		}
		switch string(v) {
		case "true":
			*t = talon.TriTrue
		case "false":
			*t = talon.TriFalse
		default:
			return badJSONValue(string(v), "is not a boolean")
		}
	}
	return nil
}
