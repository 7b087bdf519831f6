package main

import (
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// Tests of --state in object storage across kills and concurrent runs.

var skuInBody = regexp.MustCompile(`"sku":"([^"]+)"`)

// bucketAtRequest is what the bucket held when the API got a request: the
// request's SKUs, and the state's objects.
type bucketAtRequest struct {
	skus []string
	objs map[string][]byte
}

// TestS3StateKillThenRevert: run 1 confirms every key at v1; run 2
// changes every key to v2 and is killed halfway, with no upload round
// (--upload-interval 1h): what the bucket knows of run 2 is what it
// pushed with its invalidations. Each of run 2's requests must find its
// keys invalidated in the bucket already. Run 3 holds v1 again: every key
// run 2 sent must be sent back, which only the uploaded invalidations
// tell it (the bucket's snapshot still says v1).
func TestS3StateKillThenRevert(t *testing.T) {
	t.Parallel()
	s3 := startS3(t)
	var (
		watch atomic.Bool
		mu    sync.Mutex
		seen  []bucketAtRequest
	)
	srv := startEmulator(t, emulator.Options{History: true, OnRequest: func(r emulator.RequestRecord) {
		if !watch.Load() || !strings.Contains(r.Path, "/catalogs/") {
			return
		}
		var skus []string
		for _, m := range skuInBody.FindAllSubmatch(r.Body, -1) {
			skus = append(skus, string(m[1]))
		}
		objs := s3.objects(assertOnly{t}, "state/")
		mu.Lock()
		seen = append(seen, bucketAtRequest{skus: skus, objs: objs})
		mu.Unlock()
	}})
	dir := t.TempDir()
	feed1 := genStateFeed(2000)
	feed2 := stateFeedV(feed1, 2)
	in1 := writeFile(t, dir, "feed1.csv", feed1.csv())
	in2 := writeFile(t, dir, "feed2.csv", feed2.csv())

	res := runCLI(t, srv.URL(), testKey, stateRun(s3, t, in1))
	require.Equal(t, exitOK, res.Code, res.Stderr)
	v1 := itemsByValue(t, dir, readers.EntityCatalog, feed1.csv())

	srv.SetFaults(emulator.Faults{Latency: 20 * time.Millisecond})
	before := srv.Stats().ItemsApplied
	watch.Store(true)
	p := startCLI(t, srv.URL(), stateRun(s3, t, in2, "--upload-interval", "1h"))
	p.killWhen(t, srv, "half of run 2 applied", func(s emulator.Stats) bool { return s.ItemsApplied-before >= 500 })
	watch.Store(false)
	srv.SetFaults(emulator.Faults{})
	require.Less(t, srv.Stats().ItemsApplied-before, int64(len(feed2)), "killed before its end")
	m, ok := s3.manifest(t, stateKey)
	require.True(t, ok)
	assert.NotEmpty(t, m.Owner, "the killed run did not release the state")
	assert.NotEmpty(t, m.Journal, "its invalidations are in segments")

	mu.Lock()
	require.NotEmpty(t, seen)
	for i, at := range seen {
		entries := bucketStateEntries(t, at.objs, stateKey)
		for _, sku := range at.skus {
			e, ok := entries[sku]
			require.True(t, ok, sku)
			_, old := v1[e.Value]
			assert.False(t, old, "request %d sent %s while the bucket's state still claimed its old value", i, sku)
		}
	}
	mu.Unlock()

	var sent []string
	for _, prod := range feed1 {
		if len(srv.History(emulator.CatalogKey(1, prod.sku))) == 2 {
			sent = append(sent, prod.sku)
		}
	}
	require.NotEmpty(t, sent)

	// The killed run's hold has run out by now, or soon will: this run
	// takes the state over.
	res = runCLI(t, srv.URL(), testKey, stateRun(s3, t, in1, "--upload-interval", "200ms"))
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assertCatalogIs(t, feed1, srv.State().Catalogs[1])
	for _, sku := range sent {
		assert.Equal(t, 3, len(srv.History(emulator.CatalogKey(1, sku))), "%s was sent back to v1", sku)
	}
	assertStateMatchesCatalog(t, s3.stateEntries(t, stateKey), itemsByValue(t, dir, readers.EntityCatalog, feed1.csv(), feed2.csv()), srv.State().Catalogs[1])

	before = srv.Stats().RequestsTotal
	res = runCLI(t, srv.URL(), testKey, stateRun(s3, t, in1))
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.Equal(t, before, srv.Stats().RequestsTotal, "the state is the API's again: nothing to send")
	assert.Empty(t, s3.keys(t, stateKey+".journal."), "the killed run's segments are deleted")
	assert.Len(t, s3.keys(t, stateKey+".snapshot."), 1)
}

// TestS3StateKillResume: a run killed after some upload rounds is run
// again with the same feed: it waits out the dead run's hold, replays its
// segments and sends only what the bucket does not record as confirmed.
func TestS3StateKillResume(t *testing.T) {
	t.Parallel()
	s3 := startS3(t)
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	feed1 := genStateFeed(2000)
	feed2 := stateFeedV(feed1, 2)
	in1 := writeFile(t, dir, "feed1.csv", feed1.csv())
	in2 := writeFile(t, dir, "feed2.csv", feed2.csv())
	res := runCLI(t, srv.URL(), testKey, stateRun(s3, t, in1))
	require.Equal(t, exitOK, res.Code, res.Stderr)
	v2 := itemsByValue(t, dir, readers.EntityCatalog, feed2.csv())

	srv.SetFaults(emulator.Faults{Latency: 20 * time.Millisecond})
	c := stateRun(s3, t, in2, "--upload-interval", "100ms")
	p := startCLI(t, srv.URL(), c)
	confirmed := func() int {
		n := 0
		for _, e := range s3.stateEntries(t, stateKey) {
			if _, ok := v2[e.Value]; ok {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(slow(20 * time.Second))
	for confirmed() < 300 {
		require.False(t, p.exited(), "run 2 ended before 300 confirmations were uploaded: %s", p.errOut)
		require.True(t, time.Now().Before(deadline), "no 300 confirmations uploaded")
		time.Sleep(10 * time.Millisecond)
	}
	p.killWhen(t, srv, "the next request", func(emulator.Stats) bool { return true })
	srv.SetFaults(emulator.Faults{})
	uploaded := confirmed()
	require.Less(t, uploaded, len(feed2), "killed before its end")

	// An upload interval long enough that the killed run's hold (its last
	// round was at most 100 ms before the kill) has not run out when this
	// run reads the state, however slow the machine.
	before := srv.Stats().ItemsReceived
	res = runCLI(t, srv.URL(), testKey, stateRun(s3, t, in2, "--upload-interval", "3s"))
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "did not release it", "the killed run's state is taken over after its hold")
	assertCatalogIs(t, feed2, srv.State().Catalogs[1])
	assert.LessOrEqual(t, srv.Stats().ItemsReceived-before, int64(len(feed2)-uploaded), "what the bucket recorded as confirmed is not sent again")
	entries := s3.stateEntries(t, stateKey)
	assert.Len(t, entries, len(feed2))
	for sku, e := range entries {
		_, ok := v2[e.Value]
		assert.True(t, ok, "%s is confirmed at v2", sku)
	}
}

// TestS3StateSecondRunRefused: a second run on a state that a live run
// holds waits one upload interval and a margin for the state to go
// unwritten. The live run is slow (each request takes 2 s), so it has
// nothing new to upload meanwhile, but its upload rounds write the
// manifest all the same: the second run's claim fails and it exits 2
// before it sends anything. The first run ends exactly. While it runs,
// state inspect reads the state and shows it held, and state reset
// refuses.
func TestS3StateSecondRunRefused(t *testing.T) {
	t.Parallel()
	s3 := startS3(t)
	srv := startEmulator(t, emulator.Options{Faults: emulator.Faults{Latency: 2 * time.Second}})
	dir := t.TempDir()
	feed := genStateFeed(150)
	in := writeFile(t, dir, "feed.csv", feed.csv())
	c := stateRun(s3, t, in, "--upload-interval", "300ms")

	first := startCLI(t, srv.URL(), c)
	waitFor(t, first, srv, "the first run's first request", func(s emulator.Stats) bool { return s.RequestsTotal >= 1 })
	// The first run has claimed the state and has nothing to upload until
	// its first request is answered.
	second := runCLI(t, srv.URL(), testKey, c)
	assert.Equal(t, exitUsage, second.Code, second.Stderr)
	assert.Contains(t, second.Stderr, "waiting")
	assert.Contains(t, second.Stderr, "state s3://bkt/state/feed.state: another run owns it now")
	require.False(t, first.exited(), "the first run is still going")

	ins := runCLI(t, srv.URL(), testKey, cli{args: []string{"state", "inspect", "--state", "s3://bkt/" + stateKey}, env: s3.env(t)})
	require.Equal(t, exitOK, ins.Code, ins.Stderr)
	assert.Contains(t, ins.Stdout, "held:")
	reset := runCLI(t, srv.URL(), testKey, cli{args: []string{"state", "reset", "--yes", "--state", "s3://bkt/" + stateKey}, env: s3.env(t)})
	assert.Equal(t, exitUsage, reset.Code, reset.Stderr)
	assert.Contains(t, reset.Stderr, "a run holds s3://bkt/state/feed.state")

	res := first.wait(t, slow(60*time.Second))
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assertCatalogIs(t, feed, srv.State().Catalogs[1])
	st := srv.Stats()
	assert.Zero(t, st.Conflicts, "the two runs never sent at once")
	assert.Equal(t, int64(len(feed)), st.ItemsApplied, "each item applied once: the refused run sent nothing")
	m, ok := s3.manifest(t, stateKey)
	require.True(t, ok)
	assert.Empty(t, m.Owner)
	assert.Len(t, s3.stateEntries(t, stateKey), len(feed))
}

// assertOnly is a require.TestingT for goroutines other than the test's:
// a failure is reported, and the goroutine goes on.
type assertOnly struct{ t *testing.T }

func (a assertOnly) Errorf(format string, args ...any) { a.t.Errorf(format, args...) }
func (a assertOnly) FailNow()                          {}
