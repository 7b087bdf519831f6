package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// End-to-end tests of --checkpoint: the real binary is killed or signalled
// mid-run and resumed, and the emulator's final state, the re-sent items,
// the rejects file and the report are checked against what the input says.

const (
	resumeBatch   = 100
	resumeWorkers = 4
	resumeCatalog = 1
)

// resumeFaults is the latency every resume test runs with, so that a run
// lasts long enough to be interrupted at a chosen point.
var resumeFaults = emulator.Faults{Latency: 20 * time.Millisecond, Jitter: 10 * time.Millisecond}

// resumeSchema makes the emulator answer 400 for a non-numeric Code, which
// is how the fixtures plant rows that only the API rejects.
var resumeSchema = emulator.Schema{emulator.SchemaCatalog: {"Color": "string", "Weight": "number", "Code": "number"}}

func startResumeEmulator(t *testing.T, f emulator.Faults) *emulator.Server {
	t.Helper()
	return startEmulator(t, emulator.Options{Faults: f, Schema: resumeSchema})
}

// catalogFixture is a generated catalog CSV and what syncing it must leave behind.
type catalogFixture struct {
	content  []byte
	rows     int
	rejected []int64 // input lines that must be in the rejects file, sorted
	applied  int64   // rows the API must apply
	want     map[string]emulator.CatalogItem
}

// genCatalog generates rows catalog rows over keys SKUs. One row in twenty
// goes to one of 50 hot SKUs, so keys repeat both far apart and close together; every
// row has its own Color, so only the last applied row of a SKU matches the
// expected item. With bad set, some rows fail to parse (rejected by the
// reader) and some carry a Code the API refuses (rejected with a 400).
func genCatalog(rows, keys int, seed uint64, bad bool) catalogFixture {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var b bytes.Buffer
	b.WriteString("sku,price,Color,Weight:number,Code\n")
	fx := catalogFixture{rows: rows, want: make(map[string]emulator.CatalogItem)}
	for i := range rows {
		line := int64(i + 2)
		k := rng.IntN(keys)
		if rng.IntN(20) == 0 {
			k = rng.IntN(50)
		}
		sku := fmt.Sprintf("sku-%05d", k)
		price := float64(1+i%500) + float64(i%100)/100
		color := fmt.Sprintf("c%d-%d", seed, i)
		weight, code := strconv.Itoa(i), ""
		parseBad := bad && i%997 == 500
		apiBad := bad && i%613 == 100
		if parseBad {
			weight = "heavy"
		}
		if apiBad {
			code = "x" + strconv.Itoa(i)
		}
		fmt.Fprintf(&b, "%s,%.2f,%s,%s,%s\n", sku, price, color, weight, code)
		if parseBad || apiBad {
			fx.rejected = append(fx.rejected, line)
			continue
		}
		fx.applied++
		p := price
		fx.want[sku] = emulator.CatalogItem{SKU: sku, Price: &p, Attributes: map[string]json.RawMessage{
			"Color":  json.RawMessage(strconv.Quote(color)),
			"Weight": json.RawMessage(weight),
		}}
	}
	fx.content = b.Bytes()
	return fx
}

// wantCode is the exit code of a run that finishes the fixture.
func (fx catalogFixture) wantCode() int {
	if len(fx.rejected) > 0 {
		return exitRejected
	}
	return exitOK
}

// resumeRun is the files and flags of one resumable catalog command.
type resumeRun struct {
	input, checkpoint, rejects, report string
	batchSize, workers                 int
	extra                              []string
}

func newResumeRun(t *testing.T, fx catalogFixture) resumeRun {
	t.Helper()
	dir := t.TempDir()
	return resumeRun{
		input:      writeFile(t, dir, "items.csv", string(fx.content)),
		checkpoint: filepath.Join(dir, "items.ckpt"),
		rejects:    filepath.Join(dir, "items.rejects.jsonl"),
		report:     filepath.Join(dir, "report.json"),
		batchSize:  resumeBatch,
		workers:    resumeWorkers,
	}
}

func (r resumeRun) cli() cli {
	args := []string{"catalog", "--catalog-id", strconv.Itoa(resumeCatalog),
		"--batch-size", strconv.Itoa(r.batchSize), "--workers", strconv.Itoa(r.workers),
		"--checkpoint", r.checkpoint, "--rejects", r.rejects, "--report", r.report,
		"--progress", "never"}
	return cli{args: append(append(args, r.extra...), r.input)}
}

