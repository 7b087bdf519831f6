package columns

import (
	"encoding/csv"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const exampleCSV = "../../examples/spreadsheet-profiles.csv"

func readExample(t *testing.T) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(exampleCSV)
	require.NoError(t, err)
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	recs, err := r.ReadAll()
	require.NoError(t, err)
	require.Greater(t, len(recs), 1)
	return recs[0], recs[1:]
}

// TestExampleLoads applies examples/columns.yaml to the spreadsheet export
// as it is and checks every value that would be sent.
func TestExampleLoads(t *testing.T) {
	m, err := Load(exampleMapping, EntityProfiles)
	require.NoError(t, err)
	header, rows := readExample(t)
	cols, err := m.Resolve(header)
	require.NoError(t, err)
	require.Len(t, cols, 9)
	assert.Equal(t, KindUnnamed, cols[8].Kind, "the trailing empty column Excel writes")
	assert.Equal(t, KindIgnore, cols[7].Kind)

	var got []map[string]string
	for _, row := range rows {
		out := map[string]string{}
		for i, c := range cols {
			cell := row[i]
			if c.Kind == KindUnnamed {
				assert.Empty(t, cell)
				continue
			}
			if cell == "" || c.Kind == KindIgnore {
				continue
			}
			v, err := c.Convert(nil, cell)
			require.NoError(t, err, "%s: %q", c.Source, cell)
			out[c.Field+c.Attribute] = string(v)
		}
		got = append(got, out)
	}
	assert.Equal(t, []map[string]string{
		{"integrationId": "K-1001", "FirstName": "Anna", "Birthday": "1980-11-27T00:00:00Z", "Revenue2024": "1234.50",
			"Newsletter": "1", "Interests": `["Laufen","Kaffee"]`, "CustomerSince": "2015-02-01T00:00:00Z"},
		{"integrationId": "K-1002", "FirstName": "Jörg", "Birthday": "1975-04-03T00:00:00Z", "Revenue2024": "89.90",
			"Newsletter": "0", "Interests": `["Kaffee"]`, "CustomerSince": "2019-06-15T00:00:00Z"},
		{"integrationId": "K-1003", "FirstName": "Élodie", "Revenue2024": "12000.00",
			"Newsletter": "1", "CustomerSince": "2020-12-31T00:00:00Z"},
		{"integrationId": "K-1004", "FirstName": "Mehmet", "Birthday": "1992-10-09T00:00:00Z", "Revenue2024": "0.00",
			"Newsletter": "0", "Interests": `["Radfahren","Laufen","Lesen"]`},
		{"integrationId": "K-1005", "FirstName": "Lena", "Birthday": "1996-02-29T00:00:00Z", "CustomerSince": "2023-07-07T00:00:00Z"},
	}, got)
}

// TestExampleInferred: talonsync columns on the export proposes what the
// hand-written example says, but for the names and the 0/1 booleans.
func TestExampleInferred(t *testing.T) {
	header, rows := readExample(t)
	m := Infer(header, rows, EntityProfiles)
	want := map[string]Column{
		"Kundennummer":      {Kind: KindAttribute, Attribute: "Kundennummer"},
		"Geburtsdatum":      {Kind: KindAttribute, Attribute: "Geburtsdatum", Type: TypeTime, Layout: "02.01.2006"},
		"Umsatz 2024 (EUR)": {Kind: KindAttribute, Attribute: "Umsatz_2024_EUR", Type: TypeNumber, DecimalComma: true},
		"Newsletter":        {Kind: KindAttribute, Attribute: "Newsletter", Type: TypeNumber},
		"Interessen":        {Kind: KindAttribute, Attribute: "Interessen"},
		"Kunde seit":        {Kind: KindAttribute, Attribute: "Kunde_seit", Type: TypeTime, Layout: "02.01.2006"},
	}
	for _, c := range m.Columns {
		w, ok := want[c.Source]
		if !ok {
			continue
		}
		delete(want, c.Source)
		assert.Equal(t, w.Kind, c.Kind, c.Source)
		assert.Equal(t, w.Attribute, c.Attribute, c.Source)
		assert.Equal(t, w.Type, c.Type, c.Source)
		assert.Equal(t, w.Layout, c.Layout, c.Source)
		assert.Equal(t, w.DecimalComma, c.DecimalComma, c.Source)
	}
	assert.Empty(t, want)
	assert.Len(t, m.Columns, 8)
}
