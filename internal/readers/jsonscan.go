package readers

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// This file holds a small validating JSON scanner. It never decodes values:
// it finds where they end, so that JSONL values are copied to the API item as
// raw bytes. It accepts exactly RFC 8259 JSON, and also rejects invalid UTF-8
// inside strings, which encoding/json would silently replace.

// maxDepth bounds the nesting of arrays and objects, so that a hostile line
// cannot exhaust the stack.
const maxDepth = 1000

// jsonError is a syntax error at a byte offset of a line. It matches errBadJSON.
type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string {
	return "invalid JSON at byte " + strconv.Itoa(e.off+1) + ": " + e.msg
}

func (e *jsonError) Unwrap() error { return errBadJSON }

func badJSON(off int, msg string) error { return &jsonError{off: off, msg: msg} }

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
		return scanNumber(b, i)
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
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, badJSON(i, "expected object key")
		}
		var err error
		if i, _, err = scanString(b, i); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
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
// JSON string.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
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
		if c < utf8.RuneSelf {
			if safeASCII[c] {
				j++
				continue
			}
			switch c {
			case '"':
				return j + 1, escaped, nil
			case '\\':
				escaped = true
				if j+1 >= len(b) {
					return j, escaped, badJSON(j, "unexpected end of string")
				}
				switch b[j+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					j += 2
				case 'u':
					if len(b)-j < 6 || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) || !isHex(b[j+5]) {
						return j, escaped, badJSON(j, `invalid \u escape`)
					}
					j += 6
				default:
					return j, escaped, badJSON(j, "invalid escape")
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

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber validates the number that starts at b[i].
func scanNumber[T string | []byte](b T, i int) (int, error) {
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
		return start, badJSON(start, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return start, badJSON(start, "invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return start, badJSON(start, "invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, nil
}

// isJSONNumber reports whether s is exactly one JSON number.
func isJSONNumber(s string) bool {
	if s == "" {
		return false
	}
	end, err := scanNumber(s, 0)
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
	val   []byte // raw value, set by value()
	err   error
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
	it.key, it.esc = b[i+1:end-1], esc
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
