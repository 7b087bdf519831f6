package columns

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/talonsync/talonsync/internal/talon"
)

// Convert appends cell, converted for the column, to dst in the form
// talonsync's header types accept, and returns the extended slice:
//
//   - DecimalComma: "1.234,5" becomes "1234.5";
//   - Layout: the time parsed with it becomes RFC 3339 (UTC when the
//     layout has no zone; a date alone is midnight);
//   - a list Separator other than "|": a JSON array of the parts, empty
//     parts dropped and strings encoded as the header list type has them.
//
// A column that does not need it (see NeedsConvert) gets cell unchanged.
// Surrounding blanks are ignored for numbers and times. An error wraps
// ErrValue and dst is returned unchanged. The caller handles empty cells,
// which talonsync does not send. Convert is safe for concurrent use.
func (c *Column) Convert(dst []byte, cell string) ([]byte, error) {
	switch {
	case c.DecimalComma:
		out, ok := appendCommaNumber(dst, trimBlank(cell))
		if !ok {
			return dst, badValue(cell, "is not a number with a decimal comma (like 1.234,5)")
		}
		return out, nil
	case c.Layout != "":
		t, err := time.Parse(c.Layout, trimBlank(cell))
		if err != nil {
			return dst, badValue(cell, "is not a time in the layout "+strconv.Quote(c.Layout))
		}
		return t.AppendFormat(dst, time.RFC3339Nano), nil
	case c.Type == TypeList && c.Separator != "" && c.Separator != DefaultSeparator:
		if !utf8.ValidString(cell) {
			return dst, badValue(cell, "is not valid UTF-8")
		}
		dst = append(dst, '[')
		n := 0
		for part := range strings.SplitSeq(cell, c.Separator) {
			if part == "" {
				continue
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst, _ = talon.AppendString(dst, part) // valid UTF-8: checked above
		}
		return append(dst, ']'), nil
	}
	return append(dst, cell...), nil
}

func badValue(cell, msg string) error {
	if len(cell) > 64 {
		cell = cell[:64] + "..."
	}
	return withDetail(ErrValue, strconv.Quote(cell)+" "+msg)
}

func trimBlank(s string) string {
	return strings.Trim(s, " \t")
}

// appendCommaNumber appends s, a number written with a decimal comma and
// optional thousands groups ("-1.234.567,89", "1 234,5", "1'234", "0,5"),
// as a JSON number. The groups after the first have three digits each, and
// one kind of group separator is used throughout. It does not allocate.
func appendCommaNumber(dst []byte, s string) ([]byte, bool) {
	orig := len(dst)
	if s != "" && (s[0] == '-' || s[0] == '+') {
		if s[0] == '-' {
			dst = append(dst, '-')
		}
		s = s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ",")
	if intPart == "" || (hasFrac && !allDigits(frac)) {
		return dst[:orig], false
	}
	start := len(dst)
	sep := ""
	for i, group := 0, 0; i < len(intPart); group++ {
		j := i
		for j < len(intPart) && intPart[j] >= '0' && intPart[j] <= '9' {
			j++
		}
		n := j - i
		switch {
		case n == 0, group > 0 && n != 3, group == 0 && n > 3 && j < len(intPart):
			return dst[:orig], false
		}
		for _, c := range []byte(intPart[i:j]) {
			if c == '0' && len(dst) == start {
				continue // JSON has no leading zeros: "007" is 7
			}
			dst = append(dst, c)
		}
		if j == len(intPart) {
			break
		}
		next := groupSep(intPart[j:])
		if next == "" || (sep != "" && next != sep) {
			return dst[:orig], false
		}
		sep, i = next, j+len(next)
		if i == len(intPart) {
			return dst[:orig], false
		}
	}
	if len(dst) == start {
		dst = append(dst, '0')
	}
	if len(dst)-start > 308 {
		return dst[:orig], false // over 308 digits: at the edge of float64 or beyond
	}
	if hasFrac {
		dst = append(dst, '.')
		dst = append(dst, frac...)
	}
	return dst, true
}

// groupSep returns the thousands separator s starts with, "" if none.
func groupSep(s string) string {
	for _, sep := range []string{".", " ", "'", "\u00a0", "\u202f"} {
		if strings.HasPrefix(s, sep) {
			return sep
		}
	}
	return ""
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// layoutRef is the time every layout is checked with: a day above 12, so
// a layout that swaps day and month does not read it back as itself.
var layoutRef = time.Date(2009, time.November, 27, 13, 45, 56, 0, time.UTC)

// CheckLayout checks a Go time layout for a time column: a layout must
// hold a year, a month and a day, and read back what it writes. The error
// wraps ErrLayout and says what is missing.
func CheckLayout(layout string) error {
	if strings.TrimSpace(layout) == "" {
		return withDetail(ErrLayout, "the layout is empty")
	}
	s := layoutRef.Format(layout)
	t, err := time.Parse(layout, s)
	if err != nil {
		return withDetail(ErrLayout, "layout "+strconv.Quote(layout)+" does not read back what it writes: "+err.Error())
	}
	if t.Year() != layoutRef.Year() || t.Month() != layoutRef.Month() || t.Day() != layoutRef.Day() {
		return withDetail(ErrLayout, "layout "+strconv.Quote(layout)+" does not hold a full date "+
			"(year 2006, month 01 or Jan, day 02 in Go's reference time Mon Jan 2 15:04:05 MST 2006); it writes "+
			strconv.Quote(s))
	}
	return nil
}
