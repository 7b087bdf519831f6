package fold

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"strconv"
)

// This file walks the encoded items the readers produce. It finds where
// values end without decoding them, so that values are copied to the net
// effect byte for byte. It checks structure (matching quotes and brackets),
// not the full JSON grammar: the items were validated when they were read.

// ErrBadItem: an item's JSON is not the shape its entity's encoder writes.
// Errors wrapping it say where.
var ErrBadItem = errors.New("malformed item")

// itemError says what is wrong at a byte offset of an item.
type itemError struct {
	off int
	msg string
}

func (e *itemError) Error() string {
	return "malformed item at byte " + strconv.Itoa(e.off+1) + ": " + e.msg
}

func (e *itemError) Unwrap() error { return ErrBadItem }

func bad(off int, msg string) error { return &itemError{off: off, msg: msg} }

// maxDepth bounds nesting, so that a hostile value cannot exhaust the stack.
const maxDepth = 1000

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// Word-at-a-time search for '"' and '\\' (the classic has-zero-byte test).
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// quoteOrEscape returns a word with the high bit set in each byte of w that
// is '"' or '\\'; bytes above the lowest such one may be false positives.
func quoteOrEscape(w uint64) uint64 {
	q := w ^ (lsb * '"')
	e := w ^ (lsb * '\\')
	return ((q-lsb)&^q | (e-lsb)&^e) & msb
}

// skipString returns the index just past the string that starts at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	j := i + 1
	for {
		for j+8 <= len(b) {
			m := quoteOrEscape(binary.LittleEndian.Uint64(b[j:]))
			if m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		for j < len(b) && b[j] != '"' && b[j] != '\\' {
			j++
		}
		switch {
		case j >= len(b):
			return i, bad(i, "unterminated string")
		case b[j] == '"':
			return j + 1, nil
		}
		j += 2 // an escape: the next byte is never the end
	}
}

// skipValue returns the index just past the value that starts at b[i].
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, bad(i, "unexpected end")
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		if depth >= maxDepth {
			return i, bad(i, "nesting too deep")
		}
		return skipContainer(b, i, depth+1)
	}
	j := i
	for j < len(b) {
		switch c := b[j]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c == '-', c == '+', c == '.', c == 'E':
			j++
			continue
		}
		break
	}
	if j == i {
		return i, bad(i, "unexpected character "+strconv.QuoteRune(rune(b[i])))
	}
	return j, nil
}

// skipContainer skips the object or array at b[i].
func skipContainer(b []byte, i, depth int) (int, error) {
	closer := byte('}')
	if b[i] == '[' {
		closer = ']'
	}
	j := skipSpace(b, i+1)
	if j < len(b) && b[j] == closer {
		return j + 1, nil
	}
	for {
		var err error
		if closer == '}' {
			if j >= len(b) || b[j] != '"' {
				return j, bad(j, "expected object key")
			}
			if j, err = skipString(b, j); err != nil {
				return j, err
			}
			j = skipSpace(b, j)
			if j >= len(b) || b[j] != ':' {
				return j, bad(j, "expected ':'")
			}
			j = skipSpace(b, j+1)
		}
		if j, err = skipValue(b, j, depth); err != nil {
			return j, err
		}
		j = skipSpace(b, j)
		if j >= len(b) {
			return j, bad(j, "unexpected end")
		}
		switch b[j] {
		case ',':
			j = skipSpace(b, j+1)
		case closer:
			return j + 1, nil
		default:
			return j, bad(j, "expected ',' or '"+string(closer)+"'")
		}
	}
}

// objIter walks the members of an object without allocating:
//
//	it := objIter{b: b, i: start}
//	for it.next() { it.name, it.val }
//	if it.err != nil { ... }
//
// name is the raw key between its quotes; val is the raw value. After the
// loop, it.i is just past the object.
type objIter struct {
	b     []byte
	i     int
	depth int
	name  []byte
	val   []byte
	err   error
	state uint8 // 0 before '{', 1 inside, 2 done
}

func (it *objIter) next() bool {
	b := it.b
	i := skipSpace(b, it.i)
	switch it.state {
	case 0:
		if i >= len(b) || b[i] != '{' {
			return it.fail(i, "expected an object")
		}
		it.state = 1
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			it.i, it.state = i+1, 2
			return false
		}
	case 1:
		if i >= len(b) {
			return it.fail(i, "unexpected end of object")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			it.i, it.state = i+1, 2
			return false
		default:
			return it.fail(i, "expected ',' or '}'")
		}
	default:
		return false
	}
	if i >= len(b) || b[i] != '"' {
		return it.fail(i, "expected object key")
	}
	end, err := skipString(b, i)
	if err != nil {
		return it.failErr(err)
	}
	it.name = b[i+1 : end-1]
	i = skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return it.fail(i, "expected ':'")
	}
	i = skipSpace(b, i+1)
	end, err = skipValue(b, i, it.depth+1)
	if err != nil {
		return it.failErr(err)
	}
	it.val = b[i:end]
	it.i = end
	return true
}

func (it *objIter) fail(i int, msg string) bool { return it.failErr(bad(i, msg)) }

func (it *objIter) failErr(err error) bool {
	it.err, it.state = err, 2
	return false
}

// trailing reports an error when anything but space follows the object.
func (it *objIter) trailing() error {
	if it.err != nil {
		return it.err
	}
	if i := skipSpace(it.b, it.i); i != len(it.b) {
		return bad(i, "data after the item")
	}
	return nil
}

func isNull(v []byte) bool { return string(v) == "null" }

// isEmptyObject reports whether v is {} with any inner space.
func isEmptyObject(v []byte) bool {
	return len(v) >= 2 && v[0] == '{' && skipSpace(v, 1) == len(v)-1
}
