package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// The tests in this file run the CLI in-process through Main, with test
// streams and an environment of their own, against an in-process emulator:
// flags, files, rejects and reports, as a user gets them, without a
// subprocess. Signals, kills and exit codes of the real binary are the e2e
// tests' part.

// mainResult is the outcome of one in-process run of Main.
type mainResult struct {
	Code   int
	Stdout string
	Stderr string
}

// runMain runs Main with args, stdin as standard input and env as the
// whole environment.
func runMain(t *testing.T, env map[string]string, stdin string, args ...string) mainResult {
	t.Helper()
	streams, out, errOut := TestIO(stdin)
	code := Main(args, streams, func(k string) string { return env[k] })
	return mainResult{Code: code, Stdout: out.String(), Stderr: errOut.String()}
}

// emuEnv is the environment of a run against srv with key ("" for none).
func emuEnv(srv *emulator.Server, key string) map[string]string {
	env := map[string]string{"TALON_BASE_URL": srv.URL()}
	if key != "" {
		env["TALON_API_KEY"] = key
	}
	return env
}

func TestCLIUsageErrors(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "p.csv", "integrationId,Age:number\nc1,1\n")
	tests := []struct {
		name   string
		args   []string
		key    string
		stdin  string
		stderr string
	}{
		{name: "missing file", args: []string{"profiles", filepath.Join(dir, "nope.csv")}, key: testKey, stderr: "nope.csv"},
		{name: "bad flag", args: []string{"profiles", "--no-such-flag", in}, key: testKey, stderr: "unknown flag"},
		{name: "no API key", args: []string{"profiles", in}, key: "", stderr: "no API key"},
		{name: "stdin without format", args: []string{"profiles", "-"}, key: testKey, stdin: "integrationId\nc1\n", stderr: "--format"},
		{name: "batch size 1001", args: []string{"profiles", "--batch-size", "1001", in}, key: testKey, stderr: "--batch-size"},
		{name: "workers 0", args: []string{"profiles", "--workers", "0", in}, key: testKey, stderr: "--workers"},
		{name: "catalog without id", args: []string{"catalog", writeFile(t, dir, "c.csv", "sku\nA\n")}, key: testKey, stderr: "--catalog-id"},
		{name: "two inputs", args: []string{"profiles", in, in}, key: testKey, stderr: "exactly one input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runMain(t, emuEnv(srv, tc.key), tc.stdin, tc.args...)
			assert.Equal(t, exitUsage, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, tc.stderr)
		})
	}
	assert.Equal(t, int64(0), srv.Stats().RequestsTotal, "a usage error sends nothing")
}

func TestCLIDryRun(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		code     int
		rejected []int64
	}{
		{name: "clean input", content: "integrationId,Age:number\nc1,1\nc2,2\n", code: exitOK},
		{name: "a row fails parsing", content: "integrationId,Age:number\nc1,1\nc2,abc\nc3,3\n", code: exitRejected, rejected: []int64{3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := writeFile(t, dir, "p.csv", tc.content)
			run := func(srv *emulator.Server, dry bool) (mainResult, report, []int64) {
				rep := filepath.Join(dir, fmt.Sprintf("report-%v.json", dry))
				rej := filepath.Join(dir, fmt.Sprintf("rejects-%v.jsonl", dry))
				args := []string{"profiles", "--report", rep, "--rejects", rej, in}
				if dry {
					args = append([]string{"profiles", "--dry-run"}, args[1:]...)
				}
				res := runMain(t, emuEnv(srv, testKey), "", args...)
				return res, readReport(t, rep), esRejectLines(t, rej)
			}
			live := startEmulator(t, emulator.Options{})
			realRes, realRep, realRejects := run(live, false)
			require.Equal(t, tc.code, realRes.Code, realRes.Stderr)

			dry := startEmulator(t, emulator.Options{})
			dryRes, dryRep, dryRejects := run(dry, true)
			assert.Equal(t, realRes.Code, dryRes.Code, "a dry run exits as a real run would: %s", dryRes.Stderr)
			assert.Equal(t, int64(0), dry.Stats().RequestsTotal, "a dry run sends nothing")
			assert.JSONEq(t, emptyState, esStateJSON(t, dry))
			assert.True(t, dryRep.DryRun)
			assert.Equal(t, tc.rejected, dryRejects)
			assert.Equal(t, realRejects, dryRejects)
			assert.Equal(t, realRep.Read, dryRep.Read)
			assert.Equal(t, realRep.Rejected, dryRep.Rejected)
			assert.Zero(t, dryRep.Delivered, "a dry run delivers nothing")
			assert.Equal(t, realRep.Delivered, dryRep.WouldSend, "it would send what a real run delivers")
			assert.Equal(t, dryRep.Read, dryRep.accounted())
			assert.Contains(t, dryRes.Stderr, "dry run")
		})
	}
}

func TestCLIRejectsFile(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		lines   []int64
		check   func(t *testing.T, st emulator.State)
	}{
		{
			name: "csv with multi-line quoted fields",
			file: "p.csv",
			content: "integrationId,Age:number,Note\n" + // 1
				"ok1,1,a\n" + // 2
				"bad1,abc,b\n" + // 3: not a number
				"ml1,2,\"first\n" + // 4
				"second, \"\"q\"\"\n" + // 5
				"third\"\n" + // 6
				"bad2,1.2.3,c\n" + // 7: not a number
				"bad3,1\n" + // 8: too few fields
				"ml2,xyz,\"x\n" + // 9: not a number, and spans two lines
				"y\"\n" + // 10
				"ok2,3,z\n" + // 11
				",4,w\n", // 12: no integrationId
			lines: []int64{3, 7, 8, 9, 12},
			check: func(t *testing.T, st emulator.State) {
				assert.ElementsMatch(t, []string{"ok1", "ml1", "ok2"}, slices.Collect(maps.Keys(st.Profiles)))
				assert.JSONEq(t, `"first\nsecond, \"q\"\nthird"`, string(st.Profiles["ml1"].Attributes["Note"]))
			},
		},
		{
			name: "jsonl",
			file: "p.jsonl",
			content: `{"integrationId":"ok1"}` + "\n" + // 1
				`{"integrationId":` + "\n" + // 2: invalid JSON
				"\n" + // 3: blank
				`{"attributes":{"Age":1}}` + "\n" + // 4: no integrationId
				`{"integrationId":"ok2","extra":1}` + "\n" + // 5: unknown field
				`{"integrationId":"ok3","attributes":{"Age":2}}` + "\n", // 6
			lines: []int64{2, 4, 5},
			check: func(t *testing.T, st emulator.State) {
				assert.ElementsMatch(t, []string{"ok1", "ok3"}, slices.Collect(maps.Keys(st.Profiles)))
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startEmulator(t, emulator.Options{})
			dir := t.TempDir()
			in := writeFile(t, dir, tc.file, tc.content)
			res := runMain(t, emuEnv(srv, testKey), "", "profiles", in)
			require.Equal(t, exitRejected, res.Code, res.Stderr)
			path := in + ".rejects.jsonl"
			assert.Contains(t, res.Stderr, path, "the summary names the rejects file")
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			assert.Equal(t, tc.lines, esRejectLines(t, path))
			for _, r := range readRejects(t, path) {
				assert.NotEmpty(t, r["error"], "every reject has a reason")
				assert.NotEmpty(t, r["record"], "every reject has its record")
			}
			tc.check(t, srv.State())
		})
	}
}
