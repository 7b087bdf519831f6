package batch

import (
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/checkpoint"
)

// TestRunCheckpointHooks: with Write set, every checkpoint goes to it and
// no file is written at Path; Fill sees each record after the progress is
// in it and what it adds is written.
func TestRunCheckpointHooks(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	path := filepath.Join(t.TempDir(), "run.ckpt")
	var mu sync.Mutex
	var writes [][]byte
	var filled []int64 // the delivered count each Fill saw
	res := runAgainst(t, ok, profileRows(500), func(c *Config) {
		c.Lanes, c.BatchSize = 2, 50
		c.Checkpoint = &Checkpointing{Path: path, Complete: true, Record: checkpoint.Record{RunID: "r1"},
			Fill: func(r *checkpoint.Record) {
				mu.Lock()
				defer mu.Unlock()
				filled = append(filled, r.Counts.Delivered)
				r.OtherShards = int64(len(filled))
			},
			Write: func(b []byte) error {
				mu.Lock()
				defer mu.Unlock()
				writes = append(writes, append([]byte(nil), b...))
				return nil
			}}
	})
	require.NoError(t, res.err)
	_, err := os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "Write replaces the local file")
	require.NotEmpty(t, writes)
	require.Len(t, filled, len(writes), "Fill before every write")
	last, err := checkpoint.Decode("last", writes[len(writes)-1])
	require.NoError(t, err)
	assert.True(t, last.Completed)
	assert.Equal(t, int64(500), last.Counts.Delivered)
	assert.Equal(t, int64(500), filled[len(filled)-1], "Fill sees the progress and counts of the write")
	assert.Equal(t, int64(len(writes)), last.OtherShards, "what Fill adds is written")
}
