package columns

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInferTypes(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   Column // Type, Layout, DecimalComma
		note   string // a substring of the comment
	}{
		{name: "no values", values: nil, want: Column{Type: TypeString}, note: "no values"},
		{name: "strings", values: []string{"Anna", "Jörg"}, want: Column{Type: TypeString}},
		{name: "booleans", values: []string{"true", "FALSE", "yes", "No"}, want: Column{Type: TypeBoolean}},
		{name: "0 and 1 are numbers", values: []string{"0", "1", "1"}, want: Column{Type: TypeNumber}},
		{name: "numbers", values: []string{"12", "-3.5", "0.25", "1e3"}, want: Column{Type: TypeNumber}},
		{name: "postal codes stay strings", values: []string{"01234", "80331"}, want: Column{Type: TypeString}},
		{name: "decimal comma", values: []string{"1.234,50", "89,90", "0,00", "12"}, want: Column{Type: TypeNumber, DecimalComma: true}, note: "decimal comma"},
		{name: "grouped integers", values: []string{"12.000", "1.234.567"}, want: Column{Type: TypeNumber, DecimalComma: true}},
		{name: "dot decimals that could be groups", values: []string{"12.000", "1.5"}, want: Column{Type: TypeNumber}},
		{name: "leading zero with comma stays string", values: []string{"0123,5"}, want: Column{Type: TypeString}},
		{name: "ISO dates", values: []string{"2024-01-31", "2024-02-29"}, want: Column{Type: TypeTime}},
		{name: "RFC 3339", values: []string{"2024-01-31T10:00:00Z", "2024-01-31"}, want: Column{Type: TypeTime}},
		{name: "German dates", values: []string{"27.11.1980", "03.04.1975"}, want: Column{Type: TypeTime, Layout: "02.01.2006"}, note: `e.g. "27.11.1980"`},
		{name: "German dates unpadded", values: []string{"27.11.1980", "3.4.1975"}, want: Column{Type: TypeTime, Layout: "2.1.2006"}},
		{name: "German date and time", values: []string{"27.11.1980 13:45"}, want: Column{Type: TypeTime, Layout: "02.01.2006 15:04"}},
		{name: "US dates", values: []string{"11/27/1980", "04/03/1975"}, want: Column{Type: TypeTime, Layout: "01/02/2006"}},
		{name: "day-first slash dates", values: []string{"27/11/1980", "03/04/1975"}, want: Column{Type: TypeTime, Layout: "02/01/2006"}},
		{name: "ambiguous slash dates", values: []string{"01/02/2020", "03/04/2021"}, want: Column{Type: TypeTime, Layout: "01/02/2006"}, note: "ambiguous: every value also reads as 02/01/2006"},
		{name: "slash year first", values: []string{"2024/01/31"}, want: Column{Type: TypeTime, Layout: "2006/01/02"}},
		{name: "SQL timestamps", values: []string{"2024-01-31 10:00:00"}, want: Column{Type: TypeTime, Layout: "2006-01-02 15:04:05"}},
		{name: "invalid date stays string", values: []string{"31.02.2024"}, want: Column{Type: TypeString}},
		{name: "lists", values: []string{"a|b", "c"}, want: Column{Type: TypeList}, note: "separated by |"},
		{name: "mixed", values: []string{"12", "abc"}, want: Column{Type: TypeString}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sample := make([][]string, len(tc.values))
			for i, v := range tc.values {
				sample[i] = []string{"id", " " + v + " "}
			}
			m := Infer([]string{"integrationId", "X"}, sample, EntityProfiles)
			require.Len(t, m.Columns, 2)
			c := m.Columns[1]
			assert.Equal(t, KindAttribute, c.Kind)
			assert.Equal(t, tc.want.Type, c.Type, "type")
			assert.Equal(t, tc.want.Layout, c.Layout, "layout")
			assert.Equal(t, tc.want.DecimalComma, c.DecimalComma, "decimal comma")
			assert.Contains(t, c.Comment, tc.note)
		})
	}
}

