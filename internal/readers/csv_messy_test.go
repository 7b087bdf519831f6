package readers

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/columns"
)

// readWarn reads content on stdin and returns the rows and the warnings.
func readWarn(t *testing.T, content string, opts Options) ([]Row, []Warning) {
	t.Helper()
	var warns []Warning
	opts.Warn = func(w Warning) { warns = append(warns, w) }
	rows, err := readString(t, content, opts)
	require.NoError(t, err)
	return rows, warns
}

// TestCSVUnnamedColumns is issue 11, finding 13: trailing empty header
// columns, as Excel writes them, no longer reject the file.
func TestCSVUnnamedColumns(t *testing.T) {
	opts := Options{Entity: EntityCatalog, Format: FormatCSV, Delimiter: ';'}
	t.Run("empty trailing columns are ignored without a word", func(t *testing.T) {
		rows, warns := readWarn(t, "sku;price;;\nA;1;;\nB;2\n", opts)
		assert.Equal(t, []string{
			`{"type":"ADD","payload":{"sku":"A","price":1,"replaceIfExists":true}}`,
			`{"type":"ADD","payload":{"sku":"B","price":2,"replaceIfExists":true}}`,
		}, summary(rows), "a row may lack the unnamed columns at the end")
		assert.Empty(t, warns)
	})
	t.Run("values in a column without a name are warned about once per column", func(t *testing.T) {
		rows, warns := readWarn(t, "sku;price;;\nA;1;;\nB;2;x;\nC;3;y;z\nD;4; ;\n", opts)
		for _, r := range rows {
			require.NoError(t, r.Err)
			assert.NotContains(t, string(r.Item.JSON), `"x"`)
		}
		require.Len(t, rows, 4)
		assert.Equal(t, []Warning{
			{Line: 3, Column: "column 3", Message: `the column has no name in the header but holds values (here "x"); they are not sent: name the column to send them`},
			{Line: 4, Column: "column 4", Message: `the column has no name in the header but holds values (here "z"); they are not sent: name the column to send them`},
		}, warns)
		assert.Equal(t, `line 3: column 3: the column has no name in the header but holds values (here "x"); they are not sent: name the column to send them`, warns[0].String())
	})
	t.Run("an unnamed column in the middle is skipped too", func(t *testing.T) {
		rows, _ := readWarn(t, "sku,,price\nA,,1\n", Options{Entity: EntityCatalog, Format: FormatCSV})
		assert.Equal(t, []string{`{"type":"ADD","payload":{"sku":"A","price":1,"replaceIfExists":true}}`}, summary(rows))
	})
	t.Run("a row must still have every named column", func(t *testing.T) {
		rows, _ := readWarn(t, "sku;price;;\nA\n", opts)
		assert.Equal(t, []string{`ERR line 2: wrong number of fields: 1 field, header has 4`}, summary(rows))
	})
	t.Run("a rejected row's record names the unnamed columns by position", func(t *testing.T) {
		rows, _ := readWarn(t, "sku;price;;\nA;x;;\n", opts)
		require.Len(t, rows, 1)
		require.Error(t, rows[0].Err)
		assert.Equal(t, `{"sku":"A","price":"x","column 3":"","column 4":""}`, string(rows[0].Record), "no key twice: the record is valid JSONL for a retry")
	})
}

// TestCSVDecimalComma is finding 14: numbers with a decimal comma, only
// when asked for.
func TestCSVDecimalComma(t *testing.T) {
	in := "sku;price;Weight:number;Code\nA;12,50;1.234,56;1,5\nB;-0,5;1.234;x\nC;12.50;;\nD;1.5;7;\n"
	t.Run("off: refused, with a hint", func(t *testing.T) {
		rows, err := readString(t, in, Options{Entity: EntityCatalog, Format: FormatCSV, Delimiter: ';'})
		require.NoError(t, err)
		assert.Equal(t, []string{
			`ERR line 2: column "price": value "12,50" is not a number (for numbers written with a decimal comma, give --decimal-comma); ` +
				`column "Weight:number": value "1.234,56" is not a number (for numbers written with a decimal comma, give --decimal-comma)`,
			`ERR line 3: column "price": value "-0,5" is not a number (for numbers written with a decimal comma, give --decimal-comma)`,
			`{"type":"ADD","payload":{"sku":"C","price":12.50,"replaceIfExists":true}}`,
			`{"type":"ADD","payload":{"sku":"D","price":1.5,"attributes":{"Weight":7},"replaceIfExists":true}}`,
		}, summary(rows))
	})
	t.Run("on", func(t *testing.T) {
		rows, err := readString(t, in, Options{Entity: EntityCatalog, Format: FormatCSV, Delimiter: ';', DecimalComma: true})
		require.NoError(t, err)
		assert.Equal(t, []string{
			`{"type":"ADD","payload":{"sku":"A","price":12.50,"attributes":{"Weight":1234.56,"Code":"1,5"},"replaceIfExists":true}}`,
			`{"type":"ADD","payload":{"sku":"B","price":-0.5,"attributes":{"Weight":1234,"Code":"x"},"replaceIfExists":true}}`,
			`ERR line 4: column "price": value "12.50" is not a number with a decimal comma (like 1.234,5)`,
			`ERR line 5: column "price": value "1.5" is not a number with a decimal comma (like 1.234,5)`,
		}, summary(rows), "a point is a thousands separator then: 12.50 is refused, not guessed")
		assert.ErrorIs(t, rows[2].Err, errBadValue)
		assert.ErrorIs(t, rows[2].Err, columns.ErrValue)
	})
	t.Run("audienceId is an integer either way", func(t *testing.T) {
		rows, err := readString(t, "profileIntegrationId;audienceId\np;1.234\n",
			Options{Entity: EntityAudiences, Format: FormatCSV, Delimiter: ';', DecimalComma: true})
		require.NoError(t, err)
		assert.Equal(t, []string{`ERR line 2: column "audienceId": value "1.234" is not a positive integer`}, summary(rows))
	})
}

