package readers

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small validating JSON scanner. It never decodes values:
// it finds where they end, so that JSONL values are copied to the API item as
// raw bytes. It accepts RFC 8259 JSON, and is stricter where a value copied
// as it is would be ambiguous to the API: it rejects invalid UTF-8 and lone
// surrogate escapes ("\ud800") in strings, which decoders silently replace,
// numbers beyond float64 (1e400), and a name twice in one object, of which
// decoders keep one.

// maxDepth bounds the nesting of arrays and objects, so that a hostile line
// cannot exhaust the stack.
const maxDepth = 1000

// jsonError is an error at a byte offset of a line: a syntax error, which
// matches errBadJSON, or valid JSON that the scanner refuses, which matches
// its kind.
type jsonError struct {
	off  int
	msg  string
	kind error // errBadValue, errDuplicateField; nil for a syntax error
}

func (e *jsonError) Error() string {
	if e.kind != nil {
		return e.msg + " (at byte " + strconv.Itoa(e.off+1) + ")"
	}
	return "invalid JSON at byte " + strconv.Itoa(e.off+1) + ": " + e.msg
}

func (e *jsonError) Unwrap() error {
	if e.kind != nil {
		return e.kind
	}
	return errBadJSON
}

func badJSON(off int, msg string) error { return &jsonError{off: off, msg: msg} }

// refused is valid JSON at off that the scanner refuses, of kind kind.
func refused(off int, kind error, msg string) error {
	return &jsonError{off: off, msg: msg, kind: kind}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanValue validates the JSON value that starts at b[i] and returns the
// index just past it.
func scanValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, badJSON(i, "unexpected end of input")
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '{':
		return scanObject(b, i, depth+1)
	case c == '[':
		return scanArray(b, i, depth+1)
	case c == '-' || (c >= '0' && c <= '9'):
		end, exp, err := scanNumber(b, i)
		if err == nil && (exp || end-i >= 309) && !finite(b[i:end]) {
			return i, refused(i, errBadValue, "number "+string(b[i:min(end, i+32)])+" is beyond float64's range")
		}
		return end, err
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	}
	return i, badJSON(i, "unexpected character "+strconv.QuoteRune(rune(b[i])))
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, badJSON(i, "invalid literal")
	}
	return i + len(lit), nil
}

func scanObject(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return i, badJSON(i, "nesting too deep")
	}
	var arr [8]name
	names := nameSet{b: b, small: arr[:0]}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, badJSON(i, "expected object key")
		}
		start := i
		end, esc, err := scanString(b, i)
		if err != nil {
			return end, err
		}
		var ok bool
		if names, ok = names.add(start+1, end-1, esc); !ok {
			return start, refused(start, errDuplicateField, "name "+string(b[start:end])+" appears twice in one object")
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return i, badJSON(i, "expected ':'")
		}
		if i, err = scanValue(b, skipSpace(b, i+1), depth); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, badJSON(i, "unexpected end of object")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, badJSON(i, "expected ',' or '}'")
		}
	}
}

// finite reports whether the JSON number v is within float64's range.
// Numbers without an exponent and of fewer than 309 bytes always are: the
// caller skips those.
func finite(v []byte) bool {
	f, err := strconv.ParseFloat(string(v), 64)
	return err == nil && !math.IsInf(f, 0)
}

// name is a member name of an object: where it is in the line, and a
// cheap key of it. It holds no pointer, so a slice of names is scratch
// space the garbage collector does not scan.
type name struct {
	key    uint64
	off, n int32
}

// nameKey packs a name's length and three of its bytes: most names that
// differ differ in it.
func nameKey(raw []byte) uint64 {
	n := len(raw)
	if n == 0 {
		return 0
	}
	return uint64(n) | uint64(raw[0])<<32 | uint64(raw[n/2])<<40 | uint64(raw[n-1])<<48
}

