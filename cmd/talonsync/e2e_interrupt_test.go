package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestInterruptWhileWaitingOnStdin: Ctrl-C while the tool waits for its
// first bytes on stdin stops it within a second, with exit 130.
func TestInterruptWhileWaitingOnStdin(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd, _, _ := cli{args: []string{"profiles", "-v", "--format", "csv", "-"}}.command(ctx, srv.URL(), testKey)
	errOut := &syncBuffer{}
	cmd.Stderr = errOut
	stdin, err := cmd.StdinPipe() // held open, never written: a producer that is slow to start
	require.NoError(t, err)
	defer stdin.Close()
	require.NoError(t, cmd.Start())
	// -v says when the run waits on stdin, so the signal comes after the
	// handlers are in place however slow the machine.
	for !strings.Contains(errOut.String(), "waiting for the input on stdin") {
		require.NoError(t, ctx.Err(), "never waited on stdin: %s", errOut)
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	sent := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err = cmd.Wait()
	took := time.Since(sent)
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "stderr: %s", errOut)
	assert.Equal(t, exitInterrupted, ee.ExitCode(), errOut.String())
	assert.Less(t, took, slow(time.Second), "Ctrl-C took too long to stop a run waiting on stdin")
	assert.Contains(t, errOut.String(), "interrupted")
	assert.Zero(t, srv.Stats().RequestsTotal)
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cancelOn is a writer that cancels a context once what was written to it
// contains a marker, as a user's Ctrl-C at that moment would.
type cancelOn struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	marker  string
	cancel  context.CancelFunc
	stopped time.Time
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.stopped.IsZero() && strings.Contains(w.buf.String(), w.marker) {
		w.stopped = time.Now()
		w.cancel()
	}
	return len(p), nil
}

func (w *cancelOn) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// runCancelled runs the CLI in-process and cancels its context when stdout
// shows marker. It returns the exit code, the output and how long the
// command took to return after the cancellation.
func runCancelled(t *testing.T, env map[string]string, marker string, args ...string) (int, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &cancelOn{marker: marker, cancel: cancel}
	var errOut bytes.Buffer
	code := run(ctx, args, &IOStreams{In: strings.NewReader(""), Out: out, ErrOut: &errOut}, func(k string) string { return env[k] })
	require.False(t, out.stopped.IsZero(), "the marker %q never appeared: %s\n%s", marker, out, errOut.String())
	return code, out.String() + errOut.String(), time.Since(out.stopped)
}

// TestInterruptDemo: a stop during the demo ends it with exit 130; the
// later steps do not run.
func TestInterruptDemo(t *testing.T) {
	code, out, took := runCancelled(t, nil, "$ talonsync profiles", "demo")
	assert.Equal(t, exitInterrupted, code, out)
	assert.Less(t, took, slow(time.Second))
	assert.NotContains(t, out, "$ talonsync audiences", "the demo went on after the stop")
	assert.NotContains(t, out, "The emulator now holds")
}

// TestInterruptStateExport: a stop during state export ends it with exit
// 130 before every key is written.
func TestInterruptStateExport(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("integrationId,Age:number\n")
	const keys = 5000
	for i := range keys {
		fmt.Fprintf(&b, "p%05d,%d\n", i, i%90)
	}
	in := writeFile(t, dir, "p.csv", b.String())
	statePath := filepath.Join(dir, "p.state")
	res := runMain(t, emuEnv(srv, testKey), "", "profiles", "--state", statePath, in)
	require.Equal(t, exitOK, res.Code, res.Stderr)

	code, out, took := runCancelled(t, nil, "\n", "state", "export", "--state", statePath)
	assert.Equal(t, exitInterrupted, code, out)
	assert.Less(t, took, slow(time.Second))
	assert.Less(t, strings.Count(out, `"key"`), keys, "the export went on after the stop")
}

// TestJSONLogLines: with --log-format json, every line a sync writes to
// stderr is one JSON object: on a clean run, with rejects, with a key the
// API refuses, and when interrupted.
func TestJSONLogLines(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	slowSrv := startEmulator(t, emulator.Options{Faults: emulator.Faults{Latency: 200 * time.Millisecond}})
	dir := t.TempDir()
	clean := writeFile(t, dir, "clean.csv", "integrationId,Age:number\nc1,1\nc2,2\n")
	bad := writeFile(t, dir, "bad.csv", "integrationId,Age:number\nc1,1\nc2,abc\n")
	var b strings.Builder
	b.WriteString("integrationId\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "p%d\n", i)
	}
	many := writeFile(t, dir, "many.csv", b.String())
	base := []string{"profiles", "--log-format", "json", "--stats-interval", "50ms", "-v", "--max-retries", "1"}
	tests := []struct {
		name      string
		url, key  string
		input     string
		extra     []string
		interrupt bool
		code      int
	}{
		{name: "clean run", url: srv.URL(), key: testKey, input: clean, code: exitOK},
		{name: "rejects", url: srv.URL(), key: testKey, input: bad, code: exitRejected},
		{name: "401", url: srv.URL(), key: "tk-wrong", input: clean, code: exitFailed},
		{name: "interrupted", url: slowSrv.URL(), key: testKey, input: many, extra: []string{"--batch-size", "100", "--workers", "1", "--checkpoint", filepath.Join(dir, "c.ckpt")}, interrupt: true, code: exitInterrupted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append(append([]string{}, base...), tc.extra...), "--rejects", filepath.Join(t.TempDir(), "r.jsonl"), tc.input)
			var res cliResult
			if tc.interrupt {
				before := slowSrv.Stats().RequestsTotal
				p := startCLI(t, tc.url, cli{args: args})
				waitFor(t, p, slowSrv, "the first request", func(s emulator.Stats) bool { return s.RequestsTotal > before })
				p.signal(t, syscall.SIGINT)
				res = p.wait(t, slow(10*time.Second))
			} else {
				res = runCLI(t, tc.url, tc.key, cli{args: args})
			}
			require.Equal(t, tc.code, res.Code, res.Stderr)
			lines := strings.Split(strings.TrimRight(res.Stderr, "\n"), "\n")
			require.NotEmpty(t, lines)
			for _, line := range lines {
				var m map[string]any
				assert.NoError(t, json.Unmarshal([]byte(line), &m), "a stderr line that is not JSON: %q", line)
				assert.Contains(t, m, "msg", line)
				assert.Contains(t, m, "level", line)
			}
		})
	}
}
