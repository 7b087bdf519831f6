package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/talonsync/talonsync/internal/talon"
)

// Schema restricts custom attributes: entity ("catalog" or "profiles") ->
// attribute name -> type. The types are "string", "number", "boolean",
// "time", "(list string)", "(list number)", "(list time)", "location" and
// "(list location)". An entity with a nil map accepts any attribute name
// matching ^[A-Za-z]\w*$ with any JSON value.
type Schema map[string]map[string]string

// The Schema entities.
const (
	SchemaCatalog  = "catalog"
	SchemaProfiles = "profiles"
)

// LoadSchema reads a Schema from a JSON file of the same shape and
// validates it.
func LoadSchema(path string) (Schema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load schema: %w", err)
	}
	var s Schema
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("load schema %s: %w", path, err)
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("load schema %s: %w", path, err)
	}
	return s, nil
}

// SetSchema replaces the attribute schema, as creating or deleting custom
// attributes in the Campaign Manager does: requests validated after it
// returns see the new one. The schema is copied. An invalid schema is an
// error and changes nothing; a nil one accepts any valid attribute name.
func (s *Server) SetSchema(sc Schema) error {
	if err := sc.validate(); err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	c := make(Schema, len(sc))
	for entity, attrs := range sc {
		c[entity] = maps.Clone(attrs)
	}
	s.schema.Store(&c)
	return nil
}

// currentSchema is the schema requests are validated against now; nil
// for a Server not made by New.
func (s *Server) currentSchema() Schema {
	if p := s.schema.Load(); p != nil {
		return *p
	}
	return nil
}

func (sc Schema) validate() error {
	for entity, attrs := range sc {
		if entity != SchemaCatalog && entity != SchemaProfiles {
			return fmt.Errorf("schema: unknown entity %q (want %q or %q)", entity, SchemaCatalog, SchemaProfiles)
		}
		for name, typ := range attrs {
			if !validName(name) {
				return fmt.Errorf("schema: %s attribute name %q does not match ^[A-Za-z]\\w*$", entity, name)
			}
			if !knownType(typ) {
				return fmt.Errorf("schema: %s attribute %q has unknown type %q", entity, name, typ)
			}
		}
	}
	return nil
}

func knownType(t string) bool {
	t = strings.TrimSuffix(strings.TrimPrefix(t, "(list "), ")")
	switch t {
	case "string", "number", "boolean", "time", "location":
		return true
	}
	return false
}

// validName reports whether name matches ^[A-Za-z]\w*$.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if i == 0 && !letter || !letter && c != '_' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// checkAttrs validates attribute names and, when the schema covers entity,
// names and value types. ptr points at the attributes object; the entries
// are in name order.
func (sc Schema) checkAttrs(entity string, attrs map[string]json.RawMessage, ptr string) []errEntry {
	var errs []errEntry
	types := sc[entity]
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		p := ptr + "/" + escapePointer(name)
		if !validName(name) {
			errs = append(errs, ptrEntry("invalid attribute name", fmt.Sprintf("attribute name %q does not match ^[A-Za-z]\\w*$", name), p))
			continue
		}
		if string(bytes.TrimSpace(attrs[name])) == "null" {
			// The spec allows any value; what the API does with null (clear
			// the attribute? keep it? refuse?) is documented nowhere, so the
			// emulator refuses it, and talonsync never sends one.
			errs = append(errs, ptrEntry("invalid attribute value", fmt.Sprintf("attribute %q is null, which the API does not document", name), p))
			continue
		}
		if types == nil {
			continue
		}
		typ, ok := types[name]
		if !ok {
			errs = append(errs, ptrEntry("unknown attribute", fmt.Sprintf("%s attribute %q does not exist; create it first", entity, name), p))
			continue
		}
		if !valueHasType(attrs[name], typ) {
			errs = append(errs, ptrEntry("invalid attribute value", fmt.Sprintf("attribute %q must be of type %s, got %s", name, typ, abbreviate(attrs[name])), p))
		}
	}
	return errs
}

