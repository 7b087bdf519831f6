package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// The tests in this file run the real binary on messy inputs (issues 11
// and 14): a broken quote, spreadsheet exports with a column mapping, and
// JSONL items that do not conform to the API's spec.

// TestE2EUnterminatedQuote is issue 11's row-loss case: line 5 of a
// 7-line file opens a quote that never closes. The rows after it used to
// vanish from every count; now the broken row is rejected and r-5 and r-6
// are delivered.
func TestE2EUnterminatedQuote(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "items.csv", "sku,price\nr-1,1\nr-2,2\nr-3,3\nr-4,\"unterminated,5\nr-5,5\nr-6,6\n")
	rep := filepath.Join(dir, "report.json")
	res := esRunCLI(t, srv.URL(), testKey, cli{args: []string{"catalog", "--catalog-id", "1", "--report", rep, in}})
	require.Equal(t, exitRejected, res.Code, res.Stderr)

	r := readReport(t, rep)
	esCounts(t, r, 6, 5, 1)
	assert.Equal(t, int64(6), r.Read, "every data line of the file is a row")
	items := srv.State().Catalogs[1]
	for _, sku := range []string{"r-1", "r-2", "r-3", "r-5", "r-6"} {
		assert.Contains(t, items, sku)
	}
	assert.NotContains(t, items, "r-4")
	rejects := readRejects(t, in+".rejects.jsonl")
	require.Len(t, rejects, 1)
	assert.Equal(t, float64(5), rejects[0]["line"])
	assert.Contains(t, rejects[0]["error"], "unterminated quote: the quoted field that opens at line 5, byte 5")
	assert.Equal(t, map[string]any{"sku": "r-4", "price": "unterminated,5"}, rejects[0]["record"])
}

// TestE2EColumnsExample loads the worked example, a German spreadsheet
// export, unchanged, with its mapping.
func TestE2EColumnsExample(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	rep := filepath.Join(dir, "report.json")
	res := esRunCLI(t, srv.URL(), testKey, cli{args: []string{"profiles", "--delimiter", ";", "--columns", "../../examples/columns.yaml",
		"--report", rep, "--rejects", filepath.Join(dir, "rejects.jsonl"), "../../examples/spreadsheet-profiles.csv"}})
	require.Equal(t, 0, res.Code, res.Stderr)
	esCounts(t, readReport(t, rep), 5, 5, 0)
	got, err := json.Marshal(srv.State().Profiles)
	require.NoError(t, err)
	assert.JSONEq(t, `{
		"K-1001":{"integrationId":"K-1001","attributes":{"FirstName":"Anna","Birthday":"1980-11-27T00:00:00Z","Revenue2024":1234.50,"Newsletter":true,"Interests":["Laufen","Kaffee"],"CustomerSince":"2015-02-01T00:00:00Z","Source":"crm-export"}},
		"K-1002":{"integrationId":"K-1002","attributes":{"FirstName":"Jörg","Birthday":"1975-04-03T00:00:00Z","Revenue2024":89.90,"Newsletter":false,"Interests":["Kaffee"],"CustomerSince":"2019-06-15T00:00:00Z","Source":"crm-export"}},
		"K-1003":{"integrationId":"K-1003","attributes":{"FirstName":"Élodie","Revenue2024":12000.00,"Newsletter":true,"CustomerSince":"2020-12-31T00:00:00Z","Source":"crm-export"}},
		"K-1004":{"integrationId":"K-1004","attributes":{"FirstName":"Mehmet","Birthday":"1992-10-09T00:00:00Z","Revenue2024":0.00,"Newsletter":false,"Interests":["Radfahren","Laufen","Lesen"],"Source":"crm-export"}},
		"K-1005":{"integrationId":"K-1005","attributes":{"FirstName":"Lena","Birthday":"1996-02-29T00:00:00Z","CustomerSince":"2023-07-07T00:00:00Z","Source":"crm-export"}}
	}`, string(got))
}

