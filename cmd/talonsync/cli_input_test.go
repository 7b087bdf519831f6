package main

import (
	"bufio"
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/columns"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// jsonLines decodes stderr written with --log-format json.
func jsonLines(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "stderr line %q", sc.Text())
		out = append(out, m)
	}
	return out
}

func TestCLIDecimalComma(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "c.csv", "sku;price;Weight:number\nA;12,50;1.234,5\n")
	res := runMain(t, emuEnv(srv, testKey), "", "catalog", "--catalog-id", "1", "--delimiter", ";", in)
	require.Equal(t, exitRejected, res.Code, res.Stderr)
	assert.Empty(t, srv.State().Catalogs[1], "without the flag the numbers are refused")

	res = runMain(t, emuEnv(srv, testKey), "", "catalog", "--catalog-id", "1", "--delimiter", ";", "--decimal-comma", in)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	item := srv.State().Catalogs[1]["A"]
	require.NotNil(t, item.Price)
	assert.Equal(t, 12.5, *item.Price)
	assert.JSONEq(t, `1234.5`, string(item.Attributes["Weight"]))
}

// TestCLIInputMessagesAreLogged: the delimiter hint and the warning about
// an unnamed column that holds values go through the logger, as JSON with
// --log-format json.
func TestCLIInputMessagesAreLogged(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()

	semi := writeFile(t, dir, "semi.csv", "sku;product;price\nA;Tea;1\n")
	res := runMain(t, emuEnv(srv, testKey), "", "catalog", "--catalog-id", "1", "--log-format", "json", semi)
	require.Equal(t, exitUsage, res.Code, res.Stderr)
	lines := jsonLines(t, res.Stderr)
	require.NotEmpty(t, lines)
	last := lines[len(lines)-1]
	assert.Equal(t, "ERROR", last["level"])
	assert.Contains(t, last["msg"], `no sku column; columns found: "sku;product;price"; the header holds ';' but no ',': for a file separated by semicolons, give --delimiter ';'`)

	res = runMain(t, emuEnv(srv, testKey), "", "catalog", "--catalog-id", "1", semi)
	assert.Contains(t, res.Stderr, "talonsync: ", "as text")
	assert.Contains(t, res.Stderr, "give --delimiter ';'")

	unnamed := writeFile(t, dir, "unnamed.csv", "sku;price;;\nA;1;;\nB;2;oops;\n")
	res = runMain(t, emuEnv(srv, testKey), "", "catalog", "--catalog-id", "1", "--delimiter", ";", "--log-format", "json", unnamed)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	var warns []map[string]any
	for _, l := range jsonLines(t, res.Stderr) {
		if l["level"] == "WARN" {
			warns = append(warns, l)
		}
	}
	require.Len(t, warns, 1, res.Stderr)
	assert.Equal(t, `line 3: column 3: the column has no name in the header but holds values (here "oops"); they are not sent: name the column to send them`, warns[0]["msg"])
	assert.Equal(t, map[string]any{"line": float64(3), "column": "column 3"}, warns[0]["input"])
	assert.Contains(t, srv.State().Catalogs[1], "B", "the row is sent without the unnamed value")

	res = runMain(t, emuEnv(srv, testKey), "", "catalog", "--catalog-id", "1", "--delimiter", ";", unnamed)
	assert.Contains(t, res.Stderr, `talonsync: warning: line 3: column 3: the column has no name`)
}

