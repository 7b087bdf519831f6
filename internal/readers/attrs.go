package readers

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/talonsync/talonsync/internal/talon"
)

// attrType is the type of a custom attribute column, given in a CSV header
// as a suffix: `Age:number`.
type attrType int

// The attribute types a CSV column can declare. A column without a suffix is
// attrString.
const (
	attrString  attrType = iota // a JSON string
	attrNumber                  // a finite JSON number
	attrBoolean                 // true/false, 1/0, yes/no, case-insensitive
	attrTime                    // RFC 3339, or a date YYYY-MM-DD taken as midnight UTC
	attrList                    // (list string): a JSON array of strings, or values separated by '|'
)

// String returns the type's name as written in a header suffix.
func (t attrType) String() string {
	switch t {
	case attrString:
		return "string"
	case attrNumber:
		return "number"
	case attrBoolean:
		return "boolean"
	case attrTime:
		return "time"
	case attrList:
		return "list"
	}
	return "attrType(" + strconv.Itoa(int(t)) + ")"
}

// parseAttrType parses a header type suffix, case-insensitively: string,
// number, boolean, time, list or "(list string)". The error wraps errBadColumn.
func parseAttrType(s string) (attrType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "string":
		return attrString, nil
	case "number":
		return attrNumber, nil
	case "boolean":
		return attrBoolean, nil
	case "time":
		return attrTime, nil
	case "list", "(list string)":
		return attrList, nil
	}
	return 0, withDetail(errBadColumn, "unknown type "+strconv.Quote(s))
}

// appendValue appends the JSON encoding of the cell s, converted to typ, to
// dst. The error wraps errBadValue when s does not convert (including invalid
// UTF-8); dst is then returned unchanged. Surrounding spaces and tabs are
// ignored for number, boolean and time, kept for string and list. The caller
// handles empty cells (talonsync does not send them); appendValue encodes ""
// as "" for string and [] for list and rejects it for the other types.
// appendValue does not allocate unless it fails or typ is attrTime with a
// fractional-second offset time.
func appendValue(dst []byte, typ attrType, s string) ([]byte, error) {
	switch typ {
	case attrString:
		out, ok := talon.AppendString(dst, s)
		if !ok {
			return dst, badValue(s, "is not valid UTF-8")
		}
		return out, nil
	case attrNumber:
		return appendNumber(dst, s)
	case attrBoolean:
		return appendBoolean(dst, s)
	case attrTime:
		return appendTime(dst, s)
	case attrList:
		return appendList(dst, s)
	}
	return dst, badValue(s, "has unknown type "+typ.String())
}

// appendCell appends the JSON encoding of a cell of col, of type typ, to
// dst: through the column's conversion when it has one (a decimal comma, a
// time layout, a list separator), else as appendValue does.
func appendCell(dst []byte, col *column, typ attrType, cell string) ([]byte, error) {
	switch {
	case col.conv != nil && typ == attrNumber && col.conv.DecimalComma:
		// Convert writes a JSON number of at most 308 integer digits: finite.
		out, err := col.conv.Convert(dst, cell)
		if err != nil {
			return dst, &convError{err: err}
		}
		return out, nil
	case col.conv != nil && typ == attrTime && col.conv.Layout != "":
		// Convert writes an RFC 3339 time: nothing in it needs escaping.
		out, err := col.conv.Convert(append(dst, '"'), cell)
		if err != nil {
			return dst, &convError{err: err}
		}
		return append(out, '"'), nil
	case col.sep != "" && typ == attrList:
		return appendSplit(dst, cell, col.sep)
	}
	return appendValue(dst, typ, cell)
}

