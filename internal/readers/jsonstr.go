package readers

import "unicode/utf8"

// safeASCII[c] is true for ASCII bytes that stand for themselves inside a
// JSON string.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s to dst as a JSON string. It reports false, with
// dst unspecified, when s is not valid UTF-8. U+2028 and U+2029 are escaped
// so the output is also safe to embed in JavaScript.
func appendJSONString(dst []byte, s string) ([]byte, bool) {
	return appendJSONStr(dst, s, false)
}

// appendJSONStringLossy is appendJSONString that replaces invalid UTF-8 with
// U+FFFD instead of failing; it is for reject records, which must be valid
// JSON whatever the input held.
func appendJSONStringLossy(dst []byte, s string) []byte {
	dst, _ = appendJSONStr(dst, s, true)
	return dst
}

func appendJSONStr(dst []byte, s string, lossy bool) ([]byte, bool) {
	dst = append(dst, '"')
	start := 0 // s[start:i] is pending, to be copied verbatim
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			if !lossy {
				return dst, false
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), true
}
