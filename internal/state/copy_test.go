package state

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// copyJournal appends the bytes of the run's journal from off to n (what
// Flushed answered) to dst, as a state in object storage uploads them as
// a segment, and returns n.
func copyJournal(t *testing.T, f *File, dst string, off int64) int64 {
	t.Helper()
	n, err := f.Flushed()
	require.NoError(t, err)
	src, err := os.Open(JournalPath(f.Path()))
	require.NoError(t, err)
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	require.NoError(t, err)
	defer out.Close()
	_, err = io.Copy(out, io.NewSectionReader(src, off, n-off))
	require.NoError(t, err)
	return n
}

// TestJournalCopy: a copy of the snapshot and of the journal as far as
// Flushed said, laid out with JournalPath and LastRunPath, is the state a
// killed run leaves: OpenFile replays it. Confirmations after the last
// copy are lost (a re-send), invalidations before it are kept.
func TestJournalCopy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	c := &clock{t: time.Now()}
	f := openW(t, path, c)
	require.NoError(t, f.Bind(testID))
	_, err := f.Begin()
	require.NoError(t, err)
	for _, k := range []string{"A", "B", "C", "D"} {
		require.NoError(t, f.Confirm(k, val(k, "1"), false))
	}
	require.NoError(t, f.Commit(RunInfo{Run: 1}, true))

	// The copy: the snapshot and last-run file as they are now.
	cp := filepath.Join(t.TempDir(), "copy")
	for src, dst := range map[string]string{path: cp, LastRunPath(path): LastRunPath(cp)} {
		b, err := os.ReadFile(src)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(dst, b, 0o600))
	}

	_, err = f.Begin()
	require.NoError(t, err)
	off := copyJournal(t, f, JournalPath(cp), 0) // the header
	require.Equal(t, KeyChanged, f.Compare("A", val("A", "2"), time.Time{}))
	require.Equal(t, KeyChanged, f.Compare("B", val("B", "2"), time.Time{}))
	require.NoError(t, f.Invalidate("A", "B"))
	require.NoError(t, f.Confirm("B", val("B", "2"), false))
	off = copyJournal(t, f, JournalPath(cp), off)
	require.NoError(t, f.Confirm("C", val("C", "9"), false))
	n, err := f.Flushed()
	require.NoError(t, err)
	assert.Greater(t, n, off, "the confirmation of C is in the journal, not in the copy")

	g, err := OpenFile(cp, Options{Now: c.now})
	require.NoError(t, err)
	defer g.Close()
	got := dump(t, g)
	assert.Equal(t, Value(0), got["A"].Value, "A was invalidated before the copy: unknown")
	assert.Equal(t, val("B", "2"), got["B"].Value, "B's confirmation was copied")
	assert.Equal(t, val("C", "1"), got["C"].Value, "C's confirmation was not: the old value, which the next run sends again")
	assert.Equal(t, val("D", "1"), got["D"].Value)
	_, err = g.Begin()
	require.NoError(t, err)
	assert.Equal(t, KeyChanged, g.Compare("A", val("A", "1"), time.Time{}), "a feed that reverts A is sent")

	require.NoError(t, f.Commit(RunInfo{Run: 2}, true))
	_, err = f.Flushed()
	assert.ErrorIs(t, err, errNoRun)
}

// TestJournalCopyCutMidChunk: a copy that ends inside a chunk (a segment
// uploaded while a chunk was half written elsewhere, or cut short) is
// read up to the last whole chunk.
func TestJournalCopyCutMidChunk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	c := &clock{t: time.Now()}
	f := openW(t, path, c)
	require.NoError(t, f.Bind(testID))
	_, err := f.Begin()
	require.NoError(t, err)
	require.NoError(t, f.Confirm("A", val("A", "1"), false))
	a, err := f.Flushed()
	require.NoError(t, err)
	require.NoError(t, f.Confirm("B", val("B", "1"), false))
	b, err := f.Flushed()
	require.NoError(t, err)
	whole, err := os.ReadFile(JournalPath(path))
	require.NoError(t, err)

	cp := filepath.Join(t.TempDir(), "copy")
	require.NoError(t, os.WriteFile(JournalPath(cp), whole[:a+(b-a)/2], 0o600))
	g, err := OpenFile(cp, Options{Now: c.now})
	require.NoError(t, err)
	defer g.Close()
	got := dump(t, g)
	assert.Equal(t, val("A", "1"), got["A"].Value)
	assert.NotContains(t, got, "B", "B's chunk was cut")
}

func TestShardIdentity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	c := &clock{t: time.Now()}
	f := openW(t, path, c)
	shard0 := testID
	shard0.Shard = "0/4"
	require.NoError(t, f.Bind(shard0))
	_, err := f.Begin()
	require.NoError(t, err)
	require.NoError(t, f.Commit(RunInfo{}, true))
	require.NoError(t, f.Close())

	for _, tc := range []struct {
		name, shard, msg string
	}{
		{name: "another shard", shard: "1/4", msg: "it records shard 0/4, this run uses 1/4"},
		{name: "another count", shard: "0/2", msg: "it records shard 0/4, this run uses 0/2"},
		{name: "unsharded", shard: "", msg: "it records shard 0/4, this run uses none (unsharded)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := openW(t, path, c)
			id := testID
			id.Shard = tc.shard
			err := f.Bind(id)
			assert.ErrorIs(t, err, ErrMismatch)
			assert.ErrorContains(t, err, tc.msg)
			require.NoError(t, f.Close())
		})
	}
	f = openW(t, path, c)
	assert.NoError(t, f.Bind(shard0), "the same shard")
}
