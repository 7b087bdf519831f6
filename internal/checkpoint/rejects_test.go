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
