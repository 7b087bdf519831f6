package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/blob"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/state"
	"github.com/talonsync/talonsync/internal/talon"
)

// Tests of the objects of a --state in object storage, in process,
// against the fake S3: the claim, the segments, the commit, and what is
// left after a run dies.

const unitState = "s3://bkt/u/s.state"

// openBucketState opens unitState as a sync run does, with its own
// uploader (not started: tests call its rounds).
func openBucketState(t *testing.T) (*incremental, *uploader, error) {
	t.Helper()
	streams, _, _ := TestIO("")
	e := &env{io: streams, log: newLogger(streams.ErrOut, "text", false), getenv: func(string) string { return "" }}
	o := e.newSyncOptions(readers.EntityCatalog)
	o.State, o.CatalogID, o.BaseURL = unitState, 1, "https://x.talon.one"
	o.UploadInterval = time.Millisecond // no waiting for a killed owner
	up := &uploader{store: o.blobs(), interval: time.Hour, log: o.log(), stop: func(error) {}}
	inc, err := o.openState(t.Context(), up)
	if inc != nil {
		t.Cleanup(inc.close)
	}
	return inc, up, err
}

// confirm records keys as confirmed at value v in inc's run.
func confirm(t *testing.T, inc *incremental, v string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		require.NoError(t, inc.file.Confirm(k, val(k, v), false))
	}
}

// val is the state Value of key's item with JSON v.
func val(key, v string) state.Value {
	return state.ValueOf(key, talon.Item{Key: key, Type: talon.ActionAdd, JSON: []byte(v)})
}

// commitBucket commits inc's run as finish does.
func commitBucket(t *testing.T, inc *incremental) {
	t.Helper()
	require.NoError(t, inc.file.Commit(state.RunInfo{Run: inc.run, Complete: true}, true))
	require.NoError(t, inc.bucket.commit(t.Context()))
}

func (s *s3Server) puts(key string) int {
	n := 0
	for _, r := range s.requests() {
		if r.Method == "PUT" && r.Key == key {
			n++
		}
	}
	return n
}

// TestStateBucketClaimRace: two runs that read the same (absent) state
// both get ready; the first claim creates the manifest and the second's
// fails its precondition: exit 2, and that run leaves nothing behind.
func TestStateBucketClaimRace(t *testing.T) {
	s3 := startS3(t)
	setS3Env(t, s3)
	store := blob.New(blob.Options{})
	sb, err := openStateBucket(t.Context(), store, unitState, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer sb.cleanup()
	a, _, err := openBucketState(t)
	require.NoError(t, err)
	f, err := state.OpenFile(sb.path, state.Options{})
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Bind(a.o.stateIdentity()))
	_, err = f.Begin()
	require.NoError(t, err)
	require.NoError(t, sb.attach(f))

	// sb read no manifest; a created one since.
	err = sb.claim(t.Context())
	require.ErrorIs(t, err, errLostOwnership)
	assert.Equal(t, exitUsage, exitCode(err))
	assert.ErrorContains(t, err, "state "+unitState+": another run owns it now")
	assert.ErrorIs(t, sb.push(t.Context(), true), errLostOwnership, "sticky")
	m, ok := s3.manifest(t, "u/s.state")
	require.True(t, ok)
	assert.Equal(t, a.bucket.token, m.Owner)
	assert.Equal(t, []string{"u/s.state"}, s3.keys(t, "u/"), "the loser wrote nothing")
}

