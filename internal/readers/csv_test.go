package readers

import (
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCSVProfiles(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      []string // item JSON, or "ERR " + rowError message
		wantLines []int64
	}{
		{
			name: "plain",
			in:   "integrationId,Name\nu1,Ann\nu2,Bob\n",
			want: []string{
				`{"integrationId":"u1","attributes":{"Name":"Ann"}}`,
				`{"integrationId":"u2","attributes":{"Name":"Bob"}}`,
			},
			wantLines: []int64{2, 3},
		},
		{
			name:      "BOM and CRLF",
			in:        "\xEF\xBB\xBFintegrationId,Name\r\nu1,Ann\r\nu2,Bob",
			want:      []string{`{"integrationId":"u1","attributes":{"Name":"Ann"}}`, `{"integrationId":"u2","attributes":{"Name":"Bob"}}`},
			wantLines: []int64{2, 3},
		},
		{
			name: "quoted delimiters, quotes and newlines keep later line numbers",
			in:   "integrationId,Note\nu1,\"a,b \"\"c\"\"\"\nu2,\"x\ny\r\nz\"\n\nu3,\"\"\n,\n",
			want: []string{
				`{"integrationId":"u1","attributes":{"Note":"a,b \"c\""}}`,
				`{"integrationId":"u2","attributes":{"Note":"x\ny\nz"}}`,
				`{"integrationId":"u3"}`,
				`ERR line 8: column "integrationId": missing key: empty integrationId`,
			},
			wantLines: []int64{2, 3, 7, 8},
		},
		{
			name: "header names: snake case and any case",
			in:   "INTEGRATION_ID,first_name\nu1,Ann\n",
			want: []string{`{"integrationId":"u1","attributes":{"first_name":"Ann"}}`},
		},
		{
			name: "every boolean spelling",
			in:   "integration_id,B:boolean\na,true\nb,FALSE\nc,1\nd,0\ne,yes\nf,No\ng, True \nh,maybe\n",
			want: []string{
				`{"integrationId":"a","attributes":{"B":true}}`,
				`{"integrationId":"b","attributes":{"B":false}}`,
				`{"integrationId":"c","attributes":{"B":true}}`,
				`{"integrationId":"d","attributes":{"B":false}}`,
				`{"integrationId":"e","attributes":{"B":true}}`,
				`{"integrationId":"f","attributes":{"B":false}}`,
				`{"integrationId":"g","attributes":{"B":true}}`,
				`ERR line 9: column "B:boolean": value "maybe" is not a boolean`,
			},
		},
		{
			name: "typed attributes",
			in: "integrationId,Age:number,Signup:time,Seen:TIME,Tags:list,More:(list string),S:string\n" +
				"u1,19.90,2024-01-31,2024-02-01T10:00:00.5+02:00,a|b||c|,\"[\"\"x\"\", \"\"y\"\"]\",007\n" +
				"u2,+1e3,2024-01-31T23:59:59Z,,|,,\n",
			want: []string{
				`{"integrationId":"u1","attributes":{"Age":19.90,"Signup":"2024-01-31T00:00:00Z","Seen":"2024-02-01T10:00:00.5+02:00","Tags":["a","b","c"],"More":["x", "y"],"S":"007"}}`,
				`{"integrationId":"u2","attributes":{"Age":1000,"Signup":"2024-01-31T23:59:59Z","Tags":[]}}`,
			},
		},
		{
			name: "bad values are rejected with line and column",
			in: "integrationId,Age:number,D:time,L:list\n" +
				"u1,abc,,\nu2,NaN,,\nu3,0x10,,\nu4,1e999,,\nu5,,2024-13-01,\nu6,,,[1]\nu7,,,\"[\"\"a\"\"\"\nu8,,yesterday,\n",
			want: []string{
				`ERR line 2: column "Age:number": value "abc" is not a number`,
				`ERR line 3: column "Age:number": value "NaN" is not a number`,
				`ERR line 4: column "Age:number": value "0x10" is not a number`,
				`ERR line 5: column "Age:number": value "1e999" is not a finite number`,
				`ERR line 6: column "D:time": value "2024-13-01" is not a date (YYYY-MM-DD) or an RFC 3339 time`,
				`ERR line 7: column "L:list": value "[1]" is not an array of strings`,
				`ERR line 8: column "L:list": value "[\"a\"" is not a JSON array`,
				`ERR line 9: column "D:time": value "yesterday" is not a date (YYYY-MM-DD) or an RFC 3339 time`,
			},
		},
		{
			name: "empty cells are not sent",
			in:   "integrationId,A,B:number,C:boolean\nu1,,,\nu2,x,,\n",
			want: []string{`{"integrationId":"u1"}`, `{"integrationId":"u2","attributes":{"A":"x"}}`},
		},
		{
			name: "field count, bare quote, NUL, invalid UTF-8; reading goes on",
			in:   "integrationId,A\nu1\nu2,a\"b\nu3,\"a\"b\nu4,a\x00b\nu5,\xff\nu6,ok\n",
			want: []string{
				`ERR line 2: wrong number of fields: 1 field, header has 2`,
				`ERR line 3: column "A": bare " in non-quoted-field (line 3, byte 5)`,
				`ERR line 4: column "A": extraneous or missing " in quoted-field (line 4, byte 6)`,
				`ERR line 5: column "A": value "a\x00b" holds a NUL byte`,
				`ERR line 6: column "A": value "\xff" is not valid UTF-8`,
				`{"integrationId":"u6","attributes":{"A":"ok"}}`,
			},
			wantLines: []int64{2, 3, 4, 5, 6, 7},
		},
		{
			name: "header only",
			in:   "integrationId,A\r\n",
		},
		{
			name: "integrationId over 1000 characters",
			in:   "integrationId\n" + strings.Repeat("é", 1000) + "\n" + strings.Repeat("é", 1001) + "\n",
			want: []string{
				`{"integrationId":"` + strings.Repeat("é", 1000) + `"}`,
				`ERR line 3: column "integrationId": value "` + strings.Repeat("é", 32) + `..." is longer than 1000 characters`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := readString(t, tc.in, Options{Entity: EntityProfiles, Format: FormatCSV})
			require.NoError(t, err)
			assert.Equal(t, tc.want, summary(rows))
			if tc.wantLines != nil {
				var lines []int64
				for _, r := range rows {
					lines = append(lines, r.Line)
				}
				assert.Equal(t, tc.wantLines, lines)
			}
			for i, r := range rows {
				assert.Equal(t, int64(i), r.Seq)
				checkRow(t, r)
			}
		})
	}
}

