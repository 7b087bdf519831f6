package main

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// End-to-end tests of --state in object storage (issue 15): the real
// binary, the real AWS SDK, an in-process S3-compatible server.

const stateKey = "state/feed.state"

// TestS3StateIncremental: a run with its state in the bucket, then the
// same feed again, which sends nothing, then one changed row, which sends
// that key alone. Every run leaves the state released, with no journal
// segments behind. A dry run writes nothing to the bucket.
func TestS3StateIncremental(t *testing.T) {
	t.Parallel()
	s3 := startS3(t)
	srv := startEmulator(t, emulator.Options{History: true})
	dir := t.TempDir()
	feed := genStateFeed(3000)
	in := writeFile(t, dir, "feed1.csv", feed.csv())

	res := runCLI(t, srv.URL(), testKey, stateRun(s3, t, in))
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assertCatalogIs(t, feed, srv.State().Catalogs[1])
	assertReleased := func(t *testing.T) stateManifest {
		t.Helper()
		m, ok := s3.manifest(t, stateKey)
		require.True(t, ok)
		assert.Empty(t, m.Owner, "the run released the state")
		assert.Empty(t, m.Journal, "a committed run leaves no segments")
		assert.NotEmpty(t, m.LastRun)
		assert.Empty(t, s3.keys(t, stateKey+".journal."), "the segments are deleted")
		assert.Equal(t, []string{"state/" + m.Snapshot}, s3.keys(t, stateKey+".snapshot."), "one snapshot, the one the manifest names")
		return m
	}
	first := assertReleased(t)
	entries := s3.stateEntries(t, stateKey)
	assert.Equal(t, feed.skus(), slices.Sorted(maps.Keys(entries)))

	t.Run("the same feed sends nothing", func(t *testing.T) {
		before := srv.Stats().RequestsTotal
		res := runCLI(t, srv.URL(), testKey, stateRun(s3, t, in))
		require.Equal(t, exitOK, res.Code, res.Stderr)
		assert.Equal(t, before, srv.Stats().RequestsTotal)
		assert.Contains(t, res.Stderr, "3000 unchanged")
		m := assertReleased(t)
		assert.Equal(t, first.Snapshot, m.Snapshot, "nothing changed: the snapshot is not uploaded again")
	})

	changed := slices.Clone(feed)
	changed[1234].price = 999
	in2 := writeFile(t, dir, "feed2.csv", changed.csv())

	t.Run("a dry run writes nothing to the bucket", func(t *testing.T) {
		n := len(s3.requests())
		before := srv.Stats().RequestsTotal
		res := runCLI(t, srv.URL(), testKey, stateRun(s3, t, in2, "--dry-run"))
		require.Equal(t, exitOK, res.Code, res.Stderr)
		assert.Equal(t, before, srv.Stats().RequestsTotal)
		for _, r := range s3.requests()[n:] {
			assert.Equal(t, http.MethodGet, r.Method, "%s %s", r.Method, r.Key)
		}
	})

	t.Run("a changed row sends its key alone", func(t *testing.T) {
		before := srv.Stats().ItemsReceived
		res := runCLI(t, srv.URL(), testKey, stateRun(s3, t, in2))
		require.Equal(t, exitOK, res.Code, res.Stderr)
		assert.Equal(t, int64(1), srv.Stats().ItemsReceived-before)
		assert.Len(t, srv.History(emulator.CatalogKey(1, changed[1234].sku)), 2)
		assertCatalogIs(t, changed, srv.State().Catalogs[1])
		m := assertReleased(t)
		assert.NotEqual(t, first.Snapshot, m.Snapshot, "a new snapshot")
		assert.Empty(t, s3.keys(t, "state/"+first.Snapshot), "the old one is deleted")
	})

	t.Run("state inspect and export read the bucket", func(t *testing.T) {
		res := runCLI(t, srv.URL(), testKey, cli{args: []string{"state", "inspect", "--state", "s3://bkt/" + stateKey}, env: s3.env(t)})
		require.Equal(t, exitOK, res.Code, res.Stderr)
		assert.Contains(t, res.Stdout, "state file: s3://bkt/"+stateKey)
		assert.Contains(t, res.Stdout, fmt.Sprintf("catalog 1: %d", len(feed)))
		assert.Contains(t, res.Stdout, "last run:   #3 complete")
		assert.NotContains(t, res.Stdout, "held:")
		res = runCLI(t, srv.URL(), testKey, cli{args: []string{"state", "export", "--state", "s3://bkt/" + stateKey}, env: s3.env(t)})
		require.Equal(t, exitOK, res.Code, res.Stderr)
		assert.Len(t, strings.Split(strings.TrimSpace(res.Stdout), "\n"), len(feed), "one line per key")
	})

	t.Run("state reset deletes the objects", func(t *testing.T) {
		res := runCLI(t, srv.URL(), testKey, cli{args: []string{"state", "reset", "--yes", "--state", "s3://bkt/" + stateKey}, env: s3.env(t)})
		require.Equal(t, exitOK, res.Code, res.Stderr)
		assert.Empty(t, s3.keys(t, "state/"))
		before := srv.Stats().ItemsReceived
		res = runCLI(t, srv.URL(), testKey, stateRun(s3, t, in2))
		require.Equal(t, exitOK, res.Code, res.Stderr)
		assert.Equal(t, int64(len(feed)), srv.Stats().ItemsReceived-before, "an empty state: every key is sent")
	})
}