// valueHasType reports whether the JSON value v is of the attribute type
// typ. null is of no type: an attribute the schema knows cannot be null.
func valueHasType(v json.RawMessage, typ string) bool {
	v = bytes.TrimSpace(v)
	if elem, ok := strings.CutPrefix(typ, "(list "); ok {
		elem = strings.TrimSuffix(elem, ")")
		var list []json.RawMessage
		if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &list) != nil {
			return false
		}
		for _, e := range list {
			if !valueHasType(e, elem) {
				return false
			}
		}
		return true
	}
	if len(v) == 0 {
		return false
	}
	switch typ {
	case "string":
		return v[0] == '"'
	case "number":
		return v[0] == '-' || v[0] >= '0' && v[0] <= '9'
	case "boolean":
		return string(v) == "true" || string(v) == "false"
	case "time":
		var s string
		if v[0] != '"' || json.Unmarshal(v, &s) != nil {
			return false
		}
		_, err := time.Parse(time.RFC3339, s)
		return err == nil
	case "location":
		// The JSON shape of a location is unconfirmed: accept an object or a string.
		return v[0] == '{' || v[0] == '"'
	}
	return false
}

// escapePointer escapes a JSON pointer reference token (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func abbreviate(v json.RawMessage) string {
	const n = 40
	if len(v) > n {
		return string(v[:n]) + "..."
	}
	return string(v)
}

// splitArray checks the request body's top-level shape: a JSON object with
// only the allowed fields, whose field array is an array of 1 to
// talon.MaxItems elements. It returns the raw elements.
func splitArray(body []byte, array string, allowed ...string) ([]json.RawMessage, *apiError) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		detail := "the body must be a JSON object"
		if err != nil {
			detail += ": " + err.Error()
		}
		return nil, badRequest([]errEntry{entry("invalid body", detail, source{})})
	}
	var errs []errEntry
	for _, name := range slices.Sorted(maps.Keys(top)) {
		if name != array && !slices.Contains(allowed, name) {
			errs = append(errs, ptrEntry("unknown field", fmt.Sprintf("unknown field %q", name), "/"+escapePointer(name)))
		}
	}
	if len(errs) > 0 {
		return nil, badRequest(errs)
	}
	ptr := "/" + array
	raw, ok := top[array]
	if !ok || string(raw) == "null" {
		return nil, badRequest([]errEntry{ptrEntry("missing field", fmt.Sprintf("the body must hold the array %q", array), ptr)})
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, badRequest([]errEntry{ptrEntry("invalid field", fmt.Sprintf("%q must be an array", array), ptr)})
	}
	if len(elems) == 0 || len(elems) > talon.MaxItems {
		return nil, badRequest([]errEntry{ptrEntry("invalid item count",
			fmt.Sprintf("%q must hold 1 to %d items, got %d", array, talon.MaxItems, len(elems)), ptr)})
	}
	return elems, nil
}

// decodeStrict decodes the JSON object raw into dst, accepting only the
// allowed field names with their exact spelling (encoding/json alone would
// match names case-insensitively and ignore unknown ones). ptr points at raw.
// It returns the object's fields as raw JSON.
func decodeStrict(raw json.RawMessage, ptr string, dst any, allowed ...string) (map[string]json.RawMessage, []errEntry) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, []errEntry{ptrEntry("invalid item", "must be a JSON object", ptr)}
	}
	var errs []errEntry
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(allowed, name) {
			errs = append(errs, ptrEntry("unknown field", fmt.Sprintf("unknown field %q; allowed: %s", name, strings.Join(allowed, ", ")), ptr+"/"+escapePointer(name)))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			p := ptr + "/" + strings.ReplaceAll(te.Field, ".", "/")
			return nil, []errEntry{ptrEntry("invalid field", fmt.Sprintf("%s must be %s, got JSON %s", te.Field, te.Type, te.Value), p)}
		}
		return nil, []errEntry{ptrEntry("invalid item", err.Error(), ptr)}
	}
	return fields, nil
}

// itemPtr is the pointer of element i of array.
func itemPtr(array string, i int) string {
	return "/" + array + "/" + strconv.Itoa(i)
}

// maxIntegrationIDLen is the documented limit of an integrationId, in characters.
const maxIntegrationIDLen = 1000

// checkIntegrationID validates a profile integrationId at ptr.
func checkIntegrationID(id, ptr string) []errEntry {
	switch {
	case id == "":
		return []errEntry{ptrEntry("missing field", "the integration ID is required and must not be empty", ptr)}
	case len([]rune(id)) > maxIntegrationIDLen:
		return []errEntry{ptrEntry("invalid field", fmt.Sprintf("the integration ID must be at most %d characters", maxIntegrationIDLen), ptr)}
	}
	return nil
}
