package readers

import (
	"strconv"
	"time"

	"github.com/talonsync/talonsync/internal/columns"
)

// The checks of the JSONL values talonsync passes on as they are, each
// against its schema in the vendor's spec (named in each comment). Each
// takes the line, the index of the value and its nesting depth, and
// returns the index just past the value. Everything inside is scanned by
// scanValue, so it is strict JSON: no name twice, no lone surrogate, no
// number beyond float64.

// pathError puts a path inside the value before an error: "filters[1]: ...".
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string { return e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

func at(path string, i int, err error) error {
	return &pathError{path: path + "[" + strconv.Itoa(i) + "]", err: err}
}

// notAn is the error of a value of the wrong JSON type.
func notAn(b []byte, i int, what string) error {
	end, err := scanValue(b, i, 0)
	if err != nil {
		end = min(len(b), i+32)
	}
	return badJSONValue(string(b[i:end]), "is not "+what)
}

// scanAttributes checks an attributes value at b[i] (a free-form object
// in every schema): null, or an object whose names are valid attribute
// names, each once, and whose values are not null. names is scratch space
// for finding repeats, reused across rows (its capacity is what it holds
// before it allocates).
//
// null as a value: the spec allows it, and what the API does with it is
// documented nowhere (clear the attribute? keep it? refuse it?), so
// talonsync refuses it; leaving the attribute out keeps its value. A null
// inside a value (a list, a location) is part of that value.
func scanAttributes(b []byte, i, depth int, names []name) (int, error) {
	if len(b)-i >= 4 && isNull(b[i:i+4]) {
		return i + 4, nil
	}
	it := objectIter{b: b, i: i, depth: depth}
	if !it.begin() {
		return i, notAn(b, i, "an object")
	}
	names = names[:0]
	var bits uint64  // a bit per name, by its key: most names need no compare
	var slow nameSet // past names' capacity, or after a name with escapes
	for it.nextKey() {
		attr := it.name()
		if !columns.ValidAttribute(attr) {
			return i, badValue(string(attr), "is not a valid attribute name (want ^[A-Za-z]\\w*$)")
		}
		if len(names) < cap(names) && !it.esc {
			// The common case, inline: few names, no escapes.
			key := nameKey(it.key)
			if bit := uint64(1) << (key * 0x9E3779B97F4A7C15 >> 58); bits&bit == 0 {
				bits |= bit
			} else if repeated(b, names, key, it.key) {
				return i, dupAttribute(attr)
			}
			names = append(names, name{key: key, off: int32(it.keyStart), n: int32(len(it.key))})
		} else {
			if slow.b == nil {
				slow = nameSet{b: b, small: names}
				names = names[:cap(names)] // the slow way from now on
			}
			var ok bool
			if slow, ok = slow.add(it.keyStart, it.keyStart+len(it.key), it.esc); !ok {
				return i, dupAttribute(attr)
			}
		}
		if !it.value() {
			break
		}
		if isNull(it.val) {
			return i, withDetail(errNullAttribute, "attribute "+strconv.Quote(string(attr))+
				" is null, and the API does not document what null does; leave the attribute out to keep its value")
		}
	}
	if it.err != nil {
		return i, it.err
	}
	return it.i, nil
}

// repeated reports whether raw, of key key, is among names.
func repeated(b []byte, names []name, key uint64, raw []byte) bool {
	for _, n := range names {
		if n.key == key && string(b[n.off:n.off+n.n]) == string(raw) {
			return true
		}
	}
	return false
}

func dupAttribute(attr []byte) error {
	return withDetail(errDuplicateField, "attribute "+strconv.Quote(string(attr))+" appears twice")
}

// scanProduct checks a product (schema Product): {"name": string}, and
// nothing else.
func scanProduct(b []byte, i, depth int) (int, error) {
	it := objectIter{b: b, i: i, depth: depth}
	if !it.begin() {
		return i, notAn(b, i, "an object")
	}
	named := false
	for it.nextKey() {
		switch n := it.name(); {
		case string(n) != "name":
			return i, withDetail(errUnknownField, "a product has a name only, not "+strconv.Quote(string(n)))
		case named:
			return i, withDetail(errDuplicateField, `"name" appears twice`)
		}
		named = true
		if !it.value() {
			break
		}
		if it.val[0] != '"' {
			return i, &pathError{path: "name", err: badJSONValue(string(it.val), "is not a string")}
		}
	}
	if it.err != nil {
		return i, it.err
	}
	if !named {
		return i, withDetail(errMissingKey, "a product needs a name")
	}
	return it.i, nil
}

// scanArrayOf checks an array at b[i] whose elements elem checks; elem
// gets each element's index in the array.
func scanArrayOf(b []byte, i, depth int, elem func(b []byte, i, depth, n int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '[' {
		return i, notAn(b, i, "an array")
	}
	if depth+1 > maxDepth {
		return i, badJSON(i, "nesting too deep")
	}
	j := skipSpace(b, i+1)
	if j < len(b) && b[j] == ']' {
		return j + 1, nil
	}
	for n := 0; ; n++ {
		end, err := elem(b, j, depth+1, n)
		if err != nil {
			return i, err
		}
		j = skipSpace(b, end)
		switch {
		case j >= len(b):
			return i, badJSON(j, "unexpected end of array")
		case b[j] == ',':
			j = skipSpace(b, j+1)
		case b[j] == ']':
			return j + 1, nil
		default:
			return i, badJSON(j, "expected ',' or ']'")
		}
	}
}

// The names of a filter, and of a price adjustment, as bits.
const (
	fAttr = 1 << iota
	fOp
	fValue
)

// scanFilters checks the filters of PATCH_MANY and REMOVE_MANY (an array
// of CatalogActionFilter): each {"attr", "op", "value"} and nothing else;
// attr an attribute name; op one of the spec's six; value any JSON but
// null (the spec says object, its own example filters with a string). The
// API's guide adds that LT, LE, GT and GE compare numbers and IN takes
// comma-separated values, so those take a number (or a string of one) and
// a string: the emulator refuses the rest, and so does talonsync.
func scanFilters(b []byte, i, depth int) (int, error) {
	return scanArrayOf(b, i, depth, scanFilter)
}

func scanFilter(b []byte, i, depth, n int) (int, error) {
	it := objectIter{b: b, i: i, depth: depth}
	if !it.begin() {
		return i, at("filters", n, notAn(b, i, "an object"))
	}
	var seen int
	var op string
	var value []byte
	for it.nextKey() {
		name := it.name()
		var bit int
		switch string(name) {
		case "attr":
			bit = fAttr
		case "op":
			bit = fOp
		case "value":
			bit = fValue
		default:
			return i, at("filters", n, withDetail(errUnknownField, "a filter has attr, op and value only, not "+strconv.Quote(string(name))))
		}
		if seen&bit != 0 {
			return i, at("filters", n, withDetail(errDuplicateField, strconv.Quote(string(name))+" appears twice"))
		}
		seen |= bit
		if !it.value() {
			break
		}
		v := it.val
		switch bit {
		case fAttr:
			s, ok := stringValue(v)
			if !ok || !columns.ValidAttribute(s) {
				return i, at("filters", n, &pathError{path: "attr", err: badJSONValue(string(v), "is not an attribute name (a string like ^[A-Za-z]\\w*$)")})
			}
		case fOp:
			s, _ := stringValue(v)
			switch s {
			case "EQ", "LT", "LE", "GT", "GE", "IN":
				op = s
			default:
				return i, at("filters", n, &pathError{path: "op", err: badJSONValue(string(v), "is not one of EQ, LT, LE, GT, GE, IN")})
			}
		case fValue:
			if isNull(v) {
				return i, at("filters", n, withDetail(errMissingKey, "value is null"))
			}
			value = v
		}
	}
	if it.err != nil {
		return i, at("filters", n, it.err)
	}
	for _, f := range []struct {
		bit  int
		name string
	}{{fAttr, "attr"}, {fOp, "op"}, {fValue, "value"}} {
		if seen&f.bit == 0 {
			return i, at("filters", n, withDetail(errMissingKey, "a filter needs "+f.name))
		}
	}
	switch op {
	case "LT", "LE", "GT", "GE":
		s, isStr := stringValue(value)
		if !isStr {
			s = string(value)
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil || (!isStr && value[0] != '-' && !isDigit(value[0])) {
			return i, at("filters", n, &pathError{path: "value", err: badJSONValue(string(value), op+" compares numbers: want a number")})
		}
	case "IN":
		if value[0] != '"' {
			return i, at("filters", n, &pathError{path: "value", err: badJSONValue(string(value), "IN takes a string of comma-separated values")})
		}
	}
	return it.i, nil
}

// The names of a NewPriceAdjustment, as bits.
const (
	aPriceType = 1 << iota
	aPrice
	aReferenceID
	aCalculatedAt
	aEffectiveFrom
	aEffectiveUntil
	aContextID
)

var adjustmentBits = map[string]int{
	"priceType": aPriceType, "price": aPrice, "referenceId": aReferenceID, "calculatedAt": aCalculatedAt,
	"effectiveFrom": aEffectiveFrom, "effectiveUntil": aEffectiveUntil, "contextId": aContextID,
}

// scanAdjustments checks the adjustments of ADD_PRICE_ADJUSTMENT (an
// array of NewPriceAdjustment): priceType, a non-empty referenceId
// (minLength 1) and price (a number, or null: the price type no longer
// applies) are required; calculatedAt, effectiveFrom and effectiveUntil
// are RFC 3339 date-times; contextId a string; nothing else. talonsync is
// stricter than the spec in three places: price must be given (the spec
// leaves it optional, so left out it could mean null or nothing), priceType
// must not be empty, and the array must not be empty (it would change
// nothing).
func scanAdjustments(b []byte, i, depth int) (int, error) {
	end, err := scanArrayOf(b, i, depth, scanAdjustment)
	if err == nil && isEmptyContainer(b[i:end]) {
		return i, withDetail(errMissingKey, "adjustments is empty")
	}
	return end, err
}

func scanAdjustment(b []byte, i, depth, n int) (int, error) {
	fail := func(err error) (int, error) { return i, at("adjustments", n, err) }
	it := objectIter{b: b, i: i, depth: depth}
	if !it.begin() {
		return fail(notAn(b, i, "an object"))
	}
	seen := 0
	for it.nextKey() {
		name := string(it.name())
		bit, ok := adjustmentBits[name]
		if !ok {
			return fail(withDetail(errUnknownField, "a price adjustment has no field "+strconv.Quote(name)+
				" (it has priceType, price, referenceId, calculatedAt, effectiveFrom, effectiveUntil, contextId)"))
		}
		if seen&bit != 0 {
			return fail(withDetail(errDuplicateField, strconv.Quote(name)+" appears twice"))
		}
		seen |= bit
		if !it.value() {
			break
		}
		v := it.val
		s, isStr := stringValue(v)
		var bad error
		switch bit {
		case aPrice:
			if !isNull(v) && v[0] != '-' && !isDigit(v[0]) {
				bad = badJSONValue(string(v), "is not a number or null")
			}
		case aPriceType, aReferenceID:
			if !isStr || s == "" {
				bad = badJSONValue(string(v), "is not a non-empty string")
			}
		case aContextID:
			if !isStr {
				bad = badJSONValue(string(v), "is not a string")
			}
		default: // the three date-times
			if !isStr || !isDateTime(s) {
				bad = badJSONValue(string(v), "is not an RFC 3339 date-time")
			}
		}
		if bad != nil {
			return fail(&pathError{path: name, err: bad})
		}
	}
	if it.err != nil {
		return fail(it.err)
	}
	for _, f := range []struct {
		bit  int
		name string
	}{{aPriceType, "priceType"}, {aPrice, "price (a number, or null to end the price type)"}, {aReferenceID, "referenceId"}} {
		if seen&f.bit == 0 {
			return fail(withDetail(errMissingKey, "a price adjustment needs "+f.name))
		}
	}
	return it.i, nil
}

// isDateTime reports whether s is an RFC 3339 date-time as JSON Schema's
// format has it: 2006-01-02T15:04:05, a fraction optional, then Z or
// +hh:mm. time.Parse alone is laxer (it takes a one-digit hour).
func isDateTime(s string) bool {
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(layout)+1 {
		return false
	}
	for i := 0; i < len(layout); i++ {
		if layout[i] == 'd' && !isDigit(s[i]) || layout[i] != 'd' && s[i] != layout[i] {
			return false
		}
	}
	rest := s[len(layout):]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && isDigit(rest[n]) {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && isDigit(rest[1]) && isDigit(rest[2]) &&
		rest[3] == ':' && isDigit(rest[4]) && isDigit(rest[5]):
	default:
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}