func trimBlank(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func appendNumber(dst []byte, s string) ([]byte, error) {
	t := trimBlank(s)
	if isJSONNumber(t) {
		// The original text keeps the writer's precision ("19.90"); it is
		// still checked to be finite as a float64.
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsInf(f, 0) {
			return dst, badValue(s, "is not a finite number")
		}
		return append(dst, t...), nil
	}
	// Forms JSON lacks but people write: "+1", ".5", "1.", "007".
	// Hex floats, underscores, infinities and NaN are refused.
	if strings.ContainsAny(t, "xXnN_") {
		return dst, badValue(s, "is not a number")
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		if _, err := commaNumbers.Convert(nil, s); err == nil {
			// Never guessed: the user says so.
			return dst, badValue(s, "is not a number (for numbers written with a decimal comma, give --decimal-comma)")
		}
		return dst, badValue(s, "is not a number")
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64), nil
}

func appendBoolean(dst []byte, s string) ([]byte, error) {
	v, ok := parseBool(s)
	switch {
	case !ok:
		return dst, badValue(s, "is not a boolean")
	case v:
		return append(dst, "true"...), nil
	}
	return append(dst, "false"...), nil
}

// parseBool parses a boolean cell, case-insensitively: true/false, 1/0,
// yes/no, with surrounding blanks. ok is false for anything else.
func parseBool(s string) (v, ok bool) {
	t := trimBlank(s)
	switch len(t) {
	case 1:
		return t[0] == '1', t[0] == '1' || t[0] == '0'
	case 2:
		return false, strings.EqualFold(t, "no")
	case 3:
		return true, strings.EqualFold(t, "yes")
	case 4:
		return true, strings.EqualFold(t, "true")
	case 5:
		return false, strings.EqualFold(t, "false")
	}
	return false, false
}

func appendTime(dst []byte, s string) ([]byte, error) {
	t := trimBlank(s)
	if len(t) == len("2006-01-02") {
		if !validDate(t) {
			return dst, badValue(s, "is not a date (YYYY-MM-DD) or an RFC 3339 time")
		}
		dst = append(dst, '"')
		dst = append(dst, t...)
		return append(dst, "T00:00:00Z\""...), nil
	}
	tm, err := time.Parse(time.RFC3339Nano, t)
	if err != nil {
		return dst, badValue(s, "is not a date (YYYY-MM-DD) or an RFC 3339 time")
	}
	dst = append(dst, '"')
	dst = tm.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"'), nil
}

// validDate reports whether s is a calendar date YYYY-MM-DD. It is
// time.Parse(time.DateOnly) without its cost.
func validDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	num := func(s string) int {
		n := 0
		for i := 0; i < len(s); i++ {
			if !isDigit(s[i]) {
				return -1
			}
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	y, m, d := num(s[:4]), num(s[5:7]), num(s[8:])
	if y < 0 || m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// appendList encodes a (list string) cell: a JSON array of strings when it
// starts with '[', else '|'-separated values kept exactly, empty ones dropped.
func appendList(dst []byte, s string) ([]byte, error) {
	if t := trimBlank(s); len(t) > 0 && t[0] == '[' {
		b := []byte(t)
		end, err := scanArray(b, 0, 1)
		if err != nil || end != len(b) {
			return dst, badValue(s, "is not a JSON array")
		}
		// Every element must be a string: walk the validated array.
		for i := skipSpace(b, 1); i < len(b) && b[i] != ']'; {
			if b[i] != '"' {
				return dst, badValue(s, "is not an array of strings")
			}
			i, _, _ = scanString(b, i)
			i = skipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
			}
		}
		return append(dst, t...), nil
	}
	return appendSplit(dst, s, "|")
}

// appendSplit encodes a list cell of values separated by sep as a JSON
// array of strings: the values kept exactly, empty ones dropped.
func appendSplit(dst []byte, s, sep string) ([]byte, error) {
	orig := len(dst)
	dst = append(dst, '[')
	first := true
	for rest := s; ; {
		elem, tail, more := strings.Cut(rest, sep)
		if elem != "" {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			var ok bool
			if dst, ok = talon.AppendString(dst, elem); !ok {
				return dst[:orig], badValue(s, "is not valid UTF-8")
			}
		}
		if !more {
			break
		}
		rest = tail
	}
	return append(dst, ']'), nil
}
