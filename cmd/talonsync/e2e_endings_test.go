package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestE2EUnreachable: an endpoint that cannot be reached at all fails the
// run within about ten seconds, with exit 1 and a message that names the
// host and the cause.
func TestE2EUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + l.Addr().String()
	require.NoError(t, l.Close())
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	t.Cleanup(plain.Close)
	tlsOnPlain := strings.Replace(plain.URL, "http://", "https://", 1)

	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("integrationId\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "p%d\n", i)
	}
	in := writeFile(t, dir, "p.csv", b.String())
	for _, tc := range []struct{ name, url, cause string }{
		{"closed port", closed, "connection refused"},
		{"https to a plain HTTP server", tlsOnPlain, "HTTP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each waits out the unreachable period
			rep := filepath.Join(t.TempDir(), "r.json")
			start := time.Now()
			res := runCLI(t, tc.url, testKey, cli{args: []string{"profiles", "--report", rep, in}})
			took := time.Since(start)
			require.Equal(t, exitFailed, res.Code, res.Stderr)
			assert.Less(t, took, slow(15*time.Second))
			assert.Contains(t, res.Stderr, "cannot reach the API at "+tc.url)
			assert.Contains(t, res.Stderr, tc.cause)
			assert.Contains(t, res.Stderr, "--base-url")
			assert.Contains(t, res.Stderr, "warning: retrying", "the retries are visible without -v")
			r := readReport(t, rep)
			assert.Equal(t, "failed", r.Outcome)
			assert.Zero(t, r.Delivered)
			assert.Equal(t, r.Read, r.Failed+r.NotAttempted, "every row read is failed or never attempted")
		})
	}
}

// TestE2EUnknownAudience: a wrong --audience-id stops the run with exit 1
// instead of rejecting every row.
func TestE2EUnknownAudience(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("profileIntegrationId\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "m%d\n", i)
	}
	in := writeFile(t, dir, "m.csv", b.String())
	res := runCLI(t, srv.URL(), testKey, cli{args: []string{"audiences", "--audience-id", "77", "--workers", "4", in}})
	require.Equal(t, exitFailed, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "audience 77 does not exist")
	assert.Contains(t, res.Stderr, "--audience-id")
	assert.LessOrEqual(t, srv.Stats().RequestsTotal, int64(4))
	assert.Empty(t, readRejects(t, in+".rejects.jsonl"), "no row is rejected for a missing audience")
}