// proc is a talonsync process started in the background.
type proc struct {
	cmd     *exec.Cmd
	out     *bytes.Buffer
	errOut  *bytes.Buffer
	done    chan struct{}
	err     error
	exitAt  time.Time
	started time.Time
}

// startCLI starts talonsync; a cleanup kills it if the test left it running.
func startCLI(t *testing.T, url string, c cli) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd, out, errOut := c.command(ctx, url, testKey)
	p := &proc{cmd: cmd, out: out, errOut: errOut, done: make(chan struct{}), started: time.Now()}
	if err := cmd.Start(); err != nil {
		cancel()
		require.NoError(t, err)
	}
	go func() {
		defer close(p.done)
		defer cancel()
		p.err = cmd.Wait()
		p.exitAt = time.Now()
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process group.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, syscall.Kill(-p.cmd.Process.Pid, sig))
}

// wait waits at most d for the process to end and returns its exit code,
// -1 when a signal ended it.
func (p *proc) wait(t *testing.T, d time.Duration) cliResult {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		t.Fatalf("talonsync did not exit within %v\nstderr: %s", d, p.errOut)
	}
	code := 0
	if p.err != nil {
		var ee *exec.ExitError
		require.True(t, errors.As(p.err, &ee), "wait talonsync: %v\nstderr: %s", p.err, p.errOut)
		code = ee.ExitCode()
	}
	return cliResult{Code: code, Stdout: p.out.String(), Stderr: p.errOut.String()}
}

// kill SIGKILLs the process once cond holds and waits for it to die. It
// fails the test if the process exits on its own first, since the kill
// point would then not have been exercised.
func (p *proc) killWhen(t *testing.T, srv *emulator.Server, what string, cond func(emulator.Stats) bool) {
	t.Helper()
	waitFor(t, p, srv, what, cond)
	p.signal(t, syscall.SIGKILL)
	<-p.done
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ok && ws.Signaled(), "talonsync was not killed at %q: %v\nstderr: %s", what, p.err, p.errOut)
}