// TestStateBucketLifecycle: the claim, pushes of the journal's new bytes
// as segments, the commit; then a run killed after some pushes, and the
// next run, which replays its segments, uploads the replayed snapshot
// before its claim, and deletes what the dead run left.
func TestStateBucketLifecycle(t *testing.T) {
	s3 := startS3(t)
	setS3Env(t, s3)

	a, _, err := openBucketState(t)
	require.NoError(t, err)
	m, _ := s3.manifest(t, "u/s.state")
	assert.Equal(t, a.bucket.token, m.Owner, "claimed")
	assert.Empty(t, m.Journal)
	require.NoError(t, a.bucket.push(t.Context(), false))
	assert.Equal(t, []string{"u/s.state"}, s3.keys(t, "u/"), "a journal of its header alone is not uploaded")
	confirm(t, a, "1", "A", "B", "C")
	require.NoError(t, a.bucket.push(t.Context(), false))
	m, _ = s3.manifest(t, "u/s.state")
	require.Equal(t, []string{fmt.Sprintf("s.state.journal.%s.0", a.bucket.token)}, m.Journal)
	writes := s3.puts("u/s.state")
	require.NoError(t, a.bucket.push(t.Context(), false))
	assert.Equal(t, writes, s3.puts("u/s.state"), "nothing new, no stamp: no write")
	require.NoError(t, a.bucket.saveRound(t.Context(), false))
	assert.Equal(t, writes+1, s3.puts("u/s.state"), "a round stamps the manifest")
	commitBucket(t, a)
	m, _ = s3.manifest(t, "u/s.state")
	assert.Empty(t, m.Owner, "released")
	assert.Empty(t, m.Journal)
	assert.Equal(t, fmt.Sprintf("s.state.snapshot.%s.%d", a.bucket.token, snapshotAtCommit), m.Snapshot)
	assert.JSONEq(t, string(m.LastRun), string(must(os.ReadFile(state.LastRunPath(a.bucket.path)))))
	assert.Equal(t, []string{"u/s.state", "u/" + m.Snapshot}, s3.keys(t, "u/"), "the segment is deleted")

	// Run b: A is invalidated and pushed, B confirmed at 2 and pushed, C
	// confirmed at 2 and only flushed locally; then b dies.
	b, _, err := openBucketState(t)
	require.NoError(t, err)
	require.Equal(t, state.KeyChanged, b.file.Compare("A", val("A", "2"), time.Time{}))
	require.NoError(t, b.invalidate("A"))
	confirm(t, b, "2", "B")
	require.NoError(t, b.bucket.push(t.Context(), false))
	confirm(t, b, "2", "C")
	require.NoError(t, b.file.Flush())
	dead := b.bucket.token
	m, _ = s3.manifest(t, "u/s.state")
	require.Len(t, m.Journal, 2)
	// A segment uploaded and a snapshot written just before the death,
	// which no manifest names.
	s3.put(t, "u/"+stateObjects{unitState}.segment(dead, 2), []byte("cut"))
	s3.put(t, "u/"+stateObjects{unitState}.snapshot(dead, snapshotAtCommit), []byte("orphan"))
	b.bucket.journal.Close()
	deadDir := b.bucket.dir
	t.Cleanup(func() { os.RemoveAll(deadDir) })
	b.bucket = nil // killed: no release, no commit

	c, _, err := openBucketState(t)
	require.NoError(t, err)
	m, _ = s3.manifest(t, "u/s.state")
	assert.Equal(t, c.bucket.token, m.Owner)
	assert.Empty(t, m.Journal, "the dead run's segments are in the replayed snapshot")
	assert.Equal(t, fmt.Sprintf("s.state.snapshot.%s.%d", c.bucket.token, snapshotAtClaim), m.Snapshot, "uploaded before the claim")
	assert.Equal(t, []string{"u/s.state", "u/" + m.Snapshot}, s3.keys(t, "u/"), "what the dead run left is deleted")
	entries := s3.stateEntries(t, "u/s.state")
	assert.Equal(t, state.Value(0), entries["A"].Value, "A's invalidation was pushed")
	assert.Equal(t, val("B", "2"), entries["B"].Value, "B's confirmation was pushed")
	assert.Equal(t, val("C", "1"), entries["C"].Value, "C's was not: sent again")
	assert.Equal(t, state.KeyChanged, c.file.Compare("A", val("A", "1"), time.Time{}), "a feed that reverts A sends it")
	commitBucket(t, c)
}

