package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/shard"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// End-to-end tests of --shard (issue 15): N processes on one input, each
// owning the keys that hash to it, with their checkpoints and reports in
// the bucket, merged by report merge.

const shards = 4

// shardCLI is the command of shard i of a sharded run of tc over input,
// with every file in the bucket, named after name.
func shardCLI(s3 *s3Server, t *testing.T, tc chaosCase, name, input string, i int, extra ...string) cli {
	args := append([]string{tc.entity}, tc.args...)
	spec := fmt.Sprintf("%d/%d", i, shards)
	env := s3.env(t)
	if i == shards-1 {
		// The last shard finds its index as a Kubernetes Indexed Job's pod does.
		spec = fmt.Sprintf("auto/%d", shards)
		env = append(env, shard.EnvJobCompletionIndex+"="+strconv.Itoa(i))
	}
	args = append(args, "--shard", spec, "--workers", "4", "--batch-size", "50", "--progress", "never", "--upload-interval", "200ms",
		"--checkpoint", "s3://bkt/"+name+"/ckpt-{shard}.ckpt", "--report", "s3://bkt/"+name+"/report-{shard}.json")
	return cli{args: append(append(args, extra...), input), env: env}
}

// mergeShards runs report merge over the shards' reports in the bucket.
func mergeShards(t *testing.T, s3 *s3Server, name string) (mergedReport, cliResult) {
	t.Helper()
	args := []string{"report", "merge"}
	for i := range shards {
		args = append(args, fmt.Sprintf("s3://bkt/%s/report-%d.json", name, i))
	}
	res := runCLI(t, "http://127.0.0.1:1", testKey, cli{args: args, env: s3.env(t)})
	var m mergedReport
	require.NoError(t, json.Unmarshal([]byte(res.Stdout), &m), "stdout %q\nstderr %s", res.Stdout, res.Stderr)
	return m, res
}

// histEntry is what the per-key order check reads from a History element:
// the row's Seq attribute, or an audience action.
func histEntry(t *testing.T, tc chaosCase, raw json.RawMessage) string {
	if tc.entity == "audiences" {
		var a struct {
			Action string `json:"action"`
		}
		require.NoError(t, json.Unmarshal(raw, &a))
		return a.Action
	}
	s, ok := chaosSeq(t, raw)
	require.True(t, ok, "%s", raw)
	return strconv.Itoa(s)
}

func rowEntry(tc chaosCase, r chaosRow) string {
	if tc.entity == "audiences" {
		if r.add {
			return "add"
		}
		return "delete"
	}
	return strconv.Itoa(r.seq)
}