func TestCLIColumnsCommand(t *testing.T) {
	dir := t.TempDir()
	t.Run("the example export", func(t *testing.T) {
		res := runMain(t, nil, "", "columns", "--delimiter", ";", "../../examples/spreadsheet-profiles.csv")
		require.Equal(t, exitOK, res.Code, res.Stderr)
		m, err := columns.Parse("out.yaml", []byte(res.Stdout), columns.EntityProfiles)
		require.NoError(t, err, res.Stdout)
		assert.Equal(t, columns.UnmappedError, m.Unmapped)
		byName := map[string]columns.Column{}
		for _, c := range m.Columns {
			byName[c.Source] = c
		}
		assert.Equal(t, "02.01.2006", byName["Geburtsdatum"].Layout)
		assert.True(t, byName["Umsatz 2024 (EUR)"].DecimalComma)
		assert.Contains(t, res.Stdout, "# column 9 has no header")
		assert.Contains(t, res.Stdout, "entity profiles (no key column in the header: assumed")
	})
	t.Run("a mapping it prints loads the file", func(t *testing.T) {
		in := writeFile(t, dir, "export.csv", "Artikel;Preis;Lager seit\nA-1;1.299,00;27.11.2009\nA-2;5,50;01.02.2010\n")
		res := runMain(t, nil, "", "columns", "--delimiter", ";", "--entity", "catalog", in)
		require.Equal(t, exitOK, res.Code, res.Stderr)
		// The user's edit: Artikel is the sku, Preis the price.
		edited := strings.Replace(res.Stdout, "Artikel: Artikel", "Artikel: sku", 1)
		edited = strings.Replace(edited, "Preis: {target: Preis, type: number, decimalComma: true}", "Preis: {target: price, decimalComma: true}", 1)
		mapping := writeFile(t, dir, "columns.yaml", edited)
		srv := startEmulator(t, emulator.Options{})
		res = runMain(t, emuEnv(srv, testKey), "", "catalog", "--catalog-id", "1", "--delimiter", ";", "--columns", mapping, in)
		require.Equal(t, exitOK, res.Code, "%s\n%s", res.Stderr, edited)
		item := srv.State().Catalogs[1]["A-1"]
		require.NotNil(t, item.Price)
		assert.Equal(t, 1299.0, *item.Price)
		assert.JSONEq(t, `"2009-11-27T00:00:00Z"`, string(item.Attributes["Lager_seit"]))
	})
	t.Run("the entity from the header", func(t *testing.T) {
		for _, tc := range []struct{ header, entity string }{
			{"SKU,Name", "catalog"}, {"profile_integration_id,audienceId", "audiences"}, {"integrationId,Age", "profiles"},
		} {
			in := writeFile(t, dir, "e.csv", tc.header+"\nx,1\n")
			res := runMain(t, nil, "", "columns", in)
			require.Equal(t, exitOK, res.Code, res.Stderr)
			assert.Contains(t, res.Stdout, "entity: "+tc.entity, tc.header)
		}
	})
	t.Run("stdin and tsv", func(t *testing.T) {
		res := runMain(t, nil, "integrationId\tAge\nu\t3\n", "columns", "--format", "tsv", "-")
		require.Equal(t, exitOK, res.Code, res.Stderr)
		assert.Contains(t, res.Stdout, "Age: {target: Age, type: number}")
	})
	usageCases := []struct {
		name  string
		args  []string
		stdin string
		err   string
	}{
		{name: "the wrong delimiter", args: []string{"columns", writeFile(t, dir, "semi.csv", "a;b;c\n1;2;3\n")}, err: "give --delimiter ';'"},
		{name: "JSONL", args: []string{"columns", writeFile(t, dir, "x.jsonl", "{}\n")}, err: "columns maps the columns of a CSV file"},
		{name: "an unknown entity", args: []string{"columns", "--entity", "products", writeFile(t, dir, "y.csv", "a\n")}, err: "--entity must be catalog, profiles or audiences"},
		{name: "no rows", args: []string{"columns", "--rows", "0", filepath.Join(dir, "y.csv")}, err: "--rows"},
		{name: "an empty file", args: []string{"columns", writeFile(t, dir, "empty.csv", "")}, err: "no header row"},
		{name: "two files", args: []string{"columns", "a.csv", "b.csv"}, err: "exactly one input"},
	}
	for _, tc := range usageCases {
		t.Run(tc.name, func(t *testing.T) {
			res := runMain(t, nil, tc.stdin, tc.args...)
			assert.Equal(t, exitUsage, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, tc.err)
			assert.Empty(t, res.Stdout)
		})
	}
}

// TestCLIPriceAdjustmentsExample: examples/price-adjustments.jsonl, after
// examples/products.jsonl, sets and ends price types.
func TestCLIPriceAdjustmentsExample(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	for _, f := range []string{"products.jsonl", "price-adjustments.jsonl"} {
		res := runMain(t, emuEnv(srv, testKey), "", "catalog", "--catalog-id", "1",
			"--rejects", filepath.Join(t.TempDir(), "rejects.jsonl"), "../../examples/"+f)
		require.Equal(t, exitOK, res.Code, "%s: %s", f, res.Stderr)
	}
	items := srv.State().Catalogs[1]
	member := items["SKU-2001"].PriceAdjustments["member"]
	require.NotNil(t, member.Price)
	assert.Equal(t, 3.9, *member.Price)
	assert.Equal(t, "Summer2025", member.ContextID)
	assert.Equal(t, []string{"member"}, slices.Sorted(maps.Keys(items["SKU-2002"].PriceAdjustments)), "the null price ended staff")
}
