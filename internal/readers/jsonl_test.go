package readers

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSONL(t *testing.T) {
	tests := []struct {
		name      string
		entity    Entity
		opts      Options
		in        string
		want      []string
		wantErrIs []error // per row, nil for an item
		wantLines []int64
	}{
		{
			name:      "profiles: blank lines, CRLF, raw values pass through",
			entity:    EntityProfiles,
			in:        "\n{\"integrationId\":\"u1\",\"attributes\":{\"A\":1.50,\"B\":[true,null],\"C\":\"\\u2028\"}}\r\n \t\r\n{ \"integrationId\" : \"u2\" , \"attributes\" : { } }",
			want:      []string{`{"integrationId":"u1","attributes":{"A":1.50,"B":[true,null],"C":"\u2028"}}`, `{"integrationId":"u2"}`},
			wantLines: []int64{2, 4},
		},
		{
			name:   "profiles: rejects",
			entity: EntityProfiles,
			in: "{\"integrationId\":\"u1\",\"Attributes\":{}}\n{\"integrationId\":\"u2\"\n{\"integrationId\":\"\xff\"}\n" +
				"{\"integrationId\":\"u3\",\"attributes\":[1]}\n{\"integrationId\":\"u4\",\"attributes\":{\"a-b\":1}}\n{}\n" +
				"{\"integrationId\":\"u5\",\"attributes\":{\"A\":01}}\n",
			wantErrIs: []error{errUnknownField, errBadJSON, errBadJSON, errBadValue, errBadValue, errMissingKey, errBadJSON},
		},
		{
			name:   "catalog: flat and raw forms",
			entity: EntityCatalog,
			in: `{"sku":"s1","action":"Patch","price":null,"attributes":{"X":{"deep":[1]}}}` + "\n" +
				`{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"X","op":"EQ","value":1}]}}` + "\n" +
				`{"type":"ADD","payload":{"sku":"s2","replaceIfExists":false,"product":{"name":"P"}}}` + "\n",
			want: []string{
				`{"type":"PATCH","payload":{"sku":"s1","attributes":{"X":{"deep":[1]}}}}`,
				`{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"X","op":"EQ","value":1}]}}`,
				`{"type":"ADD","payload":{"sku":"s2","product":{"name":"P"},"replaceIfExists":false}}`,
			},
		},
		{
			name:      "catalog: bulk without filters refused",
			entity:    EntityCatalog,
			in:        `{"type":"PATCH_MANY","payload":{"price":1}}` + "\n" + `{"action":"REMOVE_MANY","filters":null}` + "\n",
			wantErrIs: []error{errBulkRefused, errBulkRefused},
		},
		{
			name:   "catalog: bulk without filters allowed",
			entity: EntityCatalog,
			opts:   Options{AllowBulk: true},
			in:     `{"type":"PATCH_MANY","payload":{"price":1}}` + "\n" + `{"action":"REMOVE_MANY"}` + "\n",
			want:   []string{`{"type":"PATCH_MANY","payload":{"price":1}}`, `{"type":"REMOVE_MANY","payload":{}}`},
		},
		{
			name:      "catalog: rejects",
			entity:    EntityCatalog,
			in:        `{"sku":5}` + "\n" + `{"type":"nope","payload":{}}` + "\n" + `{"payload":{"sku":"x"}}` + "\n" + `{"sku":"s","product":"P"}` + "\n" + `{"sku":"s","price":1e400}` + "\n",
			wantErrIs: []error{errBadValue, errUnknownAction, errUnknownAction, errBadValue, errBadValue},
		},
		{
			name:   "audiences: defaults",
			entity: EntityAudiences,
			opts:   Options{AudienceID: 4, AudienceAction: "Remove"},
			in:     `{"profileIntegrationId":"p1"}` + "\n" + `{"profileIntegrationId":"p2","action":"add","audienceId":5}` + "\n",
			want: []string{
				`{"action":"delete","profileIntegrationId":"p1","audienceId":4}`,
				`{"action":"add","profileIntegrationId":"p2","audienceId":5}`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Entity, tc.opts.Format = tc.entity, FormatJSONL
			rows, err := readString(t, tc.in, tc.opts)
			require.NoError(t, err)
			if tc.want != nil {
				assert.Equal(t, tc.want, summary(rows))
			}
			if tc.wantErrIs != nil {
				require.Len(t, rows, len(tc.wantErrIs))
				for i, want := range tc.wantErrIs {
					assert.ErrorIs(t, rows[i].Err, want, "row %d: %v", i, rows[i].Err)
					assert.Equal(t, int64(i+1), rows[i].Line)
				}
			}
			if tc.wantLines != nil {
				for i, l := range tc.wantLines {
					assert.Equal(t, l, rows[i].Line)
				}
			}
			for _, r := range rows {
				checkRow(t, r)
			}
		})
	}
}

func TestJSONLRecord(t *testing.T) {
	rows, err := readString(t, "{\"integrationId\":1}\n{bad \xff\n", Options{Entity: EntityProfiles, Format: FormatJSONL})
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, `{"integrationId":1}`, string(rows[0].Record))
	assert.Equal(t, `"{bad \ufffd"`, string(rows[1].Record))
	var re *rowError
	require.ErrorAs(t, rows[1].Err, &re)
	assert.Equal(t, int64(2), re.Line)
}

func TestJSONLLineTooLong(t *testing.T) {
	long := `{"integrationId":"u1","attributes":{"A":"` + strings.Repeat("x", 300) + `"}}`
	in := long + "\n" + `{"integrationId":"u2"}` + "\n" + long
	rows, err := readString(t, in, Options{Entity: EntityProfiles, Format: FormatJSONL, maxRowBytes: 100})
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.ErrorIs(t, rows[0].Err, errRowTooLong)
	assert.Equal(t, `{"integrationId":"u2"}`, string(rows[1].Item.JSON))
	assert.Equal(t, int64(2), rows[1].Line)
	assert.ErrorIs(t, rows[2].Err, errRowTooLong)
	assert.Equal(t, int64(3), rows[2].Line)
	checkRow(t, rows[0])
}
