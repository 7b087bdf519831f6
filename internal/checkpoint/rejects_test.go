package checkpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenRejectsTruncatesToCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	require.NoError(t, os.WriteFile(path, []byte("{\"line\":1}\n{\"line\":2}\n"), 0o600))
	rf, err := OpenRejects(path, 11)
	require.NoError(t, err)
	require.NoError(t, rf.Write(Reject{Line: 3, Error: "x"}))
	require.NoError(t, rf.Close(false))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "{\"line\":1}\n{\"line\":3,\"error\":\"x\"}\n", string(b), "the reject written after the checkpoint is dropped, then written once")

	_, err = OpenRejects(path, 1000)
	assert.Error(t, err, "a rejects file shorter than the checkpoint says was tampered with")
}

func TestSkipper(t *testing.T) {
	p := Progress{Done: []byte{0b00011100, 0b00000001}} // rows 2, 3, 4 and 8
	skip := p.Skipper()
	var got []int64
	for row := int64(0); row < 12; row++ {
		if skip(100 + row) {
			got = append(got, row)
		}
	}
	assert.Equal(t, []int64{2, 3, 4, 8}, got)
}

func TestSortRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	in := `{"line":9,"error":"line 9: api 400"}` + "\n" +
		`{"line":3,"error":"line 3: bad value"}` + "\n" +
		`{"line":0,"error":"api 400 (a removal)"}` + "\n" +
		`{"line":9,"error":"second reject of line 9"}` + "\n" +
		`{"line":5,"error":"line 5: bad value"}` + "\n"
	require.NoError(t, os.WriteFile(path, []byte(in), 0o600))
	sorted, err := SortRejects(path, 1<<20)
	require.NoError(t, err)
	assert.True(t, sorted)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, `{"line":3,"error":"line 3: bad value"}`+"\n"+
		`{"line":5,"error":"line 5: bad value"}`+"\n"+
		`{"line":9,"error":"line 9: api 400"}`+"\n"+
		`{"line":9,"error":"second reject of line 9"}`+"\n"+
		`{"line":0,"error":"api 400 (a removal)"}`+"\n", string(b))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	sorted, err = SortRejects(path, 10)
	require.NoError(t, err)
	assert.False(t, sorted, "a file over the limit is left as it is")
}

// TestRejectsOrigin: every line carries the file's origin and its own
// source, and reads back with ParseReject; a reject with an origin of its
// own keeps it.
func TestRejectsOrigin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	rf, err := OpenRejects(path, 0)
	require.NoError(t, err)
	o := Origin{Entity: "catalog", CatalogID: 42, Input: "items.csv", Format: "csv"}
	rf.SetOrigin(o)
	api := Reject{Line: 3, Error: "line 3: api 400: unknown attribute", Record: json.RawMessage(`{"type":"ADD","payload":{"sku":"a"}}`), Source: SourceAPI}
	input := Reject{Line: 4, Error: `line 4: column "price": bad value`, Record: json.RawMessage(`{"sku":"b","price":"x"}`), Source: SourceInput}
	own := Reject{Line: 9, Error: "e", Source: SourceAPI, Origin: Origin{Entity: "catalog", CatalogID: 7}}
	for _, r := range []Reject{api, input, own} {
		require.NoError(t, rf.Write(r))
	}
	require.NoError(t, rf.Close(false))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Len(t, lines, 3, "one reject per line")
	assert.Equal(t, `{"line":3,"error":"line 3: api 400: unknown attribute","record":{"type":"ADD","payload":{"sku":"a"}},"source":"api","entity":"catalog","catalog_id":42,"input":"items.csv","format":"csv"}`, lines[0],
		"the fields of the old format come first, unchanged")
	api.Origin, input.Origin = o, o
	for i, want := range []Reject{api, input, own} {
		got, err := ParseReject([]byte(lines[i]))
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

func TestParseReject(t *testing.T) {
	tests := []struct {
		name, line string
		want       Reject
		wantErr    string
	}{
		{name: "old format", line: `{"line":7,"error":"bad","record":{"a":1}}`, want: Reject{Line: 7, Error: "bad", Record: json.RawMessage(`{"a":1}`)}},
		{name: "record as a string", line: `{"line":7,"error":"bad","record":"x,\"y"}`, want: Reject{Line: 7, Error: "bad", Record: json.RawMessage(`"x,\"y"`)}},
		{name: "record null", line: `{"line":7,"error":"bad","record":null}`, want: Reject{Line: 7, Error: "bad"}},
		{name: "a removal of --prune", line: `{"line":0,"error":"e","source":"api"}`, want: Reject{Error: "e", Source: SourceAPI}},
		{name: "unknown fields are ignored", line: `{"line":1,"error":"e","later":true}`, want: Reject{Line: 1, Error: "e"}},
		{name: "not JSON", line: `line 1: bad`, wantErr: "invalid character"},
		{name: "an array", line: `[1]`, wantErr: "cannot unmarshal"},
		{name: "two values", line: `{"line":1,"error":"e"} {}`, wantErr: "after top-level value"},
		{name: "no line", line: `{"error":"e"}`, wantErr: `no "line"`},
		{name: "negative line", line: `{"line":-1,"error":"e"}`, wantErr: "negative"},
		{name: "line not an integer", line: `{"line":1.5,"error":"e"}`, wantErr: "cannot unmarshal"},
		{name: "no error", line: `{"line":1}`, wantErr: `no "error"`},
		{name: "unknown source", line: `{"line":1,"error":"e","source":"db"}`, wantErr: `"source" "db"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseReject([]byte(tc.line))
			if tc.wantErr != "" {
				assert.ErrorIs(t, err, ErrNotReject)
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func BenchmarkParseReject(b *testing.B) {
	line := []byte(`{"line":12,"error":"line 12: api 400: unknown attribute: profiles attribute \"Tier\" does not exist; create it first (attributes/Tier)","record":{"integrationId":"p12","attributes":{"Name":"Name 12","Tier":"gold","Age":12}},"source":"api","entity":"profiles","input":"p.csv","format":"csv"}`)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := ParseReject(line); err != nil {
			b.Fatal(err)
		}
	}
}
