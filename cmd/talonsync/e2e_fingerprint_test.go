package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// End-to-end tests of the input's identity (issue 11): a checkpoint skips
// or resumes only an input whose bytes are the ones it was written for,
// also when an edit keeps the size, the head and the tail.

// nightlyCatalog is a catalog feed of n rows of 75 bytes, every price
// 10.90. What the 300,000-row file shows, an edit that keeps the
// size, the first MiB and the last, needs only a file of more than 2 MiB:
// 40,000 rows keep the emulator's share of the test short.
func nightlyCatalog(n int) []byte {
	var b bytes.Buffer
	b.WriteString("sku,price,product\n")
	for i := range n {
		fmt.Fprintf(&b, "sku-%07d,10.90,Product %07d of the nightly catalog export\n", i, i)
	}
	return b.Bytes()
}

// editPrice changes the price of row i from 10.90 to 99.99: the same size.
func editPrice(t *testing.T, data []byte, i int) []byte {
	t.Helper()
	row := fmt.Sprintf("sku-%07d,10.90,", i)
	at := bytes.Index(data, []byte(row))
	require.GreaterOrEqual(t, at, 0)
	out := bytes.Clone(data)
	copy(out[at:], fmt.Sprintf("sku-%07d,99.99,", i))
	require.Len(t, out, len(data))
	return out
}

func catalogPrice(t *testing.T, srv *emulator.Server, sku string) float64 {
	t.Helper()
	it, ok := srv.State().Catalogs[1][sku]
	require.True(t, ok, "%s is in the catalog", sku)
	require.NotNil(t, it.Price)
	return *it.Price
}

// TestSameSizeEditOfACompletedFeed is the case of issue 11: a nightly
// catalog is synced with --checkpoint, then one price in
// the middle changes without changing the file's size, head or tail, and
// the same command runs again. It must send the file again, not say
// "nothing to do".
func TestSameSizeEditOfACompletedFeed(t *testing.T) {
	t.Parallel()
	const rows = 40_000
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	feed := nightlyCatalog(rows)
	input := writeFile(t, dir, "catalog.csv", string(feed))
	ckpt := filepath.Join(dir, "catalog.ckpt")
	c := cli{args: []string{"catalog", "--catalog-id", "1", "--checkpoint", ckpt, "--progress", "never", input}}

	res := runCLI(t, srv.URL(), testKey, c)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	cp, err := checkpoint.Read(ckpt)
	require.NoError(t, err)
	require.True(t, cp.Completed)
	assert.True(t, cp.Input.Whole(), "a completed run records the hash of the whole input")

	edited := editPrice(t, feed, rows/2)
	require.Equal(t, feed[:1<<20], edited[:1<<20], "the same head")
	require.Equal(t, feed[len(feed)-1<<20:], edited[len(edited)-1<<20:], "the same tail")
	require.NoError(t, os.WriteFile(input, edited, 0o600))
	before := srv.Stats().ItemsApplied

	res = runCLI(t, srv.URL(), testKey, c)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.NotContains(t, res.Stderr, "nothing to do")
	assert.Contains(t, res.Stderr, "the content differs: starting a new run")
	assert.Equal(t, 99.99, catalogPrice(t, srv, fmt.Sprintf("sku-%07d", rows/2)), "the API has the new price")
	assert.Equal(t, int64(rows), srv.Stats().ItemsApplied-before, "the whole feed is sent again")

	// The same bytes again: now there is nothing to do.
	before = srv.Stats().RequestsTotal
	res = runCLI(t, srv.URL(), testKey, c)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "nothing to do")
	assert.Equal(t, before, srv.Stats().RequestsTotal, "nothing is sent for byte-identical input")
}

// TestUnfinishedCheckpointOfAnEditedFile: a run is killed, the file is
// edited before the point it had read to, size kept: the resume is refused
// (exit 2) before anything is sent, and --restart sends the new content.
func TestUnfinishedCheckpointOfAnEditedFile(t *testing.T) {
	t.Parallel()
	feed, edited, c, srv, dir := killedHalfway(t, false)
	input := filepath.Join(dir, "catalog.csv")
	require.NoError(t, os.WriteFile(input, edited, 0o600))
	before := srv.Stats().RequestsTotal
	res := runCLI(t, srv.URL(), testKey, c)
	assert.Equal(t, exitUsage, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "are not the ones the checkpointed run read")
	assert.Contains(t, res.Stderr, "--restart")
	assert.Equal(t, before, srv.Stats().RequestsTotal, "refused before anything is sent")

	srv.SetFaults(emulator.Faults{})
	c.args = append([]string{c.args[0], "--restart"}, c.args[1:]...)
	res = runCLI(t, srv.URL(), testKey, c)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.Equal(t, 99.99, catalogPrice(t, srv, fmt.Sprintf("sku-%07d", editedRow)))
	_ = feed
}