// TestCSVDelimiterHint is finding 15: a header read with the wrong
// delimiter says which --delimiter to give.
func TestCSVDelimiterHint(t *testing.T) {
	tests := []struct {
		name   string
		entity Entity
		delim  rune
		header string
		hint   string // "" for no hint
	}{
		{"semicolons with the default", EntityCatalog, 0, "sku;product;price", `the header holds ';' but no ',': for a file separated by semicolons, give --delimiter ';'`},
		{"tabs with the default", EntityProfiles, 0, "integrationId\tName", `the header holds '\t' but no ',': for a file separated by tabs, give --delimiter tab`},
		{"commas with semicolons", EntityProfiles, ';', "integrationId,Name", `the header holds ',' but no ';': for a file separated by commas, give --delimiter ,`},
		{"pipes", EntityAudiences, 0, "profileIntegrationId|audienceId", `the header holds '|' but no ',': for a file separated by '|', give --delimiter '|'`},
		{"the most frequent wins", EntityCatalog, 0, "a;b;c\td", `holds ';'`},
		{"no other delimiter", EntityProfiles, 0, "customer", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readString(t, tc.header+"\nx\n", Options{Entity: tc.entity, Format: FormatCSV, Delimiter: tc.delim})
			require.ErrorIs(t, err, errMissingKey)
			assert.Contains(t, err.Error(), "no "+keyField(tc.entity)+" column; columns found: "+`"`)
			if tc.hint == "" {
				assert.NotContains(t, err.Error(), "--delimiter")
			} else {
				assert.Contains(t, err.Error(), tc.hint)
			}
		})
	}
}

// TestCSVEveryBadCell is finding 16: one reject names every bad cell of
// its row, in column order.
func TestCSVEveryBadCell(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		in   string
		want string
		errs []error
	}{
		{"catalog", Options{Entity: EntityCatalog},
			"sku,action,price,createIfNotExists,Age:number,VIP:boolean,Name\n,JUMP,cheap,perhaps,old,maybe,\xff\n",
			`ERR line 2: column "sku": missing key: empty sku; column "action": unknown action: "JUMP" (want ADD, PATCH or REMOVE); ` +
				`column "price": value "cheap" is not a number; column "createIfNotExists": value "perhaps" is not a boolean; ` +
				`column "Age:number": value "old" is not a number; column "VIP:boolean": value "maybe" is not a boolean; ` +
				`column "Name": value "\xff" is not valid UTF-8`,
			[]error{errMissingKey, errUnknownAction, errBadValue}},
		{"profiles: a cell bad twice is named once", Options{Entity: EntityProfiles},
			"integrationId,A,B:time\nu\x00,\xff,soon\n",
			`ERR line 2: column "integrationId": value "u\x00" holds a NUL byte; column "A": value "\xff" is not valid UTF-8; ` +
				`column "B:time": value "soon" is not a date (YYYY-MM-DD) or an RFC 3339 time`,
			[]error{errBadValue}},
		{"audiences", Options{Entity: EntityAudiences},
			"profileIntegrationId,audienceId,action\n,x,join\n",
			`ERR line 2: column "profileIntegrationId": missing key: empty profileIntegrationId; column "audienceId": value "x" is not a positive integer; ` +
				`column "action": unknown action: "join" (want add, delete or remove)`,
			[]error{errMissingKey, errBadValue, errUnknownAction}},
		{"audiences without an audience id", Options{Entity: EntityAudiences},
			"profileIntegrationId,action\np,join\n",
			`ERR line 2: column "action": unknown action: "join" (want add, delete or remove); column "audienceId": missing key: no audienceId and no default`,
			[]error{errMissingKey, errUnknownAction}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Format = FormatCSV
			rows, err := readString(t, tc.in, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, []string{tc.want}, summary(rows))
			for _, e := range tc.errs {
				assert.ErrorIs(t, rows[0].Err, e)
			}
			var re *rowError
			require.True(t, errors.As(rows[0].Err, &re))
			assert.Equal(t, strings.Count(tc.want, "column "), 1+len(re.More))
			checkRow(t, rows[0])
		})
	}
}

// TestReservedFieldsAgree: the readers' kinds cover package columns' one
// list of reserved fields, and the key field of each entity is its first.
func TestReservedFieldsAgree(t *testing.T) {
	for _, e := range []Entity{EntityCatalog, EntityProfiles, EntityAudiences} {
		for _, f := range columns.ReservedFields(e.mappingEntity()) {
			_, ok := fieldKinds[f]
			assert.True(t, ok, "%v: %s", e, f)
			k, name, ok := reservedKind(e, strings.ToUpper(f))
			assert.True(t, ok)
			assert.Equal(t, fieldKinds[f], k)
			assert.Equal(t, f, name)
		}
	}
	assert.Equal(t, "sku", keyField(EntityCatalog))
	assert.Equal(t, "integrationId", keyField(EntityProfiles))
	assert.Equal(t, "profileIntegrationId", keyField(EntityAudiences))
}