func TestInferNames(t *testing.T) {
	header := []string{"\ufeffKunden-Nr.", "integration id", "Straße", "Größe:number", "2FA aktiv", "Größe", "!!!", "", "Name", "name"}
	m := Infer(header, [][]string{{"1", "c1", "x", "42", "true", "3", "y", "", "a", "b"}}, EntityProfiles)
	var got []string
	for _, c := range m.Columns {
		got = append(got, c.Kind.String()+":"+c.Field+c.Attribute)
	}
	assert.Equal(t, []string{
		"attribute:Kunden_Nr", "field:integrationId", "attribute:Strasse", "attribute:Groesse",
		"attribute:Col2FA_aktiv", "attribute:Groesse_2", "attribute:Column7", "attribute:Name", "attribute:name",
	}, got)
	assert.Equal(t, TypeNumber, m.Columns[3].Type, "a header type suffix wins")
	assert.Equal(t, "Größe:number", m.Columns[3].Source)
	assert.Contains(t, m.Comment, "column 8 has no header")
	for _, c := range m.Columns {
		assert.True(t, c.Kind != KindAttribute || ValidAttribute(c.Attribute), c.Attribute)
	}
}

func TestInferEntities(t *testing.T) {
	m := Infer([]string{"SKU", "Preis", "Product"}, [][]string{{"a", "12,90", "p"}}, EntityCatalog)
	assert.Equal(t, []Column{
		{Source: "SKU", Index: -1, Kind: KindField, Field: "sku"},
		{Source: "Preis", Index: -1, Kind: KindAttribute, Attribute: "Preis", Type: TypeNumber, DecimalComma: true, Comment: `e.g. "12,90", decimal comma`},
		{Source: "Product", Index: -1, Kind: KindField, Field: "product"},
	}, m.Columns)
	m = Infer([]string{"price"}, [][]string{{"12,90"}}, EntityCatalog)
	assert.True(t, m.Columns[0].DecimalComma, "a price with a decimal comma")

	m = Infer([]string{"profile_integration_id", "audienceId", "Age"}, [][]string{{"p", "7", "3"}}, EntityAudiences)
	assert.Equal(t, KindField, m.Columns[0].Kind)
	assert.Equal(t, KindField, m.Columns[1].Kind)
	assert.Equal(t, KindIgnore, m.Columns[2].Kind, "audiences have no attributes")
}

// TestInferRoundTrip: what WriteYAML prints, Parse reads back the same.
func TestInferRoundTrip(t *testing.T) {
	header, rows := readExample(t)
	m := Infer(header, rows, EntityProfiles)
	m.Constants = []Constant{
		{Name: "Source", Type: TypeString, JSON: []byte(`"crm"`)},
		{Name: "Tier", Type: TypeNumber, JSON: []byte(`3`)},
		{Name: "Since", Type: TypeTime, JSON: []byte(`"2024-01-31T00:00:00Z"`)},
		{Name: "Tags", Type: TypeList, JSON: []byte(`["a","b"]`)},
		{Name: "VIP", Type: TypeBoolean, JSON: []byte(`true`)},
	}
	m.Columns = append(m.Columns, Column{Source: "Extra", Index: -1, Kind: KindAttribute, Attribute: "Extra", Optional: true},
		Column{Source: "Liste", Index: -1, Kind: KindAttribute, Attribute: "Liste", Type: TypeList, Separator: ";"},
		Column{Source: "Preis: brutto", Index: -1, Kind: KindAttribute, Attribute: "Brutto"},
		Column{Source: "#Nr", Index: -1, Kind: KindIgnore},
		Column{Source: "- x", Index: -1, Kind: KindIgnore},
		Column{Source: "yes", Index: -1, Kind: KindIgnore},
		Column{Source: "007", Index: -1, Kind: KindIgnore},
		Column{Source: "K", Index: -1, Kind: KindField, Field: "integrationId", Optional: true})
	var buf bytes.Buffer
	require.NoError(t, m.WriteYAML(&buf))
	t.Logf("\n%s", buf.String())
	back, err := Parse("inferred.yaml", buf.Bytes(), EntityProfiles)
	require.NoError(t, err, buf.String())
	assert.Equal(t, withoutLines(m.Columns), withoutLines(back.Columns))
	assert.Equal(t, m.Unmapped, back.Unmapped)
	require.Len(t, back.Constants, len(m.Constants))
	for i, c := range back.Constants {
		assert.Equal(t, m.Constants[i].Name, c.Name)
		assert.Equal(t, m.Constants[i].Type, c.Type)
		assert.JSONEq(t, string(m.Constants[i].JSON), string(c.JSON))
	}
	assert.Contains(t, buf.String(), "# column 9 has no header")
	assert.Contains(t, buf.String(), "# no column is integrationId")
	assert.Contains(t, buf.String(), `layout: "02.01.2006"`)
}
