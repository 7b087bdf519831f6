package main

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestStateInspectDuringRun: while a sync holds the state (its third
// request held back by the emulator), state inspect and export work and
// see the run's journal, state reset is refused, and none of them writes
// the state; the sync then completes exactly. In a first run the state is
// the journal alone; in a later one the last snapshot and the journal.
func TestStateInspectDuringRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		later bool // a run after a first one, which changes 100 of 500 keys
		// keys and unknown bound what inspect counts: confirmations reach
		// the journal with the first batch delivered, then once a second.
		keys, unknown [2]int64
	}{
		{name: "first run", keys: [2]int64{10, 20}},
		{name: "later run", later: true, keys: [2]int64{500, 500}, unknown: [2]int64{80, 90}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var (
				armed   atomic.Bool
				count   atomic.Int64
				arrived = make(chan struct{})
				release = make(chan struct{})
				once    sync.Once
			)
			hold := func(emulator.RequestRecord) {
				if armed.Load() && count.Add(1) == 3 {
					close(arrived)
					<-release
				}
			}
			s := newNFSync(t, nfEntities()[0], emulator.Options{OnRequest: hold}) // catalog
			t.Cleanup(func() { once.Do(func() { close(release) }) })              // before the emulator closes
			feed := nfGen(111, 500, 0)
			if tc.later {
				res, _ := s.run(t, feed)
				require.Equal(t, exitOK, res.Code, res.Stderr)
				var changed []int
				feed, changed = nfBump(feed, 3, 5)
				require.Len(t, changed, 100)
			}
			armed.Store(true)
			p := startCLI(t, s.srv.URL(), cli{args: s.args(s.input(t, feed), "--batch-size", "10", "--workers", "1"), dir: s.dir})
			select {
			case <-arrived:
			case <-p.done:
				t.Fatalf("the sync ended before its third request: %s", p.errOut)
			case <-time.After(slow(30 * time.Second)):
				t.Fatalf("no third request: %s", p.errOut)
			}
			files := stateFiles(t, s.state)

			res := runCLI(t, s.srv.URL(), testKey, cli{args: []string{"state", "inspect", "--json", "--state", s.state}})
			require.Equal(t, exitOK, res.Code, res.Stderr)
			var sum stateSummary
			require.NoError(t, json.Unmarshal([]byte(res.Stdout), &sum), res.Stdout)
			assert.GreaterOrEqual(t, sum.Keys, tc.keys[0], "keys")
			assert.LessOrEqual(t, sum.Keys, tc.keys[1], "keys")
			assert.GreaterOrEqual(t, sum.Unknown, tc.unknown[0], "keys sent and not confirmed yet")
			assert.LessOrEqual(t, sum.Unknown, tc.unknown[1], "keys sent and not confirmed yet")
			if assert.NotNil(t, sum.Identity) {
				assert.Equal(t, "catalog", sum.Identity.Entity)
			}
			assert.Equal(t, tc.later, sum.LastRun != nil, "the last run recorded is the first one")

			res = runCLI(t, s.srv.URL(), testKey, cli{args: []string{"state", "export", "--state", s.state}})
			require.Equal(t, exitOK, res.Code, res.Stderr)
			lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
			assert.Len(t, lines, int(sum.Keys), "export and inspect see the same journal")
			unknown := 0
			for _, l := range lines {
				var x exportLine
				require.NoError(t, json.Unmarshal([]byte(l), &x), l)
				if x.Value == "" {
					unknown++
				}
			}
			assert.Equal(t, sum.Unknown, int64(unknown), "export and inspect see the same journal")

			res = runCLI(t, s.srv.URL(), testKey, cli{args: []string{"state", "reset", "--yes", "--state", s.state}})
			assert.Equal(t, exitUsage, res.Code, "a reset does not take the state from a running sync: %s", res.Stderr)

			assert.Equal(t, files, stateFiles(t, s.state), "inspect, export and a refused reset write nothing")
			require.False(t, p.exited(), "the sync still runs: %s", p.errOut)
			once.Do(func() { close(release) })
			res = p.wait(t, slow(60*time.Second))
			require.Equal(t, exitOK, res.Code, res.Stderr)
			s.holds(t, feed)
			requests := s.srv.Stats().RequestsTotal
			res, rep := s.run(t, feed)
			require.Equal(t, exitOK, res.Code, res.Stderr)
			assert.Equal(t, requests, s.srv.Stats().RequestsTotal, "the state records the run exactly")
			assert.Equal(t, rep.Read, rep.Unchanged)
		})
	}
}
