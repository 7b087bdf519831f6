package readers

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/columns"
)

func mapping(t *testing.T, e Entity, src string) *columns.Mapping {
	t.Helper()
	m, err := columns.Parse("m.yaml", []byte(src), e.mappingEntity())
	require.NoError(t, err)
	return m
}

// TestMappingExample loads examples/spreadsheet-profiles.csv, a German
// spreadsheet export, unchanged, with examples/columns.yaml.
func TestMappingExample(t *testing.T) {
	m, err := columns.Load("../../examples/columns.yaml", columns.EntityProfiles)
	require.NoError(t, err)
	var warns []Warning
	rows, err := readPath(t, "../../examples/spreadsheet-profiles.csv", Options{Entity: EntityProfiles, Format: FormatCSV,
		Delimiter: ';', Columns: m, Warn: func(w Warning) { warns = append(warns, w) }})
	require.NoError(t, err)
	assert.Equal(t, []string{
		`{"integrationId":"K-1001","attributes":{"FirstName":"Anna","Birthday":"1980-11-27T00:00:00Z","Revenue2024":1234.50,"Newsletter":true,"Interests":["Laufen","Kaffee"],"CustomerSince":"2015-02-01T00:00:00Z","Source":"crm-export"}}`,
		`{"integrationId":"K-1002","attributes":{"FirstName":"Jörg","Birthday":"1975-04-03T00:00:00Z","Revenue2024":89.90,"Newsletter":false,"Interests":["Kaffee"],"CustomerSince":"2019-06-15T00:00:00Z","Source":"crm-export"}}`,
		`{"integrationId":"K-1003","attributes":{"FirstName":"Élodie","Revenue2024":12000.00,"Newsletter":true,"CustomerSince":"2020-12-31T00:00:00Z","Source":"crm-export"}}`,
		`{"integrationId":"K-1004","attributes":{"FirstName":"Mehmet","Birthday":"1992-10-09T00:00:00Z","Revenue2024":0.00,"Newsletter":false,"Interests":["Radfahren","Laufen","Lesen"],"Source":"crm-export"}}`,
		`{"integrationId":"K-1005","attributes":{"FirstName":"Lena","Birthday":"1996-02-29T00:00:00Z","CustomerSince":"2023-07-07T00:00:00Z","Source":"crm-export"}}`,
	}, summary(rows))
	assert.Empty(t, warns, "the trailing column is empty in every row")
	spec := loadSpec(t)
	for _, r := range rows {
		assert.NoError(t, spec.ValidateItem(context.Background(), endpoint(EntityProfiles), r.Item.JSON))
	}
}

