package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
)

// openReplay opens the replay source of the rejects file at path.
func openReplay(t *testing.T, path string, entity readers.Entity, audienceID int64) *replaySource {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	q := &replayQueue{}
	in, err := readers.Open("-", &replayStream{f: f, br: bufio.NewReader(f), path: path, queue: q, audienceID: audienceID})
	require.NoError(t, err)
	rd, err := readers.NewReader(in, readers.Options{Entity: entity, Format: readers.FormatJSONL})
	require.NoError(t, err)
	return &replaySource{rd: rd, queue: q, path: path}
}

// TestReplaySourceInStep: over a large file of API rejects, input rejects
// and blank lines, every row comes out in file order with its input line,
// and the queue between the stream and the source stays small.
func TestReplaySourceInStep(t *testing.T) {
	const n = 20000
	var b strings.Builder
	for i := range n {
		switch {
		case i%7 == 3:
			fmt.Fprintf(&b, `{"line":%d,"error":"line %d: bad","record":{"integrationId":"x%d","Age":"?"},"source":"input","entity":"profiles"}`+"\n", 10+i, 10+i, i)
		case i%11 == 5:
			b.WriteString("\n")
		default:
			fmt.Fprintf(&b, `{"line":%d,"error":"line %d: api 400: x","record":{"integrationId":"p%d","attributes":{"A":%d}},"source":"api","entity":"profiles"}`+"\n", 10+i, 10+i, i, i)
		}
	}
	path := filepath.Join(t.TempDir(), "big.rejects.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	src := openReplay(t, path, readers.EntityProfiles, 0)
	maxQueue, rows := 0, 0
	for i := 0; i < n; i++ {
		if i%11 == 5 && i%7 != 3 {
			continue
		}
		row, err := src.Next()
		require.NoError(t, err, "row of rejects line %d", i+1)
		maxQueue = max(maxQueue, len(src.queue.q))
		rows++
		require.Equal(t, int64(10+i), row.Line)
		if i%7 == 3 {
			require.Error(t, row.Err)
			assert.Equal(t, fmt.Sprintf("line %d: bad", 10+i), row.Err.Error(), "the reason as it was")
			assert.Equal(t, checkpoint.SourceInput, sourceOfErr(row.Err))
			continue
		}
		require.NoError(t, row.Err)
		require.Equal(t, fmt.Sprintf("p%d", i), row.Item.Key)
		require.JSONEq(t, fmt.Sprintf(`{"integrationId":"p%d","attributes":{"A":%d}}`, i, i), string(row.Item.JSON))
	}
	_, err := src.Next()
	assert.ErrorIs(t, err, io.EOF)
	// The reader's 64 KiB buffer would hold some 1500 of these lines if a
	// Read could fill it.
	assert.LessOrEqual(t, maxQueue, 128, "the queue holds at most what the reader took ahead")
	assert.Greater(t, rows, n/2)
}

// sourceOfErr is the reject source the batch package gives a row error.
func sourceOfErr(err error) string {
	var se interface{ RejectSource() string }
	if errors.As(err, &se) {
		return se.RejectSource()
	}
	return checkpoint.SourceInput
}

func TestReplaySourceAudienceOverride(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.rejects.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(
		`{"line":2,"error":"e","record":{"action":"delete","profileIntegrationId":"p1","audienceId":7},"source":"api","entity":"audiences"}`+"\n"+
			`{"line":3,"error":"e","record":"not an object","source":"api","entity":"audiences"}`+"\n"), 0o600))
	src := openReplay(t, path, readers.EntityAudiences, 9)
	row, err := src.Next()
	require.NoError(t, err)
	require.NoError(t, row.Err)
	assert.True(t, row.Item.Remove)
	assert.JSONEq(t, `{"action":"delete","profileIntegrationId":"p1","audienceId":9}`, string(row.Item.JSON))
	row, err = src.Next()
	require.NoError(t, err)
	require.Error(t, row.Err)
	assert.Equal(t, checkpoint.SourceAPI, sourceOfErr(row.Err), "a record that fails before it is sent stays an API reject")
	assert.Contains(t, row.Err.Error(), "line 3: ")
	assert.Contains(t, row.Err.Error(), "a.rejects.jsonl:2")
}

// TestReplaySourceFileChanged: a line that is no longer a reject when the
// rows are read (the file changed after the scan) ends the input with an
// error naming it.
func TestReplaySourceFileChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.rejects.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(`{"line":2,"error":"e","record":{"integrationId":"p1"},"source":"api"}`+"\ngarbage\n"), 0o600))
	src := openReplay(t, path, readers.EntityProfiles, 0)
	var err error
	for range 3 {
		if _, err = src.Next(); err != nil {
			break
		}
	}
	assert.ErrorContains(t, err, "p.rejects.jsonl:2 changed while it was retried")
}