// waitFor polls the emulator's Stats until cond holds.
func waitFor(t *testing.T, p *proc, srv *emulator.Server, what string, cond func(emulator.Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(slow(20 * time.Second))
	for !cond(srv.Stats()) {
		if p.exited() {
			t.Fatalf("talonsync exited before %s: %v\nstderr: %s", what, p.err, p.errOut)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; stats %+v\nstderr: %s", what, srv.Stats(), p.errOut)
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// resumeUntilDone runs c until it exits with 0 or 3 and returns the last
// result and how many runs it took.
func resumeUntilDone(t *testing.T, url string, c cli) (cliResult, int) {
	t.Helper()
	for n := 1; ; n++ {
		res := runCLI(t, url, testKey, c)
		if res.Code == exitOK || res.Code == exitRejected {
			return res, n
		}
		require.Less(t, n, 3, "resume %d exited %d\nstderr: %s", n, res.Code, res.Stderr)
	}
}

// assertCatalogState checks that the emulator's catalog is exactly fx.want.
func assertCatalogState(t *testing.T, srv *emulator.Server, fx catalogFixture) {
	t.Helper()
	got := srv.State().Catalogs[resumeCatalog]
	var diffs []string
	for sku, w := range fx.want {
		g, ok := got[sku]
		switch {
		case !ok:
			diffs = append(diffs, sku+": missing")
		case !sameJSON(t, g, w):
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			diffs = append(diffs, fmt.Sprintf("%s: got %s, want %s", sku, gb, wb))
		}
	}
	for sku := range got {
		if _, ok := fx.want[sku]; !ok {
			diffs = append(diffs, sku+": unexpected")
		}
	}
	slices.Sort(diffs)
	assert.Empty(t, diffs[:min(len(diffs), 10)], "%d of %d catalog items differ from the input's last rows", len(diffs), len(fx.want))
}

func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	norm := func(v any) any {
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		var out any
		require.NoError(t, json.Unmarshal(raw, &out))
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// assertRejects checks that the rejects file holds each rejected line once.
func assertRejects(t *testing.T, path string, want []int64) {
	t.Helper()
	got := []int64{}
	for _, r := range readRejects(t, path) {
		line, ok := r["line"].(float64)
		require.True(t, ok, "reject without a line: %v", r)
		got = append(got, int64(line))
	}
	slices.Sort(got)
	assert.Equal(t, append([]int64{}, want...), got, "rejects file lines")
}

// assertFinished checks the report, rejects file and checkpoint of a run
// that finished fx.
func assertFinished(t *testing.T, r resumeRun, fx catalogFixture) {
	t.Helper()
	assertRejects(t, r.rejects, fx.rejected)
	rep := readReport(t, r.report)
	assert.Equal(t, int64(fx.rows), rep.Read, "report read")
	assert.Equal(t, rep.Read, rep.accounted(), "every row read is accounted for")
	assert.Zero(t, rep.Failed, "report failed")
	assert.Equal(t, fx.applied, rep.Delivered, "report delivered")
	assert.Equal(t, int64(len(fx.rejected)), rep.Rejected, "report rejected")
	cp, err := checkpoint.Read(r.checkpoint)
	require.NoError(t, err)
	assert.True(t, cp.Completed, "checkpoint completed")
	assert.Equal(t, int64(fx.rows), cp.Counts.Read, "checkpoint read")
}

// killPoint is one SIGKILL of a run: when to kill it, and what to change
// on the emulator before and after.
type killPoint struct {
	what   string
	before func(srv *emulator.Server)
	when   func(s emulator.Stats, fx catalogFixture) bool
	after  func(srv *emulator.Server)
}

func TestResumeAfterKill(t *testing.T) {
	early := killPoint{what: "the first request", when: func(s emulator.Stats, _ catalogFixture) bool { return s.RequestsTotal >= 1 }}
	applied := func(num, den int64) killPoint {
		return killPoint{what: fmt.Sprintf("%d/%d of the items applied", num, den), when: func(s emulator.Stats, fx catalogFixture) bool {
			return s.ItemsApplied >= fx.applied*num/den
		}}
	}
	poison := killPoint{what: "the first 400", when: func(s emulator.Stats, _ catalogFixture) bool { return s.Requests[400] >= 1 }}
	storm := killPoint{
		what: "a 429 storm",
		before: func(srv *emulator.Server) {
			f := resumeFaults
			f.Fail429, f.NoRetryAfter = 0.5, true
			srv.SetFaults(f)
		},
		when:  func(s emulator.Stats, _ catalogFixture) bool { return s.Requests[429] >= 4 && s.ItemsApplied > 0 },
		after: func(srv *emulator.Server) { srv.SetFaults(resumeFaults) },
	}
	tests := []struct {
		name  string
		rows  int
		kills []killPoint
		// resume changes the command of the resumed run.
		resume func(*resumeRun)
	}{
		{name: "early", rows: 8000, kills: []killPoint{early}},
		// The lanes and the batch size may change between the runs of one
		// checkpoint: the done rows are skipped, the rest batched anew.
		{name: "resumed with other lanes and batches", rows: 8000, kills: []killPoint{applied(1, 2)},
			resume: func(r *resumeRun) { r.workers, r.batchSize = resumeWorkers+3, resumeBatch/2 }},
		{name: "mid-run", rows: 12000, kills: []killPoint{applied(1, 2)}},
		{name: "twice", rows: 12000, kills: []killPoint{applied(1, 3), applied(2, 3)}},
		{name: "isolating a 400", rows: 8000, kills: []killPoint{poison}},
		{name: "429 storm", rows: 8000, kills: []killPoint{storm}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := genCatalog(tc.rows, tc.rows/5, uint64(i+1), true)
			srv := startResumeEmulator(t, resumeFaults)
			r := newResumeRun(t, fx)
			for _, k := range tc.kills {
				if k.before != nil {
					k.before(srv)
				}
				p := startCLI(t, srv.URL(), r.cli())
				p.killWhen(t, srv, k.what, func(s emulator.Stats) bool { return k.when(s, fx) })
				if k.after != nil {
					k.after(srv)
				}
				if _, err := os.Stat(r.checkpoint); err == nil {
					_, err := checkpoint.Read(r.checkpoint)
					require.NoError(t, err, "checkpoint after SIGKILL")
				}
			}
			if tc.resume != nil {
				tc.resume(&r)
				_, err := checkpoint.Read(r.checkpoint)
				require.NoError(t, err, "a checkpoint to resume with other settings")
			}
			res, runs := resumeUntilDone(t, srv.URL(), r.cli())
			require.Equal(t, fx.wantCode(), res.Code, res.Stderr)
			assert.Equal(t, 1, runs, "resumes needed after the last kill")
			if tc.resume != nil {
				assert.Contains(t, res.Stderr, "resuming from checkpoint", "other lanes and batch size do not refuse the resume")
			}

			assertCatalogState(t, srv, fx)
			st := srv.Stats()
			resent := st.ItemsApplied - fx.applied
			bound := int64(len(tc.kills) * resumeWorkers * resumeBatch)
			t.Logf("%s: %d rows, %d kills: %d items re-sent (bound %d), %d requests", tc.name, fx.rows, len(tc.kills), resent, bound, st.RequestsTotal)
			assert.GreaterOrEqual(t, resent, int64(0), "every row to apply was applied")
			assert.LessOrEqual(t, resent, bound, "re-sent items exceed one batch per lane per kill")
			assertFinished(t, r, fx)
		})
	}
}

// interrupt starts c, sends sig once the emulator has seen a request, and
// expects a graceful exit 130 within grace.
func interrupt(t *testing.T, srv *emulator.Server, c cli, sig syscall.Signal, grace time.Duration) cliResult {
	t.Helper()
	before := srv.Stats().RequestsTotal
	p := startCLI(t, srv.URL(), c)
	waitFor(t, p, srv, "the first request", func(s emulator.Stats) bool { return s.RequestsTotal > before })
	sent := time.Now()
	p.signal(t, sig)
	res := p.wait(t, grace+slow(10*time.Second))
	require.Equal(t, exitInterrupted, res.Code, res.Stderr)
	assert.Less(t, p.exitAt.Sub(sent), grace, "graceful stop took longer than --grace")
	return res
}

func TestResumeAfterSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			fx := genCatalog(10000, 2000, uint64(sig)+100, false)
			srv := startResumeEmulator(t, resumeFaults)
			r := newResumeRun(t, fx)
			grace := slow(5 * time.Second)
			r.extra = []string{"--grace", grace.String()}

			res := interrupt(t, srv, r.cli(), sig, grace)
			assert.Contains(t, res.Stderr, "finishing requests in flight")
			assert.Contains(t, res.Stderr, "Resume with the same command")
			assert.Contains(t, res.Stderr, "talonsync catalog --catalog-id 1")
			assert.Contains(t, res.Stderr, r.checkpoint)

			fi, err := os.Stat(r.checkpoint)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "checkpoint mode")
			cp, err := checkpoint.Read(r.checkpoint)
			require.NoError(t, err)
			assert.False(t, cp.Completed)
			// A graceful stop waits for the requests in flight, so the
			// checkpoint accounts for every item the API applied.
			assert.Equal(t, srv.Stats().ItemsApplied, cp.Counts.Delivered, "items applied vs checkpointed")
			assert.Less(t, cp.Counts.Delivered, fx.applied, "the stop came too late to leave work")

			res = runCLI(t, srv.URL(), testKey, r.cli())
			require.Equal(t, exitOK, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, "resuming from checkpoint")
			assertCatalogState(t, srv, fx)
			assert.Equal(t, fx.applied, srv.Stats().ItemsApplied, "a graceful stop re-sends nothing")
			assertFinished(t, r, fx)
		})
	}
}

func TestResumeSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	fx := genCatalog(3000, 600, 7, false)
	latency := 10 * time.Second
	srv := startResumeEmulator(t, emulator.Faults{Latency: latency})
	r := newResumeRun(t, fx)
	r.extra = []string{"--grace", "60s"}

	p := startCLI(t, srv.URL(), r.cli())
	waitFor(t, p, srv, "the first request", func(s emulator.Stats) bool { return s.RequestsTotal >= 1 })
	// The checkpointer also writes on a 1s timer; wait for that write so
	// there is a checkpoint for the abrupt exit to leave behind.
	deadline := time.Now().Add(slow(5 * time.Second))
	for {
		if _, err := os.Stat(r.checkpoint); err == nil {
			break
		}
		require.False(t, time.Now().After(deadline), "no checkpoint written\nstderr: %s", p.errOut)
		time.Sleep(10 * time.Millisecond)
	}
	p.signal(t, syscall.SIGINT)
	time.Sleep(100 * time.Millisecond)
	second := time.Now()
	p.signal(t, syscall.SIGINT)
	res := p.wait(t, latency+slow(10*time.Second))
	require.Equal(t, exitInterrupted, res.Code, res.Stderr)
	assert.Less(t, p.exitAt.Sub(second), slow(time.Second), "second signal did not exit at once")
	assert.Less(t, p.exitAt.Sub(p.started), latency, "exit waited for the requests in flight")
	assert.Zero(t, srv.Stats().Requests[200], "no request can have been answered yet")

	cp, err := checkpoint.Read(r.checkpoint)
	require.NoError(t, err, "checkpoint after the second signal")
	assert.False(t, cp.Completed)

	srv.SetFaults(resumeFaults)
	res = runCLI(t, srv.URL(), testKey, r.cli())
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assertCatalogState(t, srv, fx)
	assertFinished(t, r, fx)
}