// TestE2EColumnsErrors: every error in a mapping, or between a mapping and
// the header, names the file, the line where known and the column, and
// exits 2 before anything is sent.
func TestE2EColumnsErrors(t *testing.T) {
	const header = "Kundennummer;Alter;Geburtsdatum\nK-1;42;27.11.1980\n"
	tests := []struct {
		name    string
		mapping string // "" for a file that does not exist
		input   string
		args    []string
		stderr  string
	}{
		{name: "unknown type", mapping: "columns:\n  Kundennummer: integrationId\n  Alter: {target: Age, type: nummer}\n",
			stderr: `columns.yaml:3: column "Alter": unknown type "nummer" (want string, number, boolean, time, list)`},
		{name: "a layout that is not Go's", mapping: "columns:\n  Kundennummer: integrationId\n  Geburtsdatum: {target: Birthday, type: time, layout: DD.MM.YYYY}\n",
			stderr: `columns.yaml:3: column "Geburtsdatum": layout "DD.MM.YYYY" does not hold a full date`},
		{name: "not an attribute name", mapping: "columns:\n  Kundennummer: integrationId\n  Alter: Age in years\n",
			stderr: `columns.yaml:3: column "Alter": "Age in years" is neither a reserved field (integrationId) nor a valid attribute name`},
		{name: "two columns, one target", mapping: "columns:\n  Kundennummer: integrationId\n  Alter: Age\n  Geburtsdatum: Age\n",
			stderr: `columns.yaml:4: column "Geburtsdatum": column "Alter" has the same target "Age"`},
		{name: "not YAML", mapping: "columns:\n  Kundennummer: integrationId\n  Alter: : x\n", stderr: "columns.yaml:3: mapping values are not allowed"},
		{name: "for another entity", mapping: "entity: catalog\ncolumns:\n  Kundennummer: sku\n", stderr: "columns.yaml:1: the mapping is for catalog, the command loads profiles"},
		{name: "a column the mapping does not name", mapping: "unmapped: error\ncolumns:\n  Kundennummer: integrationId\n  Alter: Age\n",
			stderr: `columns.yaml: column "Geburtsdatum": the mapping says unmapped: error, and it does not name "Geburtsdatum"`},
		{name: "a mapped column the header lacks", mapping: "columns:\n  Kundennummer: integrationId\n  Filiale: Branch\n  Geburtsdatum: ignore\n",
			stderr: `columns.yaml:3: column "Filiale": the header has no such column (say optional: true if it may be absent)`},
		{name: "no key column", mapping: "columns:\n  Alter: Age\n  Geburtsdatum: ignore\n",
			stderr: `no integrationId column (and the mapping`},
		{name: "a missing mapping file", stderr: "columns.yaml: cannot read the mapping file"},
		{name: "with JSONL", mapping: "columns:\n  a: integrationId\n", input: "p.jsonl", stderr: "--columns maps the columns of a CSV file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startEmulator(t, emulator.Options{})
			dir := t.TempDir()
			if tc.mapping != "" {
				writeFile(t, dir, "columns.yaml", tc.mapping)
			}
			input := tc.input
			if input == "" {
				input = "p.csv"
			}
			writeFile(t, dir, input, header)
			args := append([]string{"profiles", "--delimiter", ";", "--columns", "columns.yaml", "--report", "report.json"}, tc.args...)
			res := esRunCLI(t, srv.URL(), testKey, cli{args: append(args, input), dir: dir})
			assert.Equal(t, exitUsage, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, tc.stderr)
			assert.Equal(t, int64(0), srv.Stats().RequestsTotal, "nothing is sent")
			_, err := os.Stat(filepath.Join(dir, input+".rejects.jsonl"))
			assert.True(t, os.IsNotExist(err), "no rejects file")
		})
	}
}

// TestE2EJSONLPassThrough: the JSONL items of issue 14 that reached the
// API as they were are rejected, each with its line; the rest is sent,
// an ADD_PRICE_ADJUSTMENT among them.
func TestE2EJSONLPassThrough(t *testing.T) {
	lines := []string{
		`{"sku":"ok-1","price":1,"product":{"name":"Tea"}}`,
		`{"type":"ADD","payload":{"sku":"p-1","product":{}}}`,
		`{"type":"ADD","payload":{"sku":"p-2","product":{"name":5}}}`,
		`{"type":"ADD","payload":{"sku":"p-3","product":{"name":"x","extra":1}}}`,
		`{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"c","op":"NE","value":"x"}]}}`,
		`{"type":"PATCH_MANY","payload":{"filters":[{"attr":"c","op":"EQ"}],"price":1}}`,
		`{"type":"REMOVE_MANY","payload":{"filters":[{"attr":5,"op":"EQ","value":"x"}]}}`,
		`{"type":"ADD","payload":{"sku":"d-1","attributes":{"A":1,"A":2}}}`,
		`{"type":"ADD","payload":{"sku":"n-1","attributes":{"n":1e400}}}`,
		`{"type":"ADD","payload":{"sku":"u-1","attributes":{"s":"x\ud800"}}}`,
		`{"type":"PATCH_MANY","payload":{"sku":"m-1","filters":[{"attr":"c","op":"EQ","value":"x"}],"price":1}}`,
		`{"type":"ADD","payload":{"sku":"z-1","attributes":{"c":null}}}`,
		`{"type":"ADD_PRICE_ADJUSTMENT","payload":{"sku":"ok-1","adjustments":[{"priceType":"member","price":0.9,"referenceId":"r-1"}]}}`,
		`{"sku":"ok-2","attributes":{"c":"x"}}`,
	}
	var content string
	for _, l := range lines {
		content += l + "\n"
	}
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "items.jsonl", content)
	rep := filepath.Join(dir, "report.json")
	res := esRunCLI(t, srv.URL(), testKey, cli{args: []string{"catalog", "--catalog-id", "1", "--report", rep, in}})
	require.Equal(t, exitRejected, res.Code, res.Stderr)
	esCounts(t, readReport(t, rep), 14, 3, 11)
	assert.Equal(t, []int64{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, esRejectLines(t, in+".rejects.jsonl"))
	items := srv.State().Catalogs[1]
	assert.Equal(t, []string{"ok-1", "ok-2"}, slices.Sorted(func(yield func(string) bool) {
		for k := range items {
			if !yield(k) {
				return
			}
		}
	}))
	adj := items["ok-1"].PriceAdjustments["member"]
	require.NotNil(t, adj.Price, "the price adjustment reached the item after its ADD")
	assert.Equal(t, 0.9, *adj.Price)
}