func TestCSVRejectDetails(t *testing.T) {
	rows, err := readString(t, "integrationId,Age:number\nu1,abc\nu2,1\u00a0,extra\nu3,\"a\"b\n",
		Options{Entity: EntityProfiles, Format: FormatCSV})
	require.NoError(t, err)
	require.Len(t, rows, 3)

	var re *rowError
	require.ErrorAs(t, rows[0].Err, &re)
	assert.Equal(t, int64(2), re.Line)
	assert.Equal(t, "Age:number", re.Column)
	assert.ErrorIs(t, rows[0].Err, errBadValue)
	assert.JSONEq(t, `{"integrationId":"u1","Age:number":"abc"}`, string(rows[0].Record))

	assert.ErrorIs(t, rows[1].Err, errFieldCount)
	assert.JSONEq(t, `{"integrationId":"u2","Age:number":"1\u00a0","column 3":"extra"}`, string(rows[1].Record))

	assert.ErrorIs(t, rows[2].Err, csv.ErrQuote)
}

func TestCSVCatalog(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts Options
		want []string
		keys []string
	}{
		{
			name: "ADD gets replaceIfExists unless the row says false",
			in:   "sku,price,product,Color,replace_if_exists\ns1,9.5,Shoe,red,\ns2,,,,false\ns3,1,,,TRUE\n",
			want: []string{
				`{"type":"ADD","payload":{"sku":"s1","price":9.5,"product":{"name":"Shoe"},"attributes":{"Color":"red"},"replaceIfExists":true}}`,
				`{"type":"ADD","payload":{"sku":"s2","replaceIfExists":false}}`,
				`{"type":"ADD","payload":{"sku":"s3","price":1,"replaceIfExists":true}}`,
			},
			keys: []string{"s1", "s2", "s3"},
		},
		{
			name: "actions",
			in:   "SKU,Action,Price,createIfNotExists,W:number\ns1,patch,2,yes,3\ns2,REMOVE,2,,3\ns3,Patch,,,\ns4,patch_many,,,\ns5,DROP,,,\ns6,PATCH,,perhaps,\n,ADD,,,\n",
			want: []string{
				`{"type":"PATCH","payload":{"sku":"s1","price":2,"attributes":{"W":3},"createIfNotExists":true}}`,
				`{"type":"REMOVE","payload":{"sku":"s2"}}`,
				`{"type":"PATCH","payload":{"sku":"s3"}}`,
				`ERR line 5: column "Action": unknown action: "patch_many" (want ADD, PATCH or REMOVE)`,
				`ERR line 6: column "Action": unknown action: "DROP" (want ADD, PATCH or REMOVE)`,
				`ERR line 7: column "createIfNotExists": value "perhaps" is not a boolean`,
				`ERR line 8: column "SKU": missing key: empty sku`,
			},
		},
		{
			name: "bad price",
			in:   "sku,price\ns1,cheap\n",
			want: []string{`ERR line 2: column "price": value "cheap" is not a number`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Entity, tc.opts.Format = EntityCatalog, FormatCSV
			rows, err := readString(t, tc.in, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.want, summary(rows))
			for i, k := range tc.keys {
				assert.Equal(t, k, rows[i].Item.Key)
			}
			for _, r := range rows {
				checkRow(t, r)
				if r.Err == nil {
					assert.Contains(t, string(r.Item.JSON), `"type":"`+string(r.Item.Type)+`"`)
				}
			}
		})
	}
}

