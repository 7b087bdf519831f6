// Package columns reads column mapping files: how the columns of a CSV
// export, named and formatted as a warehouse or spreadsheet wrote them,
// map to talonsync's reserved fields and attributes.
//
// A mapping is JSON or YAML (see Parse). Resolve applies it to a file's
// header once and returns one Column per header cell, so a reader maps the
// cells of every row by index, with no lookup or reflection per row; Convert
// turns a cell written with a decimal comma, a time layout or a list
// separator into the form talonsync's header types accept. Infer proposes a
// mapping from a header and a sample of rows, and WriteYAML prints it for a
// user to edit.
package columns

import (
	"strconv"
	"strings"
)

// Entity is what an input holds, as the command names it.
type Entity string

// The entities.
const (
	EntityCatalog   Entity = "catalog"
	EntityProfiles  Entity = "profiles"
	EntityAudiences Entity = "audiences"
)

// Valid reports whether e is one of the entities.
func (e Entity) Valid() bool {
	return e == EntityCatalog || e == EntityProfiles || e == EntityAudiences
}

// Reserved fields by entity, spelled as the README spells them. A target
// matches one case-insensitively and ignoring underscores, as a CSV header
// does (see Canonical).
var reserved = map[Entity][]string{
	EntityCatalog:   {"sku", "price", "product", "action", "replaceIfExists", "createIfNotExists"},
	EntityProfiles:  {"integrationId"},
	EntityAudiences: {"profileIntegrationId", "audienceId", "action"},
}

// ReservedFields returns e's reserved field names. The slice is a copy.
func ReservedFields(e Entity) []string {
	return append([]string(nil), reserved[e]...)
}

// Canonical folds a reserved field name as readers do for a CSV header:
// lower case, underscores dropped.
func Canonical(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "_", ""))
}

// canonicalFields maps each entity's reserved fields by their Canonical
// form.
var canonicalFields = func() map[Entity]map[string]string {
	m := make(map[Entity]map[string]string, len(reserved))
	for e, fields := range reserved {
		m[e] = make(map[string]string, len(fields))
		for _, f := range fields {
			m[e][Canonical(f)] = f
		}
	}
	return m
}()

// Field returns e's reserved field that name spells (see Canonical), in
// its README spelling, and whether there is one.
func Field(e Entity, name string) (string, bool) {
	f, ok := canonicalFields[e][Canonical(strings.TrimSpace(name))]
	return f, ok
}

// ValidAttribute reports whether s is a valid attribute name: ^[A-Za-z]\w*$.
// It takes bytes too, so that a reader checks a name without a copy.
func ValidAttribute[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c == '_' || (c >= '0' && c <= '9')):
		default:
			return false
		}
	}
	return true
}

// Type is the type of an attribute column; the names are those of a CSV
// header's type suffix.
type Type uint8

// The types.
const (
	TypeString  Type = iota // a JSON string
	TypeNumber              // a finite JSON number
	TypeBoolean             // true/false, 1/0, yes/no
	TypeTime                // RFC 3339 or YYYY-MM-DD, or as Column.Layout says
	TypeList                // (list string): a JSON array, or values split at Column.Separator
)

var typeNames = []string{"string", "number", "boolean", "time", "list"}

// String returns the type's name.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// ParseType parses a type name case-insensitively: string, number,
// boolean, time, list or "(list string)".
func ParseType(s string) (Type, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "(list string)" {
		return TypeList, true
	}
	for i, n := range typeNames {
		if s == n {
			return Type(i), true
		}
	}
	return 0, false
}

// fieldType is the type of a reserved field's values, for Convert and for
// deciding which options a field takes.
func fieldType(field string) Type {
	switch field {
	case "price", "audienceId":
		return TypeNumber
	case "replaceIfExists", "createIfNotExists":
		return TypeBoolean
	}
	return TypeString
}

// Kind is what a header column is mapped to.
type Kind uint8

// The kinds.
const (
	// KindDefault is a column the mapping does not name, kept by
	// "unmapped: keep": today's header rule applies to its header text (a
	// reserved name, or an attribute Name or Name:type).
	KindDefault Kind = iota
	// KindField is a reserved field: Column.Field.
	KindField
	// KindAttribute is an attribute: Column.Attribute of Column.Type.
	KindAttribute
	// KindIgnore is skipped.
	KindIgnore
	// KindUnnamed is a column with an empty header, as spreadsheets write
	// after the last column: skipped, but a reader warns about a value in
	// it, which is not sent (package readers: a Warning, once per column).
	KindUnnamed
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindDefault:
		return "default"
	case KindField:
		return "field"
	case KindAttribute:
		return "attribute"
	case KindIgnore:
		return "ignore"
	case KindUnnamed:
		return "unnamed"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Unmapped is what happens to the header columns a mapping does not name.
type Unmapped uint8

// The policies.
const (
	UnmappedKeep   Unmapped = iota // today's header rule (the default)
	UnmappedIgnore                 // skipped
	UnmappedError                  // the header is refused
)

var unmappedNames = []string{"keep", "ignore", "error"}

// String returns the policy's name as a mapping file writes it.
func (u Unmapped) String() string {
	if int(u) < len(unmappedNames) {
		return unmappedNames[u]
	}
	return "Unmapped(" + strconv.Itoa(int(u)) + ")"
}

// DefaultSeparator separates list values in a cell, as in a CSV header's
// list type.
const DefaultSeparator = "|"

// Column is the mapping of one input column. Parse fills Source, Line and
// what the file says; Resolve fills Index.
type Column struct {
	// Source is the input column's header text, trimmed.
	Source string
	// Index is the column's position in the header (from 0); -1 in a
	// Mapping's own Columns, which are not tied to a header.
	Index int
	Kind  Kind
	// Field is the reserved field (README spelling) of a KindField column.
	Field string
	// Attribute is the attribute name of a KindAttribute column.
	Attribute string
	// Type is the type of a KindAttribute column, or the fixed type of a
	// KindField one.
	Type Type
	// Layout is the Go time layout of a TypeTime column ("02.01.2006");
	// "" accepts RFC 3339 and YYYY-MM-DD.
	Layout string
	// DecimalComma says numbers are written 1.234,5: ',' is the decimal
	// separator and '.', ' ' or '\'' group the thousands.
	DecimalComma bool
	// Separator splits a TypeList cell; "" means DefaultSeparator.
	Separator string
	// Optional says a header without this column is no error.
	Optional bool
	// Line is the line of the column's entry in the mapping file; 0 when
	// not from a file.
	Line int
	// Comment is printed above the column by WriteYAML (Infer's notes).
	Comment string
}

// NeedsConvert reports whether the column's cells must go through Convert
// before talonsync's header types accept them. A reader checks it once per
// column, not per cell.
func (c *Column) NeedsConvert() bool {
	return c.DecimalComma || c.Layout != "" || (c.Type == TypeList && c.Separator != "" && c.Separator != DefaultSeparator)
}

// Constant is an attribute set to the same value on every row.
type Constant struct {
	Name string
	Type Type
	// JSON is the value, encoded as it goes on the wire.
	JSON []byte
	Line int
}

// Mapping is a parsed, validated mapping file. It is read-only after
// Parse or Infer and safe for concurrent use.
type Mapping struct {
	// File names the mapping file in errors.
	File string
	// Entity is the entity the mapping is for (a file's entity key, if
	// any, must name the same).
	Entity   Entity
	Unmapped Unmapped
	// Columns are the named columns, in file order, with Index -1.
	Columns   []Column
	Constants []Constant
	// Comment is printed at the top by WriteYAML.
	Comment string
}