func TestResumeSafetyChecks(t *testing.T) {
	t.Run("completed input again does nothing", func(t *testing.T) {
		t.Parallel()
		fx := genCatalog(2000, 500, 11, true)
		srv := startResumeEmulator(t, resumeFaults)
		r := newResumeRun(t, fx)
		res := runCLI(t, srv.URL(), testKey, r.cli())
		require.Equal(t, exitRejected, res.Code, res.Stderr)
		before := srv.Stats()

		res = runCLI(t, srv.URL(), testKey, r.cli())
		assert.Equal(t, exitOK, res.Code, res.Stderr)
		assert.Contains(t, res.Stderr, "nothing to do")
		assert.Equal(t, before, srv.Stats(), "no request may be sent")
		assertCatalogState(t, srv, fx)
		assertRejects(t, r.rejects, fx.rejected)
	})

	t.Run("completed checkpoint and a new input starts fresh", func(t *testing.T) {
		t.Parallel()
		fx := genCatalog(2000, 500, 12, false)
		srv := startResumeEmulator(t, resumeFaults)
		r := newResumeRun(t, fx)
		res := runCLI(t, srv.URL(), testKey, r.cli())
		require.Equal(t, exitOK, res.Code, res.Stderr)
		old, err := checkpoint.Read(r.checkpoint)
		require.NoError(t, err)

		// Tonight's export replaces yesterday's at the same path; it has
		// new values for the same SKUs, so it must all be sent again.
		next := genCatalog(2000, 500, 13, false)
		require.NoError(t, os.WriteFile(r.input, next.content, 0o600))
		applied := srv.Stats().ItemsApplied
		res = runCLI(t, srv.URL(), testKey, r.cli())
		require.Equal(t, exitOK, res.Code, res.Stderr)
		assert.NotContains(t, res.Stderr, "nothing to do")
		assert.NotContains(t, res.Stderr, "resuming")
		assert.Equal(t, next.applied, srv.Stats().ItemsApplied-applied, "the new input is delivered in full")
		want := maps.Clone(fx.want)
		maps.Copy(want, next.want)
		assertCatalogState(t, srv, catalogFixture{want: want})
		assertFinished(t, r, next)
		cp, err := checkpoint.Read(r.checkpoint)
		require.NoError(t, err)
		assert.NotEqual(t, old.Input, cp.Input, "the checkpoint now names the new input")
		assert.Equal(t, 1, cp.Runs)
	})

	t.Run("unfinished checkpoint and other settings", func(t *testing.T) {
		t.Parallel()
		fx := genCatalog(10000, 2000, 14, true)
		srv := startResumeEmulator(t, resumeFaults)
		r := newResumeRun(t, fx)
		interrupt(t, srv, r.cli(), syscall.SIGINT, slow(10*time.Second))
		cpBefore, err := os.ReadFile(r.checkpoint)
		require.NoError(t, err)

		changes := []struct {
			name   string
			change func(*resumeRun)
			says   string
		}{
			{"delimiter", func(r *resumeRun) { r.extra = []string{"--delimiter", ";"} }, `--delimiter was ",", now ";"`},
			{"catalog", func(r *resumeRun) { r.extra = []string{"--catalog-id", "2"} }, `--catalog-id was 1, now 2`},
		}
		for _, ch := range changes {
			other := r
			ch.change(&other)
			requests := srv.Stats().RequestsTotal
			res := runCLI(t, srv.URL(), testKey, other.cli())
			assert.Equal(t, exitUsage, res.Code, "%s: %s", ch.name, res.Stderr)
			assert.Contains(t, res.Stderr, "checkpoint does not match", ch.name)
			assert.Contains(t, res.Stderr, ch.says, ch.name)
			assert.Contains(t, res.Stderr, "--restart", ch.name)
			assert.Equal(t, requests, srv.Stats().RequestsTotal, "%s: no request may be sent", ch.name)
			cpNow, err := os.ReadFile(r.checkpoint)
			require.NoError(t, err)
			assert.Equal(t, cpBefore, cpNow, "%s: the checkpoint must be left alone", ch.name)
		}

		r.batchSize = 50
		r.extra = []string{"--restart"}
		res := runCLI(t, srv.URL(), testKey, r.cli())
		require.Equal(t, exitRejected, res.Code, res.Stderr)
		assertCatalogState(t, srv, fx)
		assertFinished(t, r, fx)
	})

	t.Run("unfinished checkpoint resumes with other workers and batch size", func(t *testing.T) {
		t.Parallel()
		fx := genCatalog(10000, 2000, 16, true)
		srv := startResumeEmulator(t, resumeFaults)
		r := newResumeRun(t, fx)
		interrupt(t, srv, r.cli(), syscall.SIGINT, slow(10*time.Second))
		r.batchSize, r.workers = 37, 7
		res := runCLI(t, srv.URL(), testKey, r.cli())
		require.Equal(t, exitRejected, res.Code, res.Stderr)
		assert.Contains(t, res.Stderr, "resuming from checkpoint")
		assertCatalogState(t, srv, fx)
		assertFinished(t, r, fx)
	})

	t.Run("second run on the same checkpoint", func(t *testing.T) {
		t.Parallel()
		fx := genCatalog(4000, 800, 15, false)
		srv := startResumeEmulator(t, emulator.Faults{Latency: 300 * time.Millisecond})
		r := newResumeRun(t, fx)
		p := startCLI(t, srv.URL(), r.cli())
		waitFor(t, p, srv, "the first request", func(s emulator.Stats) bool { return s.RequestsTotal >= 1 })

		res := runCLI(t, srv.URL(), testKey, r.cli())
		assert.Equal(t, exitUsage, res.Code, res.Stderr)
		assert.Contains(t, res.Stderr, "checkpoint is in use")
		require.False(t, p.exited(), "the first run ended too soon to overlap")

		srv.SetFaults(resumeFaults)
		res = p.wait(t, slow(60*time.Second))
		require.Equal(t, exitOK, res.Code, res.Stderr)
		assertCatalogState(t, srv, fx)
		assertFinished(t, r, fx)
	})
}