func TestMappingColumns(t *testing.T) {
	tests := []struct {
		name string
		e    Entity
		m    string
		in   string
		opts Options
		want []string
	}{
		{name: "catalog fields under other names, a decimal comma on price only",
			e: cat, m: "columns:\n  Artikel: sku\n  Preis: {target: price, decimalComma: true}\n  Bezeichnung: product\n  Gewicht: {target: Weight, type: number}\n",
			in: "Artikel;Preis;Bezeichnung;Gewicht\nA-1;1.299,00;Tisch;12.5\nA-2;x;;\n", opts: Options{Delimiter: ';'},
			want: []string{
				`{"type":"ADD","payload":{"sku":"A-1","price":1299.00,"product":{"name":"Tisch"},"attributes":{"Weight":12.5},"replaceIfExists":true}}`,
				`ERR line 3: column "Preis": value "x" is not a number with a decimal comma (like 1.234,5)`,
			}},
		{name: "--decimal-comma covers mapped number columns",
			e: cat, m: "columns:\n  Artikel: sku\n  Gewicht: {target: Weight, type: number}\n",
			in: "Artikel;Gewicht;Size:number\nA-1;12,5;1.000\n", opts: Options{Delimiter: ';', DecimalComma: true},
			want: []string{`{"type":"ADD","payload":{"sku":"A-1","attributes":{"Weight":12.5,"Size":1000},"replaceIfExists":true}}`}},
		{name: "unmapped columns keep the header rule",
			e: pro, m: "columns:\n  Kunde: integrationId\n",
			in:   "Kunde,Age:number,Name\nu1,5,Ann\n",
			want: []string{`{"integrationId":"u1","attributes":{"Age":5,"Name":"Ann"}}`}},
		{name: "unmapped: ignore",
			e: pro, m: "unmapped: ignore\ncolumns:\n  Kunde: integrationId\n  Alter: {target: Age, type: number}\n",
			in:   "Kunde,Alter,Name,bad name!\nu1,5,Ann,x\n",
			want: []string{`{"integrationId":"u1","attributes":{"Age":5}}`}},
		{name: "ignored columns are not read, even when bad",
			e: pro, m: "columns:\n  Kunde: integrationId\n  Notiz: ignore\n",
			in:   "Kunde,Notiz\nu1,\"a\xffb\"\n",
			want: []string{`{"integrationId":"u1"}`}},
		{name: "a time layout; a bad time names the column",
			e: pro, m: "columns:\n  K: integrationId\n  Seit: {target: Since, type: time, layout: \"02.01.2006 15:04\"}\n",
			in: "K,Seit\nu1,27.11.2009 13:45\nu2,2009-11-27\n",
			want: []string{
				`{"integrationId":"u1","attributes":{"Since":"2009-11-27T13:45:00Z"}}`,
				`ERR line 3: column "Seit": value "2009-11-27" is not a time in the layout "02.01.2006 15:04"`,
			}},
		{name: "a list separator; values kept exactly, escaped like any string",
			e: pro, m: "columns:\n  K: integrationId\n  Tags: {target: Tags, type: list, separator: \", \"}\n",
			in: "K;Tags\nu1;\"a, <b>, \"\"q\"\"\"\nu2;\n", opts: Options{Delimiter: ';'},
			want: []string{
				`{"integrationId":"u1","attributes":{"Tags":["a","<b>","\"q\""]}}`,
				`{"integrationId":"u2"}`,
			}},
		{name: "constants on every row but removals",
			e: cat, m: "columns:\n  Artikel: sku\nconstants:\n  Feed: erp\n  Tier: 3\n  Live: true\n",
			in: "Artikel,action\nA,\nB,REMOVE\n",
			want: []string{
				`{"type":"ADD","payload":{"sku":"A","attributes":{"Feed":"erp","Tier":3,"Live":true},"replaceIfExists":true}}`,
				`{"type":"REMOVE","payload":{"sku":"B"}}`,
			}},
		{name: "audience fields",
			e: aud, m: "columns:\n  Kunde: profileIntegrationId\n  Gruppe: audienceId\n  Was: action\n  Name: ignore\n",
			in:   "Kunde,Gruppe,Was,Name\np1,7,remove,Ann\n",
			want: []string{`{"action":"delete","profileIntegrationId":"p1","audienceId":7}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Entity, opts.Format, opts.Columns = tc.e, FormatCSV, mapping(t, tc.e, tc.m)
			rows, err := readString(t, tc.in, opts)
			require.NoError(t, err)
			assert.Equal(t, tc.want, summary(rows))
			for _, r := range rows {
				checkRow(t, r)
			}
		})
	}
}

// TestMappingHeaderErrors: a mapping that does not fit the header is an
// error before any row, a *columns.Error that names the mapping file.
func TestMappingHeaderErrors(t *testing.T) {
	tests := []struct {
		name   string
		e      Entity
		m      string
		header string
		want   error
		msg    string
	}{
		{name: "unmapped: error", e: pro, m: "unmapped: error\ncolumns:\n  K: integrationId\n", header: "K,Neu",
			want: columns.ErrUnmapped, msg: `m.yaml: column "Neu": the mapping says unmapped: error, and it does not name "Neu"`},
		{name: "a mapped column is missing", e: pro, m: "columns:\n  K: integrationId\n  Alter: Age\n", header: "K",
			want: columns.ErrMissing, msg: `m.yaml:3: column "Alter": the header has no such column`},
		{name: "a kept column clashes with a mapped one", e: pro, m: "columns:\n  K: integrationId\n  Alter: Age\n", header: "K,Alter,Age:number",
			want: columns.ErrDuplicate, msg: `m.yaml: column "Age:number"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readString(t, tc.header+"\nx,y,z\n", Options{Entity: tc.e, Format: FormatCSV, Columns: mapping(t, tc.e, tc.m)})
			require.ErrorIs(t, err, tc.want)
			var ce *columns.Error
			require.True(t, errors.As(err, &ce))
			assert.Equal(t, "m.yaml", ce.File)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
	t.Run("no key column, mapped or not", func(t *testing.T) {
		_, err := readString(t, "Kunde,Name\n", Options{Entity: pro, Format: FormatCSV, Columns: mapping(t, pro, "columns:\n  Name: FullName\n")})
		require.ErrorIs(t, err, errMissingKey)
		assert.Contains(t, err.Error(), `no integrationId column (and the mapping m.yaml maps no column to integrationId); columns found: "Kunde", "Name"`)
	})
	t.Run("a kept column still follows the header rule", func(t *testing.T) {
		_, err := readString(t, "K,1st\n", Options{Entity: pro, Format: FormatCSV, Columns: mapping(t, pro, "columns:\n  K: integrationId\n")})
		var he *headerError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, "1st", he.Column)
	})
}

func TestMappingOptions(t *testing.T) {
	m := mapping(t, pro, "columns:\n  K: integrationId\n")
	_, err := readString(t, "{}\n", Options{Entity: pro, Format: FormatJSONL, Columns: m})
	assert.ErrorContains(t, err, "a column mapping applies to CSV only")
	_, err = readString(t, "sku\n", Options{Entity: cat, Format: FormatCSV, Columns: m})
	assert.ErrorContains(t, err, "the column mapping is for profiles, not catalog")
}
