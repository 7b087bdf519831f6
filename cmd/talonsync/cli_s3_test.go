package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