func TestCSVAudiences(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts Options
		want []string
		keys []string
	}{
		{
			name: "columns given",
			in:   "profile_integration_id,audienceId,action\np1,7,add\np2,7,REMOVE\np3,8,delete\np4,8,\np5,x,add\np6,7,join\n",
			want: []string{
				`{"action":"add","profileIntegrationId":"p1","audienceId":7}`,
				`{"action":"delete","profileIntegrationId":"p2","audienceId":7}`,
				`{"action":"delete","profileIntegrationId":"p3","audienceId":8}`,
				`{"action":"add","profileIntegrationId":"p4","audienceId":8}`,
				`ERR line 6: column "audienceId": value "x" is not a positive integer`,
				`ERR line 7: column "action": unknown action: "join" (want add, delete or remove)`,
			},
			keys: []string{"7/p1", "7/p2", "8/p3", "8/p4"},
		},
		{
			name: "defaults from options",
			in:   "profileIntegrationId,audienceid\np1,\np2,9\n",
			opts: Options{AudienceID: 3, AudienceAction: "remove"},
			want: []string{
				`{"action":"delete","profileIntegrationId":"p1","audienceId":3}`,
				`{"action":"delete","profileIntegrationId":"p2","audienceId":9}`,
			},
		},
		{
			name: "no audience id anywhere",
			in:   "profileIntegrationId\np1\n",
			want: []string{`ERR line 2: column "audienceId": missing key: no audienceId and no default`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Entity, tc.opts.Format = EntityAudiences, FormatCSV
			rows, err := readString(t, tc.in, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.want, summary(rows))
			for i, k := range tc.keys {
				assert.Equal(t, k, rows[i].Item.Key)
			}
		})
	}
}

func TestCSVHeaderErrors(t *testing.T) {
	tests := []struct {
		name    string
		entity  Entity
		in      string
		wantErr error
		wantCol string
	}{
		{"empty file", EntityProfiles, "", errNoHeader, ""},
		{"blank lines and BOM only", EntityProfiles, "\xEF\xBB\xBF\n\r\n", errNoHeader, ""},
		{"missing key column", EntityProfiles, "Name,Age\n", errMissingKey, ""},
		{"missing sku", EntityCatalog, "price\n1\n", errMissingKey, ""},
		{"duplicate attribute", EntityProfiles, "integrationId,Age,Age:number\n", errDuplicateColumn, "Age:number"},
		{"duplicate reserved, spelled differently", EntityProfiles, "integrationId,integration_id\n", errDuplicateColumn, "integration_id"},
		{"invalid attribute name", EntityProfiles, "integrationId,1st\n", errBadColumn, "1st"},
		{"attribute name with a dash", EntityProfiles, "integrationId,first-name\n", errBadColumn, "first-name"},
		{"unknown type", EntityProfiles, "integrationId,Age:integer\n", errBadColumn, "Age:integer"},
		{"typed reserved column", EntityCatalog, "sku,price:number\n", errBadColumn, "price:number"},
		{"unknown audience column", EntityAudiences, "profileIntegrationId,Name\n", errBadColumn, "Name"},
		{"bad quote in header", EntityProfiles, "integrationId,\"a\"b\n", csv.ErrQuote, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readString(t, tc.in, Options{Entity: tc.entity, Format: FormatCSV})
			var he *headerError
			require.ErrorAs(t, err, &he)
			assert.ErrorIs(t, err, tc.wantErr)
			assert.Equal(t, tc.wantCol, he.Column)
		})
	}
}

func TestCSVHeader(t *testing.T) {
	in, err := Open("-", strings.NewReader("\xEF\xBB\xBFintegrationId;Age:number\nu1;5\n"))
	require.NoError(t, err)
	r, err := NewReader(in, Options{Entity: EntityProfiles, Format: FormatCSV, Delimiter: ';'})
	require.NoError(t, err)
	assert.Equal(t, []string{"integrationId", "Age:number"}, r.header)
	row, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, `{"integrationId":"u1","attributes":{"Age":5}}`, string(row.Item.JSON))
}

func TestCSVTab(t *testing.T) {
	rows, err := readString(t, "integrationId\tNote\nu1\ta,b\n", Options{Entity: EntityProfiles, Format: FormatCSV, Delimiter: '\t'})
	require.NoError(t, err)
	assert.Equal(t, []string{`{"integrationId":"u1","attributes":{"Note":"a,b"}}`}, summary(rows))
}

func TestCSVManyColumns(t *testing.T) {
	const n = 10000
	var head, row strings.Builder
	head.WriteString("integrationId")
	row.WriteString("u1")
	for i := range n {
		fmt.Fprintf(&head, ",A%d:number", i)
		fmt.Fprintf(&row, ",%d", i)
	}
	rows, err := readString(t, head.String()+"\n"+row.String()+"\n", Options{Entity: EntityProfiles, Format: FormatCSV})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	checkRow(t, rows[0])
	assert.Contains(t, string(rows[0].Item.JSON), `"A9999":9999}}`)
}
