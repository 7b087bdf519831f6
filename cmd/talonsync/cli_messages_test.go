package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestCLIRejectsInLineOrder: rejects the API gave late still stand in input
// line order, each with its line first.
func TestCLIRejectsInLineOrder(t *testing.T) {
	srv := startEmulator(t, emulator.Options{Schema: emulator.Schema{"profiles": {"Age": "number", "Tier": "string"}}})
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("integrationId,Age:number,Unknown\n") // line 1
	b.WriteString("p0,1,x\n")                           // line 2: the API refuses the unknown attribute
	for i := 1; i < 300; i++ {
		fmt.Fprintf(&b, "p%d,%d,\n", i, i)
	}
	b.WriteString("bad,abc,\n") // line 302: rejected while reading
	in := writeFile(t, dir, "p.csv", b.String())
	res := runMain(t, emuEnv(srv, testKey), "", "profiles", "--batch-size", "100", in)
	require.Equal(t, exitRejected, res.Code, res.Stderr)
	rejects := readRejects(t, in+".rejects.jsonl")
	require.Len(t, rejects, 2)
	assert.Equal(t, []int64{2, 302}, esRejectLines(t, in+".rejects.jsonl"))
	assert.True(t, strings.HasPrefix(rejects[0]["error"].(string), "line 2: api 400"), rejects[0]["error"])
}

// TestCLIMessages: what a user reads in the situations issue 11 found
// confusing.
func TestCLIMessages(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "p.csv", "integrationId\nc1\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string
		stdout []string
	}{
		{name: "a directory as input", args: []string{"profiles", dir}, code: exitUsage,
			stderr: []string{dir + " is a directory"}},
		{name: "two inputs", args: []string{"profiles", in, in}, code: exitUsage,
			stderr: []string{"talonsync: profiles takes exactly one input"}},
		{name: "an unknown command", args: []string{"profile", in}, code: exitUsage,
			stderr: []string{`unknown command "profile"`}},
		{name: "help ends with the exit codes", args: []string{"catalog", "--help"}, code: exitOK,
			stdout: []string{"Exit codes:", "130  interrupted"}},
		{name: "version", args: []string{"version"}, code: exitOK, stdout: []string{"talonsync ", "commit "}},
		{name: "-v is verbose, not the version", args: []string{"-v"}, code: exitUsage,
			stderr: []string{"unknown shorthand flag"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runMain(t, emuEnv(srv, testKey), "", tc.args...)
			assert.Equal(t, tc.code, res.Code, res.Stderr)
			for _, s := range tc.stderr {
				assert.Contains(t, res.Stderr, s)
			}
			for _, s := range tc.stdout {
				assert.Contains(t, res.Stdout, s)
			}
		})
	}
	help := runMain(t, nil, "", "profiles", "--help").Stdout
	assert.True(t, strings.HasSuffix(strings.TrimSpace(help), "130  interrupted by SIGINT or SIGTERM"), "help ends with the exit codes")
	assert.Zero(t, srv.Stats().RequestsTotal)
}

// TestCLIResumeHintForStdin: the hint after an interrupted stdin run says
// to feed the same stream again.
func TestCLIResumeHintForStdin(t *testing.T) {
	o := (&env{args: []string{"profiles", "--format", "csv", "--checkpoint", "p.ckpt", "-"}}).newSyncOptions(0)
	o.Input, o.Checkpoint = "-", "p.ckpt"
	assert.Contains(t, o.resumeHint(), "feeding the same stream, from its start")
	assert.Contains(t, o.resumeHint(), "talonsync profiles --format csv --checkpoint p.ckpt -")
	o.Input = filepath.Join("data", "p.csv")
	assert.Contains(t, o.resumeHint(), "Resume with the same command")
}

// TestCLIResumeHintForState: with --state the hint says that the same
// command sends only what was not confirmed, with or without a checkpoint;
// without either it says the whole input goes again.
func TestCLIResumeHintForState(t *testing.T) {
	o := (&env{args: []string{"profiles", "--state", "p.state", "p.csv"}}).newSyncOptions(0)
	o.Input, o.State = "p.csv", "p.state"
	assert.Contains(t, o.resumeHint(), "sends only what it did not confirm yet: talonsync profiles --state p.state p.csv")
	o.Checkpoint = "p.ckpt"
	assert.Contains(t, o.resumeHint(), "sends only what it did not confirm yet")
	o.State, o.Checkpoint = "", ""
	assert.Contains(t, o.resumeHint(), "without --checkpoint a new run sends the whole input again")
}

// TestCLIVersion: version prints the version, the commit (with its time
// when the build recorded one) and the Go version.
func TestCLIVersion(t *testing.T) {
	res := runMain(t, nil, "", "version")
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.Regexp(t, `^talonsync \S+ \(commit (unknown|[0-9a-f]{12}(-dirty)?( of \S+)?), go[0-9.]+\S*\)\n$`, res.Stdout)
}