// TestShardsRunConcurrently runs 4 shards at once on one input of each
// entity, with repeated keys: the final state is the input's, each key's
// rows were applied once each and in file order, no request was refused
// with 409 (a key in flight twice), and the merged report reconciles.
func TestShardsRunConcurrently(t *testing.T) {
	t.Parallel()
	for i, tc := range chaosCases() {
		t.Run(tc.entity, func(t *testing.T) {
			const n = 4000
			rows, content := tc.gen(rand.New(rand.NewPCG(uint64(100+i), 7)), n)
			srv := startEmulator(t, emulator.Options{History: true, Faults: emulator.Faults{Latency: 2 * time.Millisecond, Jitter: 3 * time.Millisecond}})
			s3 := startS3(t)
			input := s3.put(t, "feeds/"+tc.file, []byte(content))
			var procs []*proc
			for k := range shards {
				procs = append(procs, startCLI(t, srv.URL(), shardCLI(s3, t, tc, tc.entity, input, k)))
			}
			for k, p := range procs {
				res := p.wait(t, slow(90*time.Second))
				require.Equal(t, exitOK, res.Code, "shard %d: %s", k, res.Stderr)
			}

			tc.check(t, rows, srv.State())
			perKey := map[string][]string{}
			for _, r := range rows {
				k := tc.histKey(r)
				perKey[k] = append(perKey[k], rowEntry(tc, r))
			}
			for k, want := range perKey {
				var got []string
				for _, raw := range srv.History(k) {
					got = append(got, histEntry(t, tc, raw))
				}
				if tc.entity == "catalog" {
					require.Equal(t, want, got, "key %s: its rows, once each and in file order", k)
					continue
				}
				// Profiles and audiences merge a key's rows not yet sent
				// into one item: a subsequence of its rows, in file order,
				// once each, ending with its last row.
				require.NotEmpty(t, got, "key %s: nothing applied", k)
				require.Equal(t, want[len(want)-1], got[len(got)-1], "key %s: the last applied row is not the key's last", k)
				rest := want
				for _, g := range got {
					i := slices.Index(rest, g)
					require.GreaterOrEqual(t, i, 0, "key %s: %s applied out of file order or twice (applied %v, rows %v)", k, g, got, want)
					rest = rest[i+1:]
				}
			}
			assert.Zero(t, srv.Stats().Conflicts, "no key was in flight in two shards at once")

			m, res := mergeShards(t, s3, tc.entity)
			require.Equal(t, exitOK, res.Code, res.Stderr)
			assert.Equal(t, outcomeCompleted, m.Outcome)
			assert.Equal(t, int64(n), m.Read, "the shards' reads add up to the input")
			assert.Equal(t, int64(n), m.Delivered)
			assert.Equal(t, int64(n), m.InputRows, "every shard read the whole input")
			assert.Equal(t, m.Read, m.report.accounted())
			for _, part := range m.Parts {
				assert.Positive(t, part.Read, "shard %s owns some rows", part.Shard)
				assert.Less(t, part.Read, int64(n)/2, "shard %s owns about a quarter", part.Shard)
			}
		})
	}
}

// TestShardKilledAndRerunAlone: one of 4 shards is killed mid-run; the
// others finish; the killed one is run again alone and finishes exactly,
// and the merged report reconciles.
func TestShardKilledAndRerunAlone(t *testing.T) {
	t.Parallel()
	tc := chaosCases()[0]
	const n = 12000
	rows, content := tc.gen(rand.New(rand.NewPCG(21, 7)), n)
	srv := startEmulator(t, emulator.Options{History: true, Faults: emulator.Faults{Latency: 50 * time.Millisecond}})
	s3 := startS3(t)
	input := s3.put(t, "feeds/"+tc.file, []byte(content))
	const victim = 2
	var procs []*proc
	for k := range shards {
		procs = append(procs, startCLI(t, srv.URL(), shardCLI(s3, t, tc, "killed", input, k)))
	}
	deadline := time.Now().Add(slow(30 * time.Second))
	for {
		if cp := s3.checkpoint(t, fmt.Sprintf("killed/ckpt-%d.ckpt", victim)); cp != nil && cp.Counts.Delivered > 300 {
			break
		}
		require.False(t, procs[victim].exited(), "shard %d finished before it was killed", victim)
		require.True(t, time.Now().Before(deadline), "shard %d uploaded no progress", victim)
		time.Sleep(5 * time.Millisecond)
	}
	procs[victim].signal(t, syscall.SIGKILL)
	<-procs[victim].done
	for k, p := range procs {
		if k != victim {
			res := p.wait(t, slow(90*time.Second))
			require.Equal(t, exitOK, res.Code, "shard %d: %s", k, res.Stderr)
		}
	}
	m, res := mergeShards(t, s3, "killed")
	assert.NotEqual(t, exitOK, res.Code, "a shard without its final report fails the merge")
	assert.Equal(t, outcomeFailed, m.Outcome, m.Error)

	res = runCLI(t, srv.URL(), testKey, shardCLI(s3, t, tc, "killed", input, victim))
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "resuming from checkpoint")
	tc.check(t, rows, srv.State())

	m, res = mergeShards(t, s3, "killed")
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.Equal(t, int64(n), m.Read)
	assert.Equal(t, int64(n), m.Delivered)
	assert.Equal(t, int64(n), m.InputRows)
	assert.Zero(t, m.Failed)
	assert.Equal(t, 2, m.Runs, "the killed shard ran twice")
}

