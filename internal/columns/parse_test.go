package columns

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const exampleMapping = "../../examples/columns.yaml"

// exampleColumns is what examples/columns.yaml says, lines aside.
var exampleColumns = []Column{
	{Source: "Kundennummer", Kind: KindField, Field: "integrationId"},
	{Source: "Vorname", Kind: KindAttribute, Attribute: "FirstName"},
	{Source: "Geburtsdatum", Kind: KindAttribute, Attribute: "Birthday", Type: TypeTime, Layout: "02.01.2006"},
	{Source: "Umsatz 2024 (EUR)", Kind: KindAttribute, Attribute: "Revenue2024", Type: TypeNumber, DecimalComma: true},
	{Source: "Newsletter", Kind: KindAttribute, Attribute: "Newsletter", Type: TypeBoolean},
	{Source: "Interessen", Kind: KindAttribute, Attribute: "Interests", Type: TypeList, Separator: ","},
	{Source: "Kunde seit", Kind: KindAttribute, Attribute: "CustomerSince", Type: TypeTime, Layout: "02.01.2006"},
	{Source: "Interne Notiz", Kind: KindIgnore},
	{Source: "Filiale", Kind: KindAttribute, Attribute: "Branch", Optional: true},
}

// withoutLines drops what differs between equal mappings from two files.
func withoutLines(cols []Column) []Column {
	out := make([]Column, len(cols))
	for i, c := range cols {
		c.Line, c.Index, c.Comment = 0, 0, ""
		out[i] = c
	}
	return out
}

func TestParseExample(t *testing.T) {
	for _, file := range []string{exampleMapping, "testdata/columns.json"} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			m, err := Load(file, EntityProfiles)
			require.NoError(t, err)
			assert.Equal(t, file, m.File)
			assert.Equal(t, EntityProfiles, m.Entity)
			assert.Equal(t, UnmappedError, m.Unmapped)
			assert.Equal(t, exampleColumns, withoutLines(m.Columns))
			for _, c := range m.Columns {
				assert.Positive(t, c.Line, c.Source)
				assert.Equal(t, -1, c.Index, c.Source)
			}
			require.Len(t, m.Constants, 1)
			assert.Equal(t, "Source", m.Constants[0].Name)
			assert.Equal(t, TypeString, m.Constants[0].Type)
			assert.JSONEq(t, `"crm-export"`, string(m.Constants[0].JSON))
		})
	}
	m, err := Load(exampleMapping, EntityProfiles)
	require.NoError(t, err)
	assert.Equal(t, 14, m.Columns[0].Line, "lines are the file's")
}

func TestParseConstants(t *testing.T) {
	src := `
constants:
  S: crm
  N: 3
  F: 1.5e3
  B: true
  L: [a, "b c"]
  T: {type: time, value: "2024-01-31"}
  TR: {type: time, value: "2024-01-31T10:00:00+01:00"}
  NS: {type: number, value: "42"}
  BS: {type: boolean, value: "yes"}
  LS: {type: list, value: "x|y||z"}
  Q: "007"
  QS: "1e400"
`
	m, err := Parse("c.yaml", []byte(src), EntityCatalog)
	require.NoError(t, err)
	got := map[string]string{}
	types := map[string]Type{}
	for _, c := range m.Constants {
		got[c.Name] = string(c.JSON)
		types[c.Name] = c.Type
	}
	assert.Equal(t, map[string]string{
		"S": `"crm"`, "N": `3`, "F": `1500`, "B": `true`, "L": `["a","b c"]`,
		"T": `"2024-01-31T00:00:00Z"`, "TR": `"2024-01-31T10:00:00+01:00"`,
		"NS": `42`, "BS": `true`, "LS": `["x","y","z"]`, "Q": `"007"`, "QS": `"1e400"`,
	}, got)
	assert.Equal(t, map[string]Type{"S": TypeString, "N": TypeNumber, "F": TypeNumber, "B": TypeBoolean, "L": TypeList,
		"T": TypeTime, "TR": TypeTime, "NS": TypeNumber, "BS": TypeBoolean, "LS": TypeList, "Q": TypeString, "QS": TypeString}, types)
}

