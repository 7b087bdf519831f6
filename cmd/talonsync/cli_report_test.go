package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestCLIReportOnEveryEnding: every run that gets past flag parsing writes
// its --report, with the outcome and the exit code, however it ends.
func TestCLIReportOnEveryEnding(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	good := writeFile(t, dir, "good.csv", "integrationId,Age:number\nc1,1\nc2,2\n")
	bad := writeFile(t, dir, "bad.csv", "integrationId,Age:number\nc1,1\nc2,abc\n")
	noKey := writeFile(t, dir, "nokey.csv", "customer,Age:number\nc1,1\n")
	ckpt := filepath.Join(dir, "done.ckpt")
	require.Equal(t, exitOK, runMain(t, emuEnv(srv, testKey), "", "profiles", "--checkpoint", ckpt, good).Code)

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		key     string
		args    []string
		code    int
		outcome string
	}{
		{name: "completed", key: testKey, args: []string{good}, code: exitOK, outcome: "completed"},
		{name: "nothing to do", key: testKey, args: []string{"--checkpoint", ckpt, good}, code: exitOK, outcome: "nothing_to_do"},
		{name: "rejected rows", key: testKey, args: []string{bad}, code: exitRejected, outcome: "rejected_rows"},
		{name: "failed", key: "tk-wrong", args: []string{good}, code: exitFailed, outcome: "failed"},
		{name: "usage error: header", key: testKey, args: []string{noKey}, code: exitUsage, outcome: "usage_error"},
		{name: "usage error: no key", key: "", args: []string{good}, code: exitUsage, outcome: "usage_error"},
		{name: "interrupted", ctx: cancelled, key: testKey, args: []string{good}, code: exitInterrupted, outcome: "interrupted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := filepath.Join(t.TempDir(), "report.json")
			args := append([]string{"profiles", "--report", rep, "--rejects", filepath.Join(t.TempDir(), "r.jsonl")}, tc.args...)
			ctx := tc.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			streams, _, errOut := TestIO("")
			env := emuEnv(srv, tc.key)
			code := run(ctx, args, streams, func(k string) string { return env[k] })
			require.Equal(t, tc.code, code, errOut.String())
			r := readReport(t, rep)
			assert.Equal(t, tc.outcome, r.Outcome)
			assert.Equal(t, tc.code, r.ExitCode)
			assert.Equal(t, r.Read, r.accounted(), "every row read is accounted for")
			if tc.code != exitOK {
				assert.NotEmpty(t, r.Error)
			}
		})
	}
}

// TestCLIOutputsCheckedFirst: a --report that cannot be written is refused
// before anything is sent.
func TestCLIOutputsCheckedFirst(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "p.csv", "integrationId\nc1\n")
	for _, rep := range []string{filepath.Join(dir, "no-such-dir", "r.json"), dir} {
		res := runMain(t, emuEnv(srv, testKey), "", "profiles", "--report", rep, in)
		assert.Equal(t, exitUsage, res.Code, res.Stderr)
		assert.Contains(t, res.Stderr, "--report")
	}
	// A checkpoint or a state in a directory that does not exist says so,
	// with the flag and the directory.
	missing := filepath.Join(dir, "no-such-dir")
	for _, flag := range []string{"--checkpoint", "--state"} {
		p := filepath.Join(missing, "x")
		res := runMain(t, emuEnv(srv, testKey), "", "profiles", flag, p, in)
		assert.Equal(t, exitUsage, res.Code, res.Stderr)
		assert.Contains(t, res.Stderr, flag+" "+p+": directory "+missing+" does not exist")
	}
	assert.Zero(t, srv.Stats().RequestsTotal, "nothing is sent when an output cannot be written")
}

// TestCLIReportCounts: the report says what happened to rows that were
// never sent (not attempted, not failed), and names no rejects file that
// was removed because nothing was rejected.
func TestCLIReportCounts(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("integrationId\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "p%d\n", i)
	}
	in := writeFile(t, dir, "p.csv", b.String())

	rep := filepath.Join(dir, "wrong.json")
	res := runMain(t, emuEnv(srv, "tk-wrong"), "", "profiles", "--report", rep, "--workers", "2", "--batch-size", "100", in)
	require.Equal(t, exitFailed, res.Code, res.Stderr)
	r := readReport(t, rep)
	assert.Zero(t, r.Delivered)
	assert.LessOrEqual(t, r.Failed, int64(2*100), "only the rows of the requests the API refused failed")
	assert.Positive(t, r.NotAttempted, "the rows after the stop were never attempted")
	assert.Equal(t, r.Read, r.Failed+r.NotAttempted)
	assert.Contains(t, res.Stderr, "not attempted")

	rep = filepath.Join(dir, "clean.json")
	res = runMain(t, emuEnv(srv, testKey), "", "profiles", "--report", rep, in)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	r = readReport(t, rep)
	assert.Empty(t, r.RejectsPath, "no rejects file is named when none is left")
	_, err := os.Stat(in + ".rejects.jsonl")
	assert.True(t, os.IsNotExist(err))
}
