package main

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// killWhenFile SIGKILLs p once cond holds, polling; it reports whether
// the kill ended p, false when p exited on its own first.
func killWhenFile(p *proc, cond func() bool) bool {
	deadline := time.Now().Add(slow(30 * time.Second))
	for !p.exited() && time.Now().Before(deadline) {
		if cond() {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) // it may have exited meanwhile
			<-p.done
			ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
			return ok && ws.Signaled()
		}
		time.Sleep(100 * time.Microsecond)
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	return false
}

// sameFile reports whether path is still the file st was taken of.
func sameFile(path string, st os.FileInfo) bool {
	now, err := os.Stat(path)
	return err == nil && st != nil && os.SameFile(now, st)
}

// nfBump returns f with every row of the keys k%every == i given a new
// value, and those keys.
func nfBump(f nfFeed, i, every int) (nfFeed, []int) {
	out := slices.Clone(f)
	var keys []int
	for j := range out {
		if out[j].k%every == i {
			out[j].v += 2 + i
			keys = append(keys, out[j].k)
		}
	}
	slices.Sort(keys)
	return out, slices.Compact(keys)
}

// TestStateKillDuringCommit SIGKILLs incremental runs at the end, while
// they write the state (kill points found by polling the state's files):
// as the next snapshot is being written, once it replaced the old one,
// once the last run is recorded, once the journal is gone. After each
// kill the state claims no changed key's old value, the same command
// again exits 0 with the API holding the feed, and a third run sends
// nothing.
func TestStateKillDuringCommit(t *testing.T) {
	t.Parallel()
	e := nfEntities()[0] // catalog
	s := newNFSync(t, e, emulator.Options{})
	feed := nfGen(91, 2000, 0)
	res, _ := s.run(t, feed, "--batch-size", "500")
	require.Equal(t, exitOK, res.Code, res.Stderr)
	journal := s.state + ".journal"

	var want int64 // the items received once the run delivered every item
	points := []struct {
		name string
		// at returns the kill condition of a run started after the
		// snapshot st and the last-run file lr were taken.
		at func(st, lr os.FileInfo) func() bool
	}{
		{"every item delivered", func(_, _ os.FileInfo) func() bool {
			return func() bool { return s.srv.Stats().ItemsReceived >= want }
		}},
		{"snapshot being written", func(_, _ os.FileInfo) func() bool {
			return func() bool { m, _ := filepath.Glob(s.state + ".tmp-*"); return len(m) > 0 }
		}},
		{"snapshot replaced", func(st, _ os.FileInfo) func() bool {
			return func() bool { _, err := os.Stat(s.state); return err == nil && !sameFile(s.state, st) }
		}},
		{"last run recorded", func(_, lr os.FileInfo) func() bool {
			return func() bool {
				_, err := os.Stat(s.state + ".lastrun")
				return err == nil && !sameFile(s.state+".lastrun", lr)
			}
		}},
		{"journal removed", func(_, _ os.FileInfo) func() bool {
			seen := false
			return func() bool {
				_, err := os.Stat(journal)
				seen = seen || err == nil
				return seen && err != nil
			}
		}},
	}
	killed := 0
	for i, pt := range points {
		for attempt := range 3 {
			next, changed := nfBump(feed, 7*i+attempt, 100)
			old := allEntries(t, s.state)
			st, _ := os.Stat(s.state)
			lr, _ := os.Stat(s.state + ".lastrun")
			want = s.srv.Stats().ItemsReceived + int64(len(changed))
			p := startCLI(t, s.srv.URL(), cli{args: s.args(s.input(t, next), "--batch-size", "500"), dir: s.dir})
			hit := killWhenFile(p, pt.at(st, lr))
			if !hit {
				require.Equal(t, 0, p.cmd.ProcessState.ExitCode(), "an unkilled run completes: %s", p.errOut)
			}
			t.Logf("%s, attempt %d: killed %v", pt.name, attempt+1, hit)

			// No changed key still claims the value the API held before,
			// and every other key keeps its claim.
			after := allEntries(t, s.state)
			require.Len(t, after, len(old), pt.name)
			for _, k := range next.keys() {
				key := e.key(k)
				if slices.Contains(changed, k) {
					assert.NotEqual(t, old[key].Value, after[key].Value, "%s: %s claims its old value", pt.name, key)
				} else {
					assert.Equal(t, old[key].Value, after[key].Value, "%s: %s lost its claim", pt.name, key)
				}
			}

			res, _ := s.run(t, next, "--batch-size", "500")
			require.Equal(t, exitOK, res.Code, "%s: rerun: %s", pt.name, res.Stderr)
			s.holds(t, next)
			requests := s.srv.Stats().RequestsTotal
			res, rep := s.run(t, next, "--batch-size", "500")
			require.Equal(t, exitOK, res.Code, res.Stderr)
			assert.Equal(t, requests, s.srv.Stats().RequestsTotal, "%s: a third run sends nothing", pt.name)
			assert.Equal(t, rep.Read, rep.Unchanged)
			feed = next
			if hit {
				killed++
				break
			}
		}
	}
	assert.Positive(t, killed, "no kill landed before the run's end")
}

// TestStateRevertAfterKill: K is confirmed at v1; a run that changes K to
// v2 is killed after the API applied v2 and before it answered; a run
// with K=v1 again must send K, since the API holds v2. The killed run's
// invalidation of K is what tells.
func TestStateRevertAfterKill(t *testing.T) {
	t.Parallel()
	for _, e := range nfEntities() {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			s := newNFSync(t, e, emulator.Options{})
			feed1 := nfGen(101, 50, 50)
			res, _ := s.run(t, feed1)
			require.Equal(t, exitOK, res.Code, res.Stderr)
			const k = 7
			v1 := allEntries(t, s.state)[e.key(k)].Value
			require.NotZero(t, v1)

			feed2 := slices.Clone(feed1)
			for i := range feed2 {
				if feed2[i].k == k {
					feed2[i].v++
				}
			}
			// Every request is applied, then its connection is cut: no
			// answer confirms it (a profiles retry is answered from the
			// idempotency cache, after the latency).
			s.srv.SetFaults(emulator.Faults{CutAfterApply: 1, Latency: 300 * time.Millisecond})
			applied := len(s.srv.History(e.hist(k)))
			p := startCLI(t, s.srv.URL(), cli{args: s.args(s.input(t, feed2)), dir: s.dir})
			require.True(t, killWhenFile(p, func() bool { return len(s.srv.History(e.hist(k))) > applied }),
				"killed after K was applied: %s", p.errOut)
			s.srv.SetFaults(emulator.Faults{})
			s.holds(t, feed2)
			assert.NotEqual(t, v1, allEntries(t, s.state)[e.key(k)].Value, "the state no longer claims v1")

			applied = len(s.srv.History(e.hist(k)))
			items := s.srv.Stats().ItemsReceived
			res, _ = s.run(t, feed1)
			require.Equal(t, exitOK, res.Code, res.Stderr)
			assert.Equal(t, applied+1, len(s.srv.History(e.hist(k))), "K is sent again")
			assert.Equal(t, int64(1), s.srv.Stats().ItemsReceived-items, "only K")
			s.holds(t, feed1)
			assert.Equal(t, v1, allEntries(t, s.state)[e.key(k)].Value)
		})
	}
}

// stateFiles returns the content of every file of the state at path.
func stateFiles(t *testing.T, path string) map[string]string {
	t.Helper()
	names, err := filepath.Glob(path + "*")
	require.NoError(t, err)
	out := map[string]string{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		require.NoError(t, err)
		out[filepath.Base(n)] = string(b)
	}
	return out
}
