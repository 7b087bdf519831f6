package spectest

import (
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// closed reports the properties of v that sch does not declare, where sch
// declares some and says nothing of additionalProperties, and recurses into
// declared properties and array items. A schema with "properties: {}" (the
// spec's attributes) is free-form and not looked into.
func closed(sch *openapi3.Schema, v any, ptr string) []Problem {
	if sch == nil {
		return nil
	}
	var out []Problem
	switch v := v.(type) {
	case map[string]any:
		names := make([]string, 0, len(v))
		for name := range v {
			names = append(names, name)
		}
		sort.Strings(names) // deterministic problem order
		ap := sch.AdditionalProperties
		for _, name := range names {
			p := ptr + "/" + escapePointer(name)
			if prop := sch.Properties[name]; prop != nil {
				out = append(out, closed(prop.Value, v[name], p)...)
				continue
			}
			switch {
			case ap.Schema != nil:
				out = append(out, closed(ap.Schema.Value, v[name], p)...)
			case len(sch.Properties) > 0 && ap.Has == nil:
				out = append(out, Problem{Check: CheckClosed, Pointer: p,
					Message: "property " + strconv.Quote(name) + " is not in the schema (" + declared(sch) + ")"})
			}
		}
	case []any:
		if sch.Items != nil {
			for i, x := range v {
				out = append(out, closed(sch.Items.Value, x, ptr+"/"+strconv.Itoa(i))...)
			}
		}
	}
	return out
}

// declared lists a schema's property names, sorted.
func declared(sch *openapi3.Schema) string {
	names := make([]string, 0, len(sch.Properties))
	for name := range sch.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	return "declared: " + strings.Join(names, ", ")
}

// escapePointer escapes a JSON pointer token (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
