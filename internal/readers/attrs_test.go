package readers

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendValue(t *testing.T) {
	tests := []struct {
		typ     AttrType
		in      string
		want    string // "" when the value is bad
		wantErr error
	}{
		{AttrString, "plain", `"plain"`, nil},
		{AttrString, "q\"b\\s\n\r\t\b\f\x01\x1f", `"q\"b\\s\n\r\t\b\f\u0001\u001f"`, nil},
		{AttrString, "sep\u2028\u2029é€😀", `"sep\u2028\u2029é€😀"`, nil},
		{AttrString, "bad\xffutf8", "", ErrBadValue},
		{AttrString, "\xed\xa0\x80", "", ErrBadValue}, // a surrogate is invalid UTF-8
		{AttrNumber, "42", `42`, nil},
		{AttrNumber, " -0.50 ", `-0.50`, nil},
		{AttrNumber, "1e-3", `1e-3`, nil},
		{AttrNumber, "+1", `1`, nil},
		{AttrNumber, ".5", `0.5`, nil},
		{AttrNumber, "007", `7`, nil},
		{AttrNumber, "1e21", `1e21`, nil},
		{AttrNumber, "Inf", "", ErrBadValue},
		{AttrNumber, "-infinity", "", ErrBadValue},
		{AttrNumber, "nan", "", ErrBadValue},
		{AttrNumber, "0x1p3", "", ErrBadValue},
		{AttrNumber, "1_000", "", ErrBadValue},
		{AttrNumber, "1e400", "", ErrBadValue},
		{AttrNumber, "", "", ErrBadValue},
		{AttrBoolean, "TRUE", `true`, nil},
		{AttrBoolean, "false", `false`, nil},
		{AttrBoolean, "Yes", `true`, nil},
		{AttrBoolean, "no", `false`, nil},
		{AttrBoolean, "1", `true`, nil},
		{AttrBoolean, "0", `false`, nil},
		{AttrBoolean, "2", "", ErrBadValue},
		{AttrBoolean, "y", "", ErrBadValue},
		{AttrTime, "2024-01-31", `"2024-01-31T00:00:00Z"`, nil},
		{AttrTime, "2024-01-31T10:11:12Z", `"2024-01-31T10:11:12Z"`, nil},
		{AttrTime, "2024-01-31T10:11:12.123456789-05:30", `"2024-01-31T10:11:12.123456789-05:30"`, nil},
		{AttrTime, "2024-02-30", "", ErrBadValue},
		{AttrTime, "2024-1-31", "", ErrBadValue},
		{AttrTime, "31/01/2024", "", ErrBadValue},
		{AttrTime, "2024-01-31 10:11:12", "", ErrBadValue},
		{AttrList, "a|b|c", `["a","b","c"]`, nil},
		{AttrList, "|a||b |", `["a","b "]`, nil},
		{AttrList, "single", `["single"]`, nil},
		{AttrList, `["a","b|c"]`, `["a","b|c"]`, nil},
		{AttrList, ` [ ] `, `[ ]`, nil},
		{AttrList, `["a",1]`, "", ErrBadValue},
		{AttrList, `["a"`, "", ErrBadValue},
		{AttrList, "a|\xff", "", ErrBadValue},
	}
	for _, tc := range tests {
		t.Run(tc.typ.String()+"/"+tc.in, func(t *testing.T) {
			prefix := []byte("pre:")
			got, err := AppendValue(prefix, tc.typ, tc.in)
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
	for in, want := range map[string]AttrType{
		"string": AttrString, "NUMBER": AttrNumber, "boolean": AttrBoolean, "time": AttrTime,
		"list": AttrList, "(list string)": AttrList,
	} {
		got, err := ParseAttrType(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := ParseAttrType("(list number)")
	assert.ErrorIs(t, err, ErrBadColumn)
}

func TestAppendValueAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	for _, tc := range []struct {
		typ AttrType
		s   string
	}{{AttrString, "hello \"world\""}, {AttrNumber, "12.5"}, {AttrBoolean, "yes"}, {AttrList, "a|b|c"}, {AttrTime, "2024-01-31"}} {
		n := testing.AllocsPerRun(100, func() {
			_, _ = AppendValue(buf[:0], tc.typ, tc.s)
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
