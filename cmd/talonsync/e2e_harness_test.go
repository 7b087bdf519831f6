package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// The end-to-end tests build the real talonsync binary once and run it as a
// separate process against an in-process emulator, so that signals, exit
// codes, files and stdout/stderr are what a user gets.

var talonsyncBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "talonsync-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	talonsyncBin = filepath.Join(dir, "talonsync")
	args := []string{"build", "-o", talonsyncBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build talonsync:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testKey = "tk-e2e-SECRET-4242"

// startEmulator starts an emulator with the test key and stops it at the
// end of the test. Every request it receives is checked against the
// vendor's OpenAPI spec then (specCheck): a body the CLI sends that the
// spec refuses fails the test that sent it.
func startEmulator(t *testing.T, opts emulator.Options) *emulator.Server {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey = testKey
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	check := specCheck(t, &opts)
	srv, err := emulator.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	t.Cleanup(check) // after Close: every request is in
	return srv
}

// cliResult is the outcome of one CLI process.
type cliResult struct {
	Code   int
	Stdout string
	Stderr string
}

// cli describes one talonsync invocation.
type cli struct {
	args  []string
	env   []string // extra KEY=VALUE
	stdin []byte
	dir   string
	bin   string // the binary; default talonsyncBin
}

// command builds the exec.Cmd with TALON_API_KEY set to key and TALON_BASE_URL to url.
func (c cli) command(ctx context.Context, url, key string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	bin := c.bin
	if bin == "" {
		bin = talonsyncBin
	}
	cmd := exec.CommandContext(ctx, bin, c.args...)
	// The race detector sleeps a second at every clean exit by default.
	cmd.Env = append(os.Environ(), "TALON_BASE_URL="+url, "TALON_API_KEY="+key, "GORACE=atexit_sleep_ms=0")
	cmd.Env = append(cmd.Env, c.env...)
	cmd.Dir = c.dir
	if c.stdin != nil {
		cmd.Stdin = bytes.NewReader(c.stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, &out, &errOut
}

// runCLI runs talonsync to completion (at most two minutes) against url with key.
func runCLI(t testing.TB, url, key string, c cli) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, out, errOut := c.command(ctx, url, key)
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "run talonsync: %v\nstderr: %s", err, errOut)
		code = ee.ExitCode()
	}
	return cliResult{Code: code, Stdout: out.String(), Stderr: errOut.String()}
}

// readReport loads a --report file.
func readReport(t *testing.T, path string) report {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var r report
	require.NoError(t, json.Unmarshal(b, &r))
	return r
}

// readRejects loads a rejects file; a missing file means no rejects.
func readRejects(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal(line, &m), "rejects line %q", line)
		out = append(out, m)
	}
	return out
}

// writeFile writes content to name in dir and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// slow scales a duration for slow CI machines and the race detector.
func slow(d time.Duration) time.Duration {
	if raceEnabled || runtime.NumCPU() < 2 {
		return 3 * d
	}
	return d
}

// accounted is the sum of a report's row outcomes, which must equal Read.
func (r report) accounted() int64 {
	return r.Delivered + r.Rejected + r.Unchanged + r.Failed + r.NotAttempted + r.WouldSend
}
