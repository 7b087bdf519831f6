package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/talonsync/talonsync/internal/talon"
)

// filter is a validated PATCH_MANY / REMOVE_MANY filter on a custom
// attribute. Filters are AND-ed; an action without filters matches every
// item of the catalog. An item without the attribute never matches.
type filter struct {
	attr string
	op   string
	num  float64         // LT, LE, GT, GE
	in   map[string]bool // IN
	eq   any             // EQ: the decoded value
}

// parseFilter decodes and checks one filter at ptr.
//
// EQ compares JSON values (numbers numerically), and also matches a string
// value against a number or boolean attribute with that text ("5" = 5). LT,
// LE, GT and GE take a number (or a string holding one) and match number
// attributes only. IN takes a comma-separated string (spaces around the
// values are trimmed) and matches a scalar attribute whose text is listed.
func (s *Server) parseFilter(raw json.RawMessage, ptr string) (filter, []errEntry) {
	var tf talon.Filter
	if _, e := decodeStrict(raw, ptr, &tf, "attr", "op", "value"); e != nil {
		return filter{}, e
	}
	f := filter{attr: tf.Attr, op: tf.Op}
	if !validName(tf.Attr) {
		return f, []errEntry{ptrEntry("invalid filter", fmt.Sprintf("attr %q is not a valid attribute name", tf.Attr), ptr+"/attr")}
	}
	if types := s.currentSchema()[SchemaCatalog]; types != nil {
		if _, ok := types[tf.Attr]; !ok {
			return f, []errEntry{ptrEntry("unknown attribute", fmt.Sprintf("catalog attribute %q does not exist", tf.Attr), ptr+"/attr")}
		}
	}
	v := bytes.TrimSpace(tf.Value)
	if len(v) == 0 || string(v) == "null" {
		return f, []errEntry{ptrEntry("invalid filter", "value is required", ptr+"/value")}
	}
	var decoded any
	_ = json.Unmarshal(v, &decoded) // v is valid JSON: it was decoded once already
	switch tf.Op {
	case "EQ":
		f.eq = decoded
	case "LT", "LE", "GT", "GE":
		n, ok := number(decoded)
		if !ok {
			return f, []errEntry{ptrEntry("invalid filter", tf.Op+" takes a number", ptr+"/value")}
		}
		f.num = n
	case "IN":
		list, ok := decoded.(string)
		if !ok {
			return f, []errEntry{ptrEntry("invalid filter", "IN takes a string of comma-separated values", ptr+"/value")}
		}
		f.in = make(map[string]bool)
		for _, part := range strings.Split(list, ",") {
			f.in[strings.TrimSpace(part)] = true
		}
	default:
		return f, []errEntry{ptrEntry("invalid filter", fmt.Sprintf("op %q is not one of EQ, LT, LE, GT, GE, IN", tf.Op), ptr+"/op")}
	}
	return f, nil
}

// number returns v as a number when it is a JSON number or a string holding one.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return n, err == nil
	}
	return 0, false
}

// scalarText is the text of a string, number or boolean value.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// matchAll reports whether attrs satisfy every filter.
func matchAll(attrs map[string]json.RawMessage, filters []filter) bool {
	for _, f := range filters {
		if !f.match(attrs) {
			return false
		}
	}
	return true
}

func (f filter) match(attrs map[string]json.RawMessage) bool {
	raw, ok := attrs[f.attr]
	if !ok {
		return false
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	switch f.op {
	case "EQ":
		if reflect.DeepEqual(v, f.eq) {
			return true
		}
		want, ok1 := f.eq.(string)
		got, ok2 := scalarText(v)
		return ok1 && ok2 && want == got
	case "IN":
		got, ok := scalarText(v)
		return ok && f.in[got]
	}
	n, ok := v.(float64)
	if !ok {
		return false
	}
	switch f.op {
	case "LT":
		return n < f.num
	case "LE":
		return n <= f.num
	case "GT":
		return n > f.num
	default: // GE
		return n >= f.num
	}
}
