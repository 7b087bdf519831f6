package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/blob"
	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
)

// setS3Env points this process's AWS SDK at s3.
func setS3Env(t *testing.T, s3 *s3Server) {
	for _, kv := range s3.env(t) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Two runs that start at once on no checkpoint both read that there is
// none; the first claim creates it, and the second's (If-None-Match) fails:
// that run stops with exit 2.
func TestCheckpointClaimRace(t *testing.T) {
	s3 := startS3(t)
	setS3Env(t, s3)
	streams, _, _ := TestIO("")
	e := &env{io: streams, log: newLogger(streams.ErrOut, "text", false)}
	open := func() *checkpointLoc {
		o := e.newSyncOptions(readers.EntityCatalog)
		o.Checkpoint = "s3://bkt/race.ckpt"
		ck, cp, err := o.openCheckpointLoc(t.Context())
		require.NoError(t, err)
		require.Nil(t, cp)
		return ck
	}
	a, b := open(), open()
	require.NoError(t, a.claim(t.Context(), &checkpoint.Record{RunID: "a", Owner: "a"}))
	err := b.claim(t.Context(), &checkpoint.Record{RunID: "b", Owner: "b"})
	require.ErrorIs(t, err, errLostOwnership)
	assert.Equal(t, exitUsage, exitCode(err))
	var puts []s3Request
	for _, r := range s3.requests() {
		if r.Method == "PUT" {
			puts = append(puts, r)
		}
	}
	require.Len(t, puts, 2)
	assert.Equal(t, "*", puts[1].IfNoneMatch, "the server refused the second create")
	cp := s3.checkpoint(t, "race.ckpt")
	assert.Equal(t, "a", cp.Owner)
}

func TestObjectLocationsChecked(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "p.csv", "integrationId\nc1\n")
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{name: "a bucket checkpoint with local rejects", args: []string{"--checkpoint", "s3://bkt/c.ckpt", "--rejects", dir + "/r.jsonl"}, stderr: "must both be in object storage or both local"},
		{name: "local checkpoint, rejects in a bucket", args: []string{"--checkpoint", dir + "/c.ckpt", "--rejects", "s3://bkt/r.jsonl"}, stderr: "must both be in object storage or both local"},
		{name: "an https checkpoint", args: []string{"--checkpoint", "https://example.com/c.ckpt"}, stderr: "cannot be written"},
		{name: "an unknown scheme", args: []string{"--report", "ftp://host/r.json"}, stderr: "unknown scheme"},
		{name: "a bucket without a key", args: []string{"--state", "s3://bkt/"}, stderr: "no object key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"profiles"}, tc.args...), in)
			res := runMain(t, map[string]string{"TALON_BASE_URL": "http://127.0.0.1:1", "TALON_API_KEY": "k"}, "", args...)
			assert.Equal(t, exitUsage, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, tc.stderr)
		})
	}
}

// uploader.Own is the hook for a state in object storage: the object is
// downloaded, saved at each round only when its snapshot changed, on the
// condition that nobody else wrote it; when someone did, the run is
// stopped with errLostOwnership and nothing more is saved.
func TestUploaderOwnedObject(t *testing.T) {
	s3 := startS3(t)
	setS3Env(t, s3)
	s3.put(t, "state/s-0.state", []byte("v0"))
	stopped := make(chan error, 1)
	u := &uploader{store: blob.New(blob.Options{}), interval: time.Hour, log: slog.New(slog.DiscardHandler),
		stop: func(err error) { stopped <- err }}
	var buf bytes.Buffer
	content := "v1 of run a"
	existed, err := u.Own(t.Context(), "s3://bkt/state/s-0.state", &buf, func() ([]byte, error) { return []byte(content), nil })
	require.NoError(t, err)
	assert.True(t, existed)
	assert.Equal(t, "v0", buf.String(), "downloaded at the start")
	assert.True(t, u.active())

	puts := func() int {
		n := 0
		for _, r := range s3.requests() {
			if r.Method == "PUT" && r.Key == "state/s-0.state" {
				n++
			}
		}
		return n
	}
	require.NoError(t, u.upload(t.Context(), false))
	assert.Equal(t, "v1 of run a", string(s3.get(t, "state/s-0.state")))
	require.NoError(t, u.upload(t.Context(), false))
	assert.Equal(t, 1, puts(), "an unchanged snapshot is not saved again")

	s3.put(t, "state/s-0.state", []byte("written by run b"))
	content = "v2 of run a"
	err = u.upload(t.Context(), false)
	require.ErrorIs(t, err, errLostOwnership)
	assert.ErrorIs(t, <-stopped, errLostOwnership, "the run is stopped")
	assert.Equal(t, exitUsage, exitCode(err))
	assert.Equal(t, "written by run b", string(s3.get(t, "state/s-0.state")), "the other run's state stays")
	n := puts()
	assert.ErrorIs(t, u.finish(), errLostOwnership, "the final round saves nothing either")
	assert.Equal(t, n, puts())
}
