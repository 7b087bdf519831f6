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
