package checkpoint

import (
	"os"
	"path/filepath"
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
