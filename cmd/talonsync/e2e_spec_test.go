package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
	"github.com/talonsync/talonsync/internal/talon/spectest"
)

// specCheck records every API request an emulator started with opts
// receives (chaining any OnRequest the test set) and returns the check to
// run once the emulator is closed: each recorded request is validated
// against the vendor's OpenAPI spec (spectest, loaded once per test
// binary), and each that does not conform fails tb with its problems.
func specCheck(tb testing.TB, opts *emulator.Options) func() {
	tb.Helper()
	rec := &spectest.Recorder{}
	prev := opts.OnRequest
	opts.OnRequest = func(r emulator.RequestRecord) {
		rec.Record(r)
		if prev != nil {
			prev(r)
		}
	}
	return func() {
		spec, err := spectest.Load()
		if err != nil {
			tb.Errorf("load the spec: %v", err)
			return
		}
		for _, f := range rec.Check(context.Background(), spec) {
			tb.Errorf("request does not conform to %s:\n%s %s?%s\n%v\nbody: %s",
				spectest.SpecSource, f.Record.Method, f.Record.Path, f.Record.RawQuery, f.Err, abbreviate(f.Record.Body, 2000))
		}
	}
}

func abbreviate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return fmt.Sprintf("%s... (%d bytes)", b[:n], len(b))
}

// errorsTB is a testing.TB whose Errorf only collects the messages.
type errorsTB struct {
	testing.TB
	errs []string
}

func (e *errorsTB) Errorf(format string, args ...any) {
	e.errs = append(e.errs, fmt.Sprintf(format, args...))
}

// TestSpecCheckFindsDrift proves the harness is not vacuous: a CLI run's
// requests pass, a request the spec refuses is found with its problem, and
// a test's own OnRequest still runs.
func TestSpecCheckFindsDrift(t *testing.T) {
	tb := &errorsTB{TB: t}
	inner := 0
	opts := emulator.Options{APIKey: testKey, OnRequest: func(emulator.RequestRecord) { inner++ }}
	check := specCheck(tb, &opts)
	srv, err := emulator.Start(opts)
	require.NoError(t, err)
	defer srv.Close()

	in := writeFile(t, t.TempDir(), "p.csv", "integrationId,Age:number\nc1,1\n")
	res := runMain(t, emuEnv(srv, testKey), "", "profiles", in)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.Equal(t, 1, inner, "the test's own OnRequest still runs")
	check()
	assert.Empty(t, tb.errs, "the CLI's request conforms")

	req, err := http.NewRequest(http.MethodPut, srv.URL()+"/v2/customer_profiles", strings.NewReader(`{"customerProfiles":[{"integrationId":5}]}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "ApiKey-v1 "+testKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	check()
	require.Len(t, tb.errs, 1)
	assert.Contains(t, tb.errs[0], "/customerProfiles/0/integrationId")
	assert.Contains(t, tb.errs[0], `{"integrationId":5}`)
}

// TestSpecExamples sends the example files, the demo's steps among them
// (the demo's own emulator is inside the binary, out of the harness's
// reach), to checked emulators.
func TestSpecExamples(t *testing.T) {
	t.Run("demo steps", func(t *testing.T) {
		srv := startEmulator(t, emulator.Options{APIKey: demoKey, Catalogs: []int64{1}, Audiences: []int64{1, 2, 3}})
		streams, out, _ := TestIO("")
		e := &env{io: streams, log: newLogger(out, "text", false)}
		dir := t.TempDir()
		for _, s := range demoSteps {
			require.NoError(t, runDemoStep(context.Background(), e, s, dir, srv.URL()), "%s", out)
		}
		assert.NotZero(t, srv.Stats().RequestsTotal)
	})
	for _, tc := range []struct{ file, cmd string }{
		{"products.jsonl", "catalog"}, {"profiles.jsonl", "profiles"}, {"audiences.csv", "audiences"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			srv := startEmulator(t, emulator.Options{})
			args := []string{tc.cmd, filepath.Join("..", "..", "examples", tc.file), "--rejects", filepath.Join(t.TempDir(), "r.jsonl")}
			if tc.cmd == "catalog" {
				args = append(args, "--catalog-id", "1")
			}
			res := runMain(t, emuEnv(srv, testKey), "", args...)
			require.Equal(t, exitOK, res.Code, res.Stderr)
			assert.NotZero(t, srv.Stats().RequestsTotal)
		})
	}
}