// TestStateBucketLost: a run whose manifest another run wrote stops at
// its next push or round: the uploader stops the run with
// errLostOwnership, and nothing more is written, not at the end either.
func TestStateBucketLost(t *testing.T) {
	s3 := startS3(t)
	setS3Env(t, s3)
	first, _, err := openBucketState(t)
	require.NoError(t, err)
	confirm(t, first, "1", "A")
	commitBucket(t, first)
	a, up, err := openBucketState(t)
	require.NoError(t, err)
	var stopped error
	up.stop = func(err error) { stopped = err }
	confirm(t, a, "1", "B")
	require.NoError(t, up.upload(t.Context(), false))
	s3.put(t, "u/s.state", []byte(`{"version":1,"owner":"other","updated_at":"2026-01-01T00:00:00Z","writes":9}`))
	n := len(s3.requests())

	require.Equal(t, state.KeyChanged, a.file.Compare("A", val("A", "2"), time.Time{}))
	err = a.invalidate("A")
	require.ErrorIs(t, err, errLostOwnership, "netsource stops before it sends A")
	assert.Equal(t, exitUsage, exitCode(err))
	err = up.upload(t.Context(), false)
	require.ErrorIs(t, err, errLostOwnership)
	assert.ErrorIs(t, stopped, errLostOwnership, "the run is stopped")
	require.NoError(t, a.file.Commit(state.RunInfo{}, false))
	assert.ErrorIs(t, a.bucket.commit(t.Context()), errLostOwnership)
	a.close()
	var puts []string
	for _, r := range s3.requests()[n:] {
		if r.Method == "PUT" && r.Key == "u/s.state" {
			puts = append(puts, r.Key)
		}
	}
	assert.Len(t, puts, 1, "the one write that found the other run's manifest, none after")
	m, _ := s3.manifest(t, "u/s.state")
	assert.Equal(t, "other", m.Owner)
}

// TestStateBucketPlainSnapshot: a local state file copied to the
// location as it is becomes the state: the first run moves the snapshot
// to a snapshot object and writes the manifest there.
func TestStateBucketPlainSnapshot(t *testing.T) {
	s3 := startS3(t)
	setS3Env(t, s3)
	local := filepath.Join(t.TempDir(), "local.state")
	f, err := state.OpenFile(local, state.Options{})
	require.NoError(t, err)
	require.NoError(t, f.Bind(state.Identity{BaseURL: "https://x.talon.one", Entity: "catalog", CatalogID: 1}))
	_, err = f.Begin()
	require.NoError(t, err)
	require.NoError(t, f.Confirm("A", val("A", "1"), false))
	require.NoError(t, f.Commit(state.RunInfo{}, true))
	require.NoError(t, f.Close())
	s3.put(t, "u/s.state", must(os.ReadFile(local)))

	a, _, err := openBucketState(t)
	require.NoError(t, err)
	assert.Equal(t, state.KeyUnchanged, a.file.Compare("A", val("A", "1"), time.Time{}))
	m, ok := s3.manifest(t, "u/s.state")
	require.True(t, ok)
	assert.Equal(t, a.bucket.token, m.Owner)
	assert.Contains(t, s3.keys(t, "u/"), "u/"+m.Snapshot)
	assert.Contains(t, s3.stateEntries(t, "u/s.state"), "A")
}

func TestStateBucketBadManifest(t *testing.T) {
	for _, tc := range []struct {
		name, manifest, err string
	}{
		{name: "a foreign snapshot", manifest: `{"version":1,"snapshot":"other.state"}`, err: `names "other.state" as its snapshot`},
		{name: "a segment elsewhere", manifest: `{"version":1,"journal":["s.state.journal.x.0/../../y"]}`, err: "as a journal segment"},
		{name: "a later version", manifest: `{"version":2}`, err: "manifest version 2"},
		{name: "not JSON", manifest: `{"version":`, err: "its manifest"},
		{name: "a missing snapshot", manifest: `{"version":1,"snapshot":"s.state.snapshot.x.0"}`, err: "changed while it was read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s3 := startS3(t)
			setS3Env(t, s3)
			s3.put(t, "u/s.state", []byte(tc.manifest))
			_, _, err := openBucketState(t)
			assert.ErrorContains(t, err, tc.err)
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