// nameSet finds a name that appears twice in one object of the line b. It
// keeps the first names in small, scratch space of the caller's, and
// allocates a map only past them or for a name with escapes:
//
//	var arr [8]name
//	names := nameSet{b: line, small: arr[:0]}
//	names, ok = names.add(start, end, esc)
//
// add takes and returns the set by value: a store through a pointer would
// move the caller's array to the heap.
type nameSet struct {
	b     []byte
	small []name
	big   map[string]struct{}
}

// add adds the name whose raw contents (between the quotes) are
// b[start:end], with escapes if esc, and reports false if it was there
// already.
func (s nameSet) add(start, end int, esc bool) (nameSet, bool) {
	raw := s.b[start:end]
	if s.big == nil && !esc {
		key := nameKey(raw)
		for _, n := range s.small {
			if n.key == key && string(s.b[n.off:n.off+n.n]) == string(raw) {
				return s, false
			}
		}
		if len(s.small) < cap(s.small) {
			s.small = append(s.small, name{key: key, off: int32(start), n: int32(end - start)})
			return s, true
		}
	}
	if s.big == nil {
		s.big = make(map[string]struct{}, 2*len(s.small)+1)
		for _, n := range s.small {
			s.big[string(s.b[n.off:n.off+n.n])] = struct{}{}
		}
	}
	v := string(raw)
	if esc {
		v = unquoteRaw(raw)
	}
	if _, dup := s.big[v]; dup {
		return s, false
	}
	s.big[v] = struct{}{}
	return s, true
}

func scanArray(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return i, badJSON(i, "nesting too deep")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = scanValue(b, i, depth); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, badJSON(i, "unexpected end of array")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, badJSON(i, "expected ',' or ']'")
		}
	}
}

// safeASCII[c] is true for ASCII bytes that stand for themselves inside a
// JSON string. It has 256 entries so that indexing it by a byte needs no
// bounds check.
var safeASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString validates the string that starts at b[i] == '"'. escaped
// reports whether it holds a backslash escape, so that its raw contents are
// not its value.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	j := i + 1
	for j < len(b) {
		c := b[j]
		if safeASCII[c] {
			j++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				return j + 1, escaped, nil
			case '\\':
				escaped = true
				if j, err = scanEscape(b, j); err != nil {
					return j, escaped, err
				}
			default:
				return j, escaped, badJSON(j, "control character in string")
			}
			continue
		}
		r, size := utf8.DecodeRune(b[j:])
		if r == utf8.RuneError && size == 1 {
			return j, escaped, badJSON(j, "invalid UTF-8 in string")
		}
		j += size
	}
	return j, escaped, badJSON(j, "unterminated string")
}

// scanEscape validates the escape at b[j] == '\\' and returns the index
// just past it. It is apart from scanString to keep that loop tight.
func scanEscape(b []byte, j int) (int, error) {
	if j+1 >= len(b) {
		return j, badJSON(j, "unexpected end of string")
	}
	switch b[j+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return j + 2, nil
	case 'u':
		r, ok := hex4(b, j+2)
		if !ok {
			return j, badJSON(j, `invalid \u escape`)
		}
		if !utf16.IsSurrogate(r) {
			return j + 6, nil
		}
		// A high surrogate needs a low one right after it.
		low, ok := hex4(b, j+8)
		if r >= 0xDC00 || !ok || b[j+6] != '\\' || b[j+7] != 'u' || low < 0xDC00 || low >= 0xE000 {
			return j, refused(j, errBadValue, "lone surrogate "+string(b[j:j+6])+" in a string: not valid Unicode")
		}
		return j + 12, nil
	}
	return j, badJSON(j, "invalid escape")
}