func TestParseForms(t *testing.T) {
	tests := []struct {
		name string
		e    Entity
		src  string
		want []Column
	}{
		{name: "reserved fields fold like headers", e: EntityCatalog, src: "columns:\n  Artikel: SKU\n  Preis: {target: price, decimalComma: true}\n  Ersetzen: replace_if_exists\n",
			want: []Column{
				{Source: "Artikel", Kind: KindField, Field: "sku"},
				{Source: "Preis", Kind: KindField, Field: "price", Type: TypeNumber, DecimalComma: true},
				{Source: "Ersetzen", Kind: KindField, Field: "replaceIfExists", Type: TypeBoolean},
			}},
		{name: "audience fields", e: EntityAudiences, src: "columns:\n  Kunde: profileIntegrationId\n  Liste: audienceId\n  Was: action\n  Rest: ignore\n",
			want: []Column{
				{Source: "Kunde", Kind: KindField, Field: "profileIntegrationId"},
				{Source: "Liste", Kind: KindField, Field: "audienceId", Type: TypeNumber},
				{Source: "Was", Kind: KindField, Field: "action"},
				{Source: "Rest", Kind: KindIgnore},
			}},
		{name: "long forms", e: EntityProfiles, src: "columns:\n  A: {ignore: true}\n  B: {ignore: false, target: Bee, type: (list string)}\n  C: {target: Cee, type: NUMBER}\n  \" D \": {ignore: true, optional: true}\n",
			want: []Column{
				{Source: "A", Kind: KindIgnore},
				{Source: "B", Kind: KindAttribute, Attribute: "Bee", Type: TypeList},
				{Source: "C", Kind: KindAttribute, Attribute: "Cee", Type: TypeNumber},
				{Source: "D", Kind: KindIgnore, Optional: true},
			}},
		{name: "BOM and only constants", e: EntityProfiles, src: "\ufeffconstants: {A: 1}\n"},
		{name: "entity matches case-insensitively", e: EntityProfiles, src: "entity: Profiles\nunmapped: IGNORE\ncolumns: {A: integration_id}\n",
			want: []Column{{Source: "A", Kind: KindField, Field: "integrationId"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse("m.yaml", []byte(tc.src), tc.e)
			require.NoError(t, err)
			if tc.want == nil {
				assert.Empty(t, m.Columns)
				return
			}
			assert.Equal(t, tc.want, withoutLines(m.Columns))
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		e      Entity
		src    string
		want   error
		line   int
		column string
		msg    string // a substring of the message
	}{
		{name: "not YAML", src: "columns:\n  A: b\n  B: : c\n", want: ErrSyntax, line: 3, msg: "m.yaml:3: mapping values are not allowed"},
		{name: "unclosed list", src: "columns:\n  A: [b\n", want: ErrSyntax, line: 1},
		{name: "tab indentation", src: "columns:\n\tA: b\n", want: ErrSyntax, line: 2},
		{name: "not JSON", src: "{\"columns\": {\"A\": \"b\",}}", want: ErrSyntax, line: 1, msg: "JSON"},
		{name: "JSON error line", src: "{\n\t\"columns\": {\n\t\t\"A\": \"b\"\n\t\t\"B\": \"c\"\n\t}\n}", want: ErrSyntax, line: 4},
		{name: "empty", src: "", want: ErrShape, msg: "the mapping is empty"},
		{name: "comments only", src: "# nothing\n", want: ErrShape},
		{name: "a list", src: "- a\n", want: ErrShape, line: 1},
		{name: "nothing to do", src: "unmapped: keep\n", want: ErrShape, line: 1, msg: "no columns and no constants"},
		{name: "unknown top-level key", src: "columns: {A: b}\ncolumn: {}\n", want: ErrShape, line: 2, msg: `unknown key "column"`},
		{name: "duplicate key", src: "columns:\n  A: b\n  A: c\n", want: ErrDuplicate, line: 3, column: "A", msg: "mapped twice"},
		{name: "duplicate JSON key", src: "{\"columns\": {\"A\": \"b\",\n \"A\": \"c\"}}", want: ErrDuplicate, line: 2},
		{name: "duplicate column by case", src: "columns:\n  Alter: Age\n  ALTER: Age2\n", want: ErrDuplicate, line: 3, column: "ALTER", msg: "first on line 2"},
		{name: "same target twice", src: "columns:\n  A: Age\n  B: Age\n", want: ErrDuplicate, line: 3, column: "B", msg: `column "A" has the same target "Age"`},
		{name: "same field twice", src: "columns:\n  A: integrationId\n  B: integration_id\n", want: ErrDuplicate, line: 3, column: "B"},
		{name: "columns not a mapping", src: "columns: [a]\n", want: ErrShape, line: 1},
		{name: "empty column name", src: "columns:\n  \"\": a\n", want: ErrShape, line: 2},
		{name: "no target", src: "columns:\n  A:\n", want: ErrTarget, line: 2, column: "A"},
		{name: "long form without target", src: "columns:\n  A: {type: number}\n", want: ErrTarget, line: 2, column: "A", msg: "no target"},
		{name: "invalid attribute name", src: "columns:\n  A: 2nd-Name\n", want: ErrTarget, line: 2, column: "A", msg: `"2nd-Name" is neither a reserved field (integrationId) nor a valid attribute name`},
		{name: "attribute on audiences", e: EntityAudiences, src: "columns:\n  A: Age\n", want: ErrTarget, line: 2, msg: "audiences have no attributes"},
		{name: "target a list", src: "columns:\n  A: {target: [x]}\n", want: ErrTarget, line: 2},
		{name: "column a list", src: "columns:\n  A: [x]\n", want: ErrShape, line: 2},
		{name: "unknown column key", src: "columns:\n  A:\n    target: Age\n    tpye: number\n", want: ErrShape, line: 4, column: "A", msg: `unknown key "tpye" (want target, type, layout, decimalComma, separator, ignore, optional)`},
		{name: "unknown type", src: "columns:\n  A: {target: Age, type: nummer}\n", want: ErrType, line: 2, column: "A", msg: `unknown type "nummer"`},
		{name: "type on a field", src: "columns:\n  A: {target: integrationId, type: number}\n", want: ErrType, line: 2, msg: "fixed type"},
		{name: "layout on a number", src: "columns:\n  A: {target: Age, type: number, layout: \"02.01.2006\"}\n", want: ErrType, line: 2, msg: "layout applies to type time"},
		{name: "layout without a year", src: "columns:\n  A: {target: D, type: time, layout: \"02.01.\"}\n", want: ErrLayout, line: 2, column: "A", msg: "does not hold a full date"},
		{name: "layout not Go's", src: "columns:\n  A: {target: D, type: time, layout: \"DD.MM.YYYY\"}\n", want: ErrLayout, line: 2, msg: `"DD.MM.YYYY"`},
		{name: "layout empty", src: "columns:\n  A: {target: D, type: time, layout: \"\"}\n", want: ErrLayout, line: 2},
		{name: "decimal comma on a string", src: "columns:\n  A: {target: S, decimalComma: true}\n", want: ErrType, line: 2, msg: "decimalComma applies to numbers, not string"},
		{name: "decimal comma on audienceId", e: EntityAudiences, src: "columns:\n  A: {target: audienceId, decimalComma: true}\n", want: ErrType, line: 2, msg: "audienceId is an integer"},
		{name: "decimal comma not a bool", src: "columns:\n  A: {target: S, type: number, decimalComma: ja}\n", want: ErrShape, line: 2, msg: `decimalComma must be true or false, not "ja"`},
		{name: "separator on a string", src: "columns:\n  A: {target: S, separator: \",\"}\n", want: ErrType, line: 2},
		{name: "empty separator", src: "columns:\n  A: {target: S, type: list, separator: \"\"}\n", want: ErrType, line: 2},
		{name: "ignore with a target", src: "columns:\n  A: {ignore: true, target: S}\n", want: ErrType, line: 2, msg: "an ignored column"},
		{name: "unmapped unknown", src: "unmapped: drop\ncolumns: {A: b}\n", want: ErrShape, line: 1, msg: "keep, ignore or error"},
		{name: "unknown entity", src: "entity: products\ncolumns: {A: b}\n", want: ErrShape, line: 1},
		{name: "other entity", src: "entity: catalog\ncolumns: {A: b}\n", want: ErrEntity, line: 1, msg: "the mapping is for catalog, the command loads profiles"},
		{name: "constant null", src: "constants:\n  A: ~\n", want: ErrConstant, line: 2, column: "A", msg: "needs a value"},
		{name: "constant bad name", src: "constants:\n  my-source: x\n", want: ErrConstant, line: 2, column: "my-source"},
		{name: "constant reserved", src: "constants:\n  integration_id: x\n", want: ErrConstant, line: 2, msg: "reserved field integrationId"},
		{name: "constant clashes with a column", src: "columns:\n  Quelle: Source\nconstants:\n  Source: x\n", want: ErrDuplicate, line: 4, column: "Source", msg: `column "Quelle" (line 2)`},
		{name: "constant on audiences", e: EntityAudiences, src: "constants:\n  A: x\n", want: ErrConstant, line: 2},
		{name: "constant number out of range", src: "constants:\n  A: 1e400\n", want: ErrConstant, line: 2, msg: "quote it for a string"},
		{name: "constant infinity", src: "constants:\n  A: .inf\n", want: ErrConstant, line: 2, msg: "finite"},
		{name: "constant typed number bad", src: "constants:\n  A: {type: number, value: abc}\n", want: ErrConstant, line: 2, msg: `"abc" is not a finite number`},
		{name: "constant typed time bad", src: "constants:\n  A: {type: time, value: \"31.01.2024\"}\n", want: ErrConstant, line: 2},
		{name: "constant typed boolean bad", src: "constants:\n  A: {type: boolean, value: ja}\n", want: ErrConstant, line: 2},
		{name: "constant typed without value", src: "constants:\n  A: {type: number}\n", want: ErrConstant, line: 2},
		{name: "constant typed unknown key", src: "constants:\n  A: {type: number, val: 1}\n", want: ErrShape, line: 2},
		{name: "constant typed unknown type", src: "constants:\n  A: {type: int, value: 1}\n", want: ErrType, line: 2},
		{name: "constant list of lists", src: "constants:\n  A: [[a]]\n", want: ErrConstant, line: 2},
		{name: "constants a list", src: "constants: [a]\n", want: ErrShape, line: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.e
			if e == "" {
				e = EntityProfiles
			}
			_, err := Parse("m.yaml", []byte(tc.src), e)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			var me *Error
			require.True(t, errors.As(err, &me))
			assert.Equal(t, "m.yaml", me.File)
			assert.Equal(t, tc.line, me.Line, "line: %v", err)
			if tc.column != "" {
				assert.Equal(t, tc.column, me.Column)
				assert.Contains(t, err.Error(), `column "`+tc.column+`": `)
			}
			assert.True(t, strings.HasPrefix(err.Error(), "m.yaml"), err.Error())
			if tc.msg != "" {
				assert.Contains(t, err.Error(), tc.msg)
			}
		})
	}
}

func TestParseBadEntity(t *testing.T) {
	_, err := Parse("m.yaml", []byte("columns: {A: b}"), "products")
	assert.Error(t, err)
}

func TestLoadErrors(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.yaml"), EntityProfiles)
	var me *Error
	require.True(t, errors.As(err, &me))
	assert.Contains(t, err.Error(), "none.yaml: cannot read the mapping file")
}
