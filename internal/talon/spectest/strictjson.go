package spectest

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// strictJSON reports what a schema validator cannot see once the body is
// decoded: duplicate names in an object (decoders keep one of them, the
// API may keep the other), strings with invalid UTF-8 or a lone surrogate
// escape (decoders turn both into U+FFFD), and numbers beyond float64's
// range (1e400), which decoders refuse or turn into infinity. A body that is
// not JSON at all is left to the spec check.
func strictJSON(b []byte) []Problem {
	if !json.Valid(b) {
		return nil
	}
	sc := scanner{b: b}
	sc.value("")
	return sc.out
}

// scanner walks JSON that json.Valid accepted.
type scanner struct {
	b   []byte
	i   int
	out []Problem
}

func (s *scanner) add(ptr, msg string) {
	s.out = append(s.out, Problem{Check: CheckJSON, Pointer: ptr, Message: msg})
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value(ptr string) {
	s.space()
	switch c := s.b[s.i]; {
	case c == '{':
		s.i++
		seen := map[string]bool{}
		for {
			s.space()
			if s.b[s.i] == '}' {
				s.i++
				return
			}
			if s.b[s.i] == ',' {
				s.i++
				s.space()
			}
			name := s.str(ptr)
			p := ptr + "/" + escapePointer(name)
			if seen[name] {
				s.add(p, "duplicate name "+strconv.Quote(name)+" in one object")
			}
			seen[name] = true
			s.space()
			s.i++ // ':'
			s.value(p)
		}
	case c == '[':
		s.i++
		for n := 0; ; n++ {
			s.space()
			if s.b[s.i] == ']' {
				s.i++
				return
			}
			if s.b[s.i] == ',' {
				s.i++
			}
			s.value(ptr + "/" + strconv.Itoa(n))
		}
	case c == '"':
		s.str(ptr)
	case c == 't':
		s.i += len("true")
	case c == 'f':
		s.i += len("false")
	case c == 'n':
		s.i += len("null")
	default:
		start := s.i
		for s.i < len(s.b) && isNumberByte(s.b[s.i]) {
			s.i++
		}
		text := string(s.b[start:s.i])
		if f, err := strconv.ParseFloat(text, 64); err != nil || math.IsInf(f, 0) {
			s.add(ptr, "number "+text+" is beyond float64's range")
		}
	}
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// str scans a string at s.i and returns its value; it reports invalid
// UTF-8 and lone surrogates at ptr.
func (s *scanner) str(ptr string) string {
	s.i++ // '"'
	var out []rune
	bad := func(msg string) { s.add(ptr, msg) }
	for {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return string(out)
		case c == '\\':
			esc := s.b[s.i+1]
			s.i += 2
			if esc != 'u' {
				out = append(out, map[byte]rune{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}[esc])
				continue
			}
			r := hex4(s.b[s.i:])
			s.i += 4
			switch {
			case utf16.IsSurrogate(r) && r < 0xdc00 && s.i+6 <= len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u':
				r2 := hex4(s.b[s.i+2:])
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					s.i += 6
					out = append(out, dec)
					continue
				}
				bad("lone surrogate \\u" + strconv.FormatInt(int64(r), 16) + " in a string")
				out = append(out, utf8.RuneError)
			case utf16.IsSurrogate(r):
				bad("lone surrogate \\u" + strconv.FormatInt(int64(r), 16) + " in a string")
				out = append(out, utf8.RuneError)
			default:
				out = append(out, r)
			}
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				bad("invalid UTF-8 in a string")
			}
			out = append(out, r)
			s.i += size
		}
	}
}

func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(n)
}