func TestResumeStdin(t *testing.T) {
	tests := []struct {
		name string
		stop func(t *testing.T, p *proc, srv *emulator.Server)
		code int
	}{
		{name: "SIGINT", stop: func(t *testing.T, p *proc, srv *emulator.Server) {
			waitFor(t, p, srv, "the first request", func(s emulator.Stats) bool { return s.RequestsTotal >= 1 })
			p.signal(t, syscall.SIGINT)
		}, code: exitInterrupted},
		{name: "SIGKILL", stop: func(t *testing.T, p *proc, srv *emulator.Server) {
			waitFor(t, p, srv, "a third of the items", func(s emulator.Stats) bool { return s.ItemsApplied >= 2000 })
			p.signal(t, syscall.SIGKILL)
		}, code: -1},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seed := uint64(40 + i)
			fx := genCatalog(8000, 1600, seed, true)
			srv := startResumeEmulator(t, resumeFaults)
			r := newResumeRun(t, fx)
			r.input = "-"
			c := r.cli()
			c.args = slices.Insert(c.args, 1, "--format", "csv")
			c.stdin = fx.content

			p := startCLI(t, srv.URL(), c)
			tc.stop(t, p, srv)
			res := p.wait(t, slow(20*time.Second))
			require.Equal(t, tc.code, res.Code, res.Stderr)
			cp, err := checkpoint.Read(r.checkpoint)
			require.NoError(t, err)
			require.False(t, cp.Completed)
			assert.Equal(t, int64(-1), cp.Input.Size, "a stream has no size")

			// Another stream on the same checkpoint is refused.
			other := c
			other.stdin = bytes.Replace(fx.content, fmt.Appendf(nil, "c%d-5,", seed), fmt.Appendf(nil, "c%d-X,", seed), 1)
			require.NotEqual(t, fx.content, other.stdin)
			requests := srv.Stats().RequestsTotal
			res = runCLI(t, srv.URL(), testKey, other)
			assert.Equal(t, exitUsage, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, "another input")
			assert.Equal(t, requests, srv.Stats().RequestsTotal, "no request may be sent")

			res, runs := resumeUntilDone(t, srv.URL(), c)
			require.Equal(t, exitRejected, res.Code, res.Stderr)
			assert.Equal(t, 1, runs)
			assert.Contains(t, res.Stderr, "resuming from checkpoint")
			assertCatalogState(t, srv, fx)
			resent := srv.Stats().ItemsApplied - fx.applied
			t.Logf("stdin after %s: %d items re-sent", tc.name, resent)
			assert.LessOrEqual(t, resent, int64(resumeWorkers*resumeBatch))
			assertFinished(t, r, fx)
		})
	}
}
