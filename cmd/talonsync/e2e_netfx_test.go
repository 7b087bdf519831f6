package main

import (
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/state"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestNetEffectUnchangedRerun: a feed whose keys repeat anywhere (mixed
// catalog actions, merging profiles, audience adds and deletes), synced
// with --state, then again unchanged: the second run sends nothing and
// counts every row unchanged.
func TestNetEffectUnchangedRerun(t *testing.T) {
	t.Parallel()
	for _, w := range []esWorkload{
		esCatalogWorkload(51, 2000, 300),
		esProfilesWorkload(52, 2000, 300),
		esAudiencesWorkload(53, 2000, 300),
	} {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			srv := startEmulator(t, emulator.Options{})
			dir := t.TempDir()
			in := writeFile(t, dir, w.file, w.input)
			run := func(name string) (cliResult, report) {
				rep := filepath.Join(dir, name)
				args := append(slices.Clone(w.args), "--state", filepath.Join(dir, "state"), "--batch-size", "50", "--report", rep, in)
				res := runCLI(t, srv.URL(), testKey, cli{args: args, dir: dir})
				return res, readReport(t, rep)
			}
			res, first := run("first.json")
			require.Equal(t, exitOK, res.Code, res.Stderr)
			w.check(t, srv.State())
			require.Equal(t, w.rows, first.Read)
			assert.Positive(t, first.Merged, "repeated keys went out as their net effect")
			assert.Equal(t, first.Read, first.accounted())

			before := srv.Stats()
			res, again := run("again.json")
			require.Equal(t, exitOK, res.Code, res.Stderr)
			after := srv.Stats()
			assert.Equal(t, before.RequestsTotal, after.RequestsTotal, "no request")
			assert.Equal(t, before.ItemsReceived, after.ItemsReceived, "no item")
			assert.Equal(t, w.rows, again.Read)
			assert.Equal(t, again.Read, again.Unchanged, "every row is unchanged")
			assert.Zero(t, again.Delivered)
			assert.Zero(t, again.Requests)
			w.check(t, srv.State())
		})
	}
}

// TestNetEffectOnePercentChanged: of 1000 keys, 10 get a new last value
// and one more gets a new value in a row that a later row of it
// overrides. Only the 10 keys' net effects are sent, once each, and the
// API then holds the new feed's net effect.
func TestNetEffectOnePercentChanged(t *testing.T) {
	t.Parallel()
	for _, e := range nfEntities() {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			s := newNFSync(t, e, emulator.Options{})
			feed1 := nfGen(61, 1000, 1000)
			res, _ := s.run(t, feed1)
			require.Equal(t, exitOK, res.Code, res.Stderr)
			s.holds(t, feed1)

			feed2, changed, overridden := nfChange(feed1, 10)
			require.Len(t, changed, 10)
			require.GreaterOrEqual(t, overridden, 0, "a key of several rows")
			require.Equal(t, feed1.net()[overridden], feed2.net()[overridden], "the override keeps the net effect")
			before, items := s.sent(feed1), s.srv.Stats().ItemsReceived
			res, rep := s.run(t, feed2)
			require.Equal(t, exitOK, res.Code, res.Stderr)
			after := s.sent(feed2)
			assert.Equal(t, int64(len(changed)), s.srv.Stats().ItemsReceived-items, "one item per changed key")
			for _, k := range feed2.keys() {
				want := 0
				if changed[k] {
					want = 1
				}
				assert.Equal(t, want, after[k]-before[k], "items applied to key %d (changed %v, overridden %v)", k, changed[k], k == overridden)
			}
			s.holds(t, feed2)
			rows := feed2.rows()
			var changedRows int64
			for k := range changed {
				changedRows += int64(rows[k])
			}
			assert.Equal(t, int64(len(feed2)), rep.Read)
			assert.Equal(t, changedRows, rep.Delivered)
			assert.Equal(t, rep.Read-changedRows, rep.Unchanged)
			assert.Equal(t, rep.Read, rep.accounted())
		})
	}
}

// nfChange returns a copy of f in which n keys have a new last value
// (changed), and one more key of several rows, overridden, has a new
// value in a row before its last one.
func nfChange(f nfFeed, n int) (out nfFeed, changed map[int]bool, overridden int) {
	out = slices.Clone(f)
	last := map[int]int{} // key -> index of its last row
	for i, r := range out {
		last[r.k] = i
	}
	changed = map[int]bool{}
	overridden = -1
	for i, r := range out {
		switch {
		case len(changed) < n && r.k%97 == 3 && last[r.k] == i:
			out[i].v++ // flips an audience action too
			changed[r.k] = true
		case overridden < 0 && r.k%97 == 5 && last[r.k] != i:
			out[i].v++
			overridden = r.k
		}
	}
	return out, changed, overridden
}

