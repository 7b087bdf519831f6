package readers

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendValue(t *testing.T) {
	tests := []struct {
		typ     attrType
		in      string
		want    string // "" when the value is bad
		wantErr error
	}{
		{attrString, "plain", `"plain"`, nil},
		{attrString, "q\"b\\s\n\r\t\b\f\x01\x1f", `"q\"b\\s\n\r\t\b\f\u0001\u001f"`, nil},
		{attrString, "sep\u2028\u2029é€😀", `"sep\u2028\u2029é€😀"`, nil},
		{attrString, "bad\xffutf8", "", errBadValue},
		{attrString, "\xed\xa0\x80", "", errBadValue}, // a surrogate is invalid UTF-8
		{attrNumber, "42", `42`, nil},
		{attrNumber, " -0.50 ", `-0.50`, nil},
		{attrNumber, "1e-3", `1e-3`, nil},
		{attrNumber, "+1", `1`, nil},
		{attrNumber, ".5", `0.5`, nil},
		{attrNumber, "007", `7`, nil},
		{attrNumber, "1e21", `1e21`, nil},
		{attrNumber, "Inf", "", errBadValue},
		{attrNumber, "-infinity", "", errBadValue},
		{attrNumber, "nan", "", errBadValue},
		{attrNumber, "0x1p3", "", errBadValue},
		{attrNumber, "1_000", "", errBadValue},
		{attrNumber, "1e400", "", errBadValue},
		{attrNumber, "", "", errBadValue},
		{attrBoolean, "TRUE", `true`, nil},
		{attrBoolean, "false", `false`, nil},
		{attrBoolean, "Yes", `true`, nil},
		{attrBoolean, "no", `false`, nil},
		{attrBoolean, "1", `true`, nil},
		{attrBoolean, "0", `false`, nil},
		{attrBoolean, "2", "", errBadValue},
		{attrBoolean, "y", "", errBadValue},
		{attrTime, "2024-01-31", `"2024-01-31T00:00:00Z"`, nil},
		{attrTime, "2024-01-31T10:11:12Z", `"2024-01-31T10:11:12Z"`, nil},
		{attrTime, "2024-01-31T10:11:12.123456789-05:30", `"2024-01-31T10:11:12.123456789-05:30"`, nil},
		{attrTime, "2024-02-30", "", errBadValue},
		{attrTime, "2024-1-31", "", errBadValue},
		{attrTime, "31/01/2024", "", errBadValue},
		{attrTime, "2024-01-31 10:11:12", "", errBadValue},
		{attrList, "a|b|c", `["a","b","c"]`, nil},
		{attrList, "|a||b |", `["a","b "]`, nil},
		{attrList, "single", `["single"]`, nil},
		{attrList, `["a","b|c"]`, `["a","b|c"]`, nil},
		{attrList, ` [ ] `, `[ ]`, nil},
		{attrList, `["a",1]`, "", errBadValue},
		{attrList, `["a"`, "", errBadValue},
		{attrList, "a|\xff", "", errBadValue},
	}
	for _, tc := range tests {
		t.Run(tc.typ.String()+"/"+tc.in, func(t *testing.T) {
			prefix := []byte("pre:")
			got, err := appendValue(prefix, tc.typ, tc.in)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
				assert.Equal(t, "pre:", string(got), "dst is returned unchanged")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "pre:"+tc.want, string(got))
			assert.True(t, json.Valid(got[4:]))
		})
	}
}

func TestParseAttrType(t *testing.T) {
	for in, want := range map[string]attrType{
		"string": attrString, "NUMBER": attrNumber, "boolean": attrBoolean, "time": attrTime,
		"list": attrList, "(list string)": attrList,
	} {
		got, err := parseAttrType(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := parseAttrType("(list number)")
	assert.ErrorIs(t, err, errBadColumn)
}

func TestAppendValueAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	for _, tc := range []struct {
		typ attrType
		s   string
	}{{attrString, "hello \"world\""}, {attrNumber, "12.5"}, {attrBoolean, "yes"}, {attrList, "a|b|c"}, {attrTime, "2024-01-31"}} {
		n := testing.AllocsPerRun(100, func() {
			_, _ = appendValue(buf[:0], tc.typ, tc.s)
		})
		assert.Zero(t, n, tc.typ.String())
	}
}

func TestValidDate(t *testing.T) {
	for s, want := range map[string]bool{
		"2024-01-31": true, "2024-02-29": true, "2023-02-29": false, "2000-02-29": true, "1900-02-29": false,
		"2024-04-31": false, "2024-00-10": false, "2024-12-00": false, "2024-13-01": false, "20a4-01-01": false,
		"0000-01-01": true, "2024/01/01": false,
	} {
		assert.Equal(t, want, validDate(s), s)
	}
}