// hex4 decodes the four hex digits at b[i:], if there are four.
func hex4(b []byte, i int) (rune, bool) {
	if i < 0 || len(b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber validates the number that starts at b[i], and reports
// whether it has an exponent.
func scanNumber[T string | []byte](b T, i int) (end int, exp bool, err error) {
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && isDigit(b[i]):
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return start, false, badJSON(start, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return start, false, badJSON(start, "invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		exp = true
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return start, false, badJSON(start, "invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, exp, nil
}

// isJSONNumber reports whether s is exactly one JSON number.
func isJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	end, _, err := scanNumber(s, 0)
	return err == nil && end == len(s)
}

// objectIter walks the members of a JSON object, checking its syntax as it
// goes. Use:
//
//	it := objectIter{b: line}
//	if it.begin() { for it.nextKey() { ...; it.value() or a custom scan } }
//	then it.err, and it.end() for trailing data.
//
// After nextKey, it.i is at the member's value, which the caller must consume
// by it.value() or by setting it.i just past it.
type objectIter struct {
	b     []byte
	i     int
	depth int // nesting depth of the object itself (1 for a line's object)
	first bool
	key   []byte // raw key contents, without quotes
	esc   bool   // key holds an escape
	// keyStart is the index of key in b.
	keyStart int
	val      []byte // raw value, set by value()
	err      error
}

// begin checks that b[i:] (after white space) opens an object.
func (it *objectIter) begin() bool {
	it.i = skipSpace(it.b, it.i)
	if it.i >= len(it.b) || it.b[it.i] != '{' {
		it.err = badJSON(it.i, "not a JSON object")
		return false
	}
	if it.depth == 0 {
		it.depth = 1
	}
	it.i++
	it.first = true
	return true
}

// nextKey advances to the next member's value and reports whether there is
// one. At the end of the object it.i is just past the closing brace.
func (it *objectIter) nextKey() bool {
	if it.err != nil {
		return false
	}
	b := it.b
	i := skipSpace(b, it.i)
	if i >= len(b) {
		it.err = badJSON(i, "unexpected end of object")
		return false
	}
	if it.first {
		it.first = false
		if b[i] == '}' {
			it.i = i + 1
			return false
		}
	} else {
		switch b[i] {
		case '}':
			it.i = i + 1
			return false
		case ',':
			i = skipSpace(b, i+1)
		default:
			it.err = badJSON(i, "expected ',' or '}'")
			return false
		}
	}
	if i >= len(b) || b[i] != '"' {
		it.err = badJSON(i, "expected object key")
		return false
	}
	end, esc, err := scanString(b, i)
	if err != nil {
		it.err = err
		return false
	}
	it.key, it.esc, it.keyStart = b[i+1:end-1], esc, i+1
	i = skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		it.err = badJSON(i, "expected ':'")
		return false
	}
	it.i = skipSpace(b, i+1)
	return true
}

// value scans the current member's value into it.val.
func (it *objectIter) value() bool {
	end, err := scanValue(it.b, it.i, it.depth)
	if err != nil {
		it.err = err
		return false
	}
	it.val = it.b[it.i:end]
	it.i = end
	return true
}

// name returns the decoded key of the current member; it allocates only
// when the key holds escapes.
func (it *objectIter) name() []byte {
	if !it.esc {
		return it.key
	}
	return []byte(unquoteRaw(it.key))
}

// end checks that only white space follows the object.
func (it *objectIter) end() bool {
	if i := skipSpace(it.b, it.i); i != len(it.b) {
		it.err = badJSON(i, "data after the JSON object")
		return false
	}
	return true
}

// unquoteRaw decodes the contents of a validated JSON string that holds escapes.
func unquoteRaw(contents []byte) string {
	q := make([]byte, 0, len(contents)+2)
	q = append(append(append(q, '"'), contents...), '"')
	var s string
	_ = json.Unmarshal(q, &s) // validated by scanString: cannot fail
	return s
}

// stringValue returns the decoded value of a JSON string token (with its
// quotes), and false if v is not a string.
func stringValue(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	for _, c := range inner {
		if c == '\\' {
			return unquoteRaw(inner), true
		}
	}
	return string(inner), true
}

// isNull reports whether the raw value v is the literal null.
func isNull(v []byte) bool { return len(v) == 4 && string(v) == "null" }

// isEmptyContainer reports whether v is [] or {} (with any inner white space).
func isEmptyContainer(v []byte) bool {
	return len(v) >= 2 && skipSpace(v, 1) == len(v)-1
}