// TestNetEffectFull: the API lost everything (the emulator is reset) while
// the state says it holds the feed. An incremental run trusts the state
// and sends nothing; --full sends every key's net effect once and records
// it, so that the next incremental run again sends nothing.
func TestNetEffectFull(t *testing.T) {
	t.Parallel()
	for _, e := range nfEntities() {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			s := newNFSync(t, e, emulator.Options{})
			feed := nfGen(71, 200, 200)
			res, _ := s.run(t, feed)
			require.Equal(t, exitOK, res.Code, res.Stderr)
			s.holds(t, feed)

			s.srv.Reset()
			res, rep := s.run(t, feed)
			require.Equal(t, exitOK, res.Code, res.Stderr)
			assert.Zero(t, s.srv.Stats().RequestsTotal, "the state says the API holds the feed")
			assert.Equal(t, rep.Read, rep.Unchanged)

			started := time.Now()
			res, rep = s.run(t, feed, "--full")
			require.Equal(t, exitOK, res.Code, res.Stderr)
			assert.Equal(t, int64(len(feed.keys())), s.srv.Stats().ItemsReceived, "one item per key")
			for k, n := range s.sent(feed) {
				assert.Equal(t, 1, n, "items applied to key %d", k)
			}
			s.holds(t, feed)
			assert.Equal(t, int64(len(feed)), rep.Read)
			assert.Equal(t, rep.Read, rep.Delivered)
			assert.Zero(t, rep.Unchanged)
			entries := allEntries(t, s.state)
			for _, k := range feed.keys() {
				ki, ok := entries[e.key(k)]
				if assert.True(t, ok, "the state records %s", e.key(k)) {
					assert.NotZero(t, ki.Value, e.key(k))
					assert.False(t, ki.Confirmed.Before(started.Truncate(time.Minute)), "%s confirmed by the --full run", e.key(k))
				}
			}

			requests := s.srv.Stats().RequestsTotal
			res, rep = s.run(t, feed)
			require.Equal(t, exitOK, res.Code, res.Stderr)
			assert.Equal(t, requests, s.srv.Stats().RequestsTotal, "after --full the state matches the API")
			assert.Equal(t, rep.Read, rep.Unchanged)
		})
	}
}

// TestNetEffectRefreshAfter: the state's confirmations of some keys are
// made older (3 hours, 8 days) than others. The default --refresh-after
// (7 days) sends the 8-day-old keys again, --refresh-after 1h the
// 3-hour-old ones, --refresh-after 0 none; each key is sent once, and its
// confirmation is new afterwards.
func TestNetEffectRefreshAfter(t *testing.T) {
	t.Parallel()
	for _, e := range nfEntities() {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			s := newNFSync(t, e, emulator.Options{})
			feed := nfGen(81, 200, 200)
			res, _ := s.run(t, feed)
			require.Equal(t, exitOK, res.Code, res.Stderr)
			hours, days := map[int]bool{}, map[int]bool{}
			for _, k := range feed.keys() {
				switch k % 10 {
				case 1:
					hours[k] = true
				case 2:
					days[k] = true
				}
			}
			ageState(t, s.state, e, hours, 3*time.Hour)
			ageState(t, s.state, e, days, 8*24*time.Hour)

			steps := []struct {
				flags []string
				sent  map[int]bool
			}{
				{[]string{"--refresh-after", "0"}, nil},
				{nil, days},
				{[]string{"--refresh-after", "1h"}, hours},
				{[]string{"--refresh-after", "1h"}, nil},
			}
			for _, st := range steps {
				before, items := s.sent(feed), s.srv.Stats().ItemsReceived
				res, rep := s.run(t, feed, st.flags...)
				require.Equal(t, exitOK, res.Code, res.Stderr)
				assert.Equal(t, int64(len(st.sent)), s.srv.Stats().ItemsReceived-items, "items sent with %v", st.flags)
				for k, n := range s.sent(feed) {
					want := 0
					if st.sent[k] {
						want = 1
					}
					assert.Equal(t, want, n-before[k], "items applied to key %d with %v", k, st.flags)
				}
				assert.Equal(t, rep.Read, rep.accounted())
				s.holds(t, feed)
			}
		})
	}
}

// ageState makes the state's confirmations of keys older by age: it
// confirms each key's value again, as of age ago, in a run of its own.
func ageState(t *testing.T, path string, e nfEntity, keys map[int]bool, age time.Duration) {
	t.Helper()
	entries := allEntries(t, path)
	when := time.Now().Add(-age)
	f, err := state.OpenFile(path, state.Options{Now: func() time.Time { return when }})
	require.NoError(t, err)
	defer f.Close()
	id, ok := f.Identity()
	require.True(t, ok)
	require.NoError(t, f.Bind(id))
	run, err := f.Begin()
	require.NoError(t, err)
	for k := range keys {
		ki, ok := entries[e.key(k)]
		require.True(t, ok, e.key(k))
		require.NoError(t, f.Confirm(ki.Key, ki.Value, ki.Absent))
	}
	require.NoError(t, f.Commit(state.RunInfo{Run: run, Input: "aged by the test " + strconv.Itoa(len(keys)), Started: when}, false))
}