// editedRow is the row killedHalfway's edit changes: past the first MiB
// (the cheap head), before the last (the tail), and before the row the
// killed run had read to.
const editedRow = 20_000

// killedHalfway syncs a catalog of 60,000 rows (4.5 MB) from a file or
// from stdin, SIGKILLs the run once 30,000 items are applied, and returns
// the feed, an edit of it at editedRow of the same size, head and tail,
// the command, the emulator and the directory (the file is catalog.csv).
func killedHalfway(t *testing.T, stdin bool) (feed, edited []byte, c cli, srv *emulator.Server, dir string) {
	t.Helper()
	const rows = 60_000
	srv = startEmulator(t, emulator.Options{Faults: emulator.Faults{Latency: 20 * time.Millisecond}})
	dir = t.TempDir()
	feed = nightlyCatalog(rows)
	input := writeFile(t, dir, "catalog.csv", string(feed))
	ckpt := filepath.Join(dir, "catalog.ckpt")
	c = cli{args: []string{"catalog", "--catalog-id", "1", "--checkpoint", ckpt, "--batch-size", "1000", "--workers", "2", "--progress", "never", input}, dir: dir}
	if stdin {
		c.args[len(c.args)-1] = "-"
		c.args = append(c.args[:len(c.args)-1], "--format", "csv", "-")
		c.stdin = feed
	}
	p := startCLI(t, srv.URL(), c)
	p.killWhen(t, srv, "30,000 items applied", func(s emulator.Stats) bool { return s.ItemsApplied >= 30_000 })
	cp, err := checkpoint.Read(ckpt)
	require.NoError(t, err)
	require.False(t, cp.Completed)
	edited = editPrice(t, feed, editedRow)
	require.Equal(t, feed[:1<<20], edited[:1<<20], "the same head")
	require.Equal(t, feed[len(feed)-1<<20:], edited[len(edited)-1<<20:], "the same tail")
	at := bytes.Index(feed, []byte(fmt.Sprintf("sku-%07d,", editedRow)))
	require.Less(t, int64(at), cp.Input.Hashed, "the edit is inside the bytes the killed run read")
	require.Less(t, int64(at), cp.Progress.Resume.Offset, "and before its resume point: its rows were sent")
	return feed, edited, c, srv, dir
}

// TestStdinAndACompletedCheckpoint: stdin cannot be proven identical before
// it is read, so a completed checkpoint never skips it: the stream is sent
// again and the run says why.
func TestStdinAndACompletedCheckpoint(t *testing.T) {
	t.Parallel()
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	feed := nightlyCatalog(2000)
	ckpt := filepath.Join(dir, "stdin.ckpt")
	c := cli{args: []string{"catalog", "--catalog-id", "1", "--checkpoint", ckpt, "--format", "csv", "--progress", "never", "-"},
		stdin: feed, dir: dir}
	res := runCLI(t, srv.URL(), testKey, c)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	cp, err := checkpoint.Read(ckpt)
	require.NoError(t, err)
	assert.Equal(t, int64(len(feed)), cp.Input.Hashed, "the stream's hash is recorded as it is read")

	before := srv.Stats().ItemsApplied
	res = runCLI(t, srv.URL(), testKey, c)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "a stream cannot be proven the same")
	assert.Equal(t, int64(2000), srv.Stats().ItemsApplied-before)
}

// TestStdinResumeOfAChangedStream: a stdin run is killed, and the resume is
// fed a stream that differs inside the bytes the first run read. The
// resume fails (exit 2) once it has read them, and its checkpoint keeps
// the first stream's identity, so a rerun fails the same way until
// --restart.
func TestStdinResumeOfAChangedStream(t *testing.T) {
	t.Parallel()
	_, edited, c, srv, dir := killedHalfway(t, true)
	ckpt := filepath.Join(dir, "catalog.ckpt")
	cp, err := checkpoint.Read(ckpt)
	require.NoError(t, err)
	srv.SetFaults(emulator.Faults{})
	c.stdin = edited
	for range 2 {
		res := runCLI(t, srv.URL(), testKey, c)
		assert.Equal(t, exitUsage, res.Code, res.Stderr)
		assert.Contains(t, res.Stderr, "are not the ones the checkpointed run read")
		after, err := checkpoint.Read(ckpt)
		require.NoError(t, err)
		assert.Equal(t, cp.Input.Content, after.Input.Content, "the checkpoint keeps the first stream's identity")
		assert.Equal(t, cp.Input.Hashed, after.Input.Hashed)
	}
	c.args = append([]string{c.args[0], "--restart"}, c.args[1:]...)
	res := runCLI(t, srv.URL(), testKey, c)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.Equal(t, 99.99, catalogPrice(t, srv, fmt.Sprintf("sku-%07d", editedRow)))
}