// TestShardsPrune: 4 shards with --state and --prune sync a full catalog,
// then a feed that lacks some SKUs of every shard. One shard fails (its
// key is refused); it removes nothing, and the others remove exactly the
// missing SKUs they own.
func TestShardsPrune(t *testing.T) {
	t.Parallel()
	tc := chaosCase{entity: "catalog", file: "products.csv", args: []string{"--catalog-id", "1"}}
	feed := func(skip func(int) bool) string {
		var b strings.Builder
		b.WriteString("sku,price\n")
		for i := range 800 {
			if !skip(i) {
				fmt.Fprintf(&b, "SKU-%04d,%d\n", i, i)
			}
		}
		return b.String()
	}
	srv := startEmulator(t, emulator.Options{})
	s3 := startS3(t)
	dir := t.TempDir()
	state := dir + "/state-{shard}.db"
	run := func(name, content string, env func(i int) []string) []cliResult {
		input := s3.put(t, "feeds/"+name+".csv", []byte(content))
		var procs []*proc
		for k := range shards {
			c := shardCLI(s3, t, tc, name, input, k, "--state", state, "--prune", "--max-prune", "0.5")
			c.env = append(c.env, env(k)...)
			procs = append(procs, startCLI(t, srv.URL(), c))
		}
		var out []cliResult
		for _, p := range procs {
			out = append(out, p.wait(t, slow(60*time.Second)))
		}
		return out
	}
	for k, res := range run("full", feed(func(int) bool { return false }), func(int) []string { return nil }) {
		require.Equal(t, exitOK, res.Code, "shard %d: %s", k, res.Stderr)
	}
	require.Len(t, srv.State().Catalogs[1], 800)

	const failing = 1
	stale := func(i int) bool { return i%10 == 3 }
	results := run("partial", feed(stale), func(k int) []string {
		if k == failing {
			return []string{"TALON_API_KEY=not-the-key"}
		}
		return nil
	})
	for k, res := range results {
		if k == failing {
			assert.Equal(t, exitFailed, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, "refused the key")
			continue
		}
		require.Equal(t, exitOK, res.Code, "shard %d: %s", k, res.Stderr)
	}

	got := srv.State().Catalogs[1]
	removed := map[int]int64{}
	for i := range 800 {
		sku := fmt.Sprintf("SKU-%04d", i)
		_, present := got[sku]
		own := shard.Of(sku, shards)
		switch {
		case !stale(i):
			assert.True(t, present, "%s is in the feed", sku)
		case own == failing:
			assert.True(t, present, "%s is shard %d's, which failed: not removed", sku, own)
		default:
			assert.False(t, present, "%s lacks from the feed: shard %d removed it", sku, own)
			removed[own]++
		}
	}
	for k := range shards {
		rep := s3.report(t, fmt.Sprintf("partial/report-%d.json", k))
		if k == failing {
			assert.Equal(t, outcomeFailed, rep.Outcome)
			assert.Zero(t, rep.Pruned)
			continue
		}
		assert.Equal(t, removed[k], rep.Pruned, "shard %d removed the stale SKUs it owns", k)
	}
	m, res := mergeShards(t, s3, "partial")
	assert.Equal(t, exitFailed, res.Code)
	assert.Equal(t, outcomeFailed, m.Outcome)
	var total int64
	for _, v := range removed {
		total += v
	}
	assert.Equal(t, total, m.Pruned)
	assert.Positive(t, total)
	assert.True(t, slices.ContainsFunc(m.Parts, func(p reportPart) bool { return p.Outcome == outcomeFailed }))
}
