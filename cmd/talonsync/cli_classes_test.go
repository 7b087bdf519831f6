package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestCLIReportRequestsByClass: the report counts requests by answer, and
// a resumed checkpoint adds the earlier runs' answers, so the classes
// always add up to requests.
func TestCLIReportRequestsByClass(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "p.csv", "integrationId\nc1\nc2\nc3\n")
	ckpt, rep := filepath.Join(dir, "p.ckpt"), filepath.Join(dir, "report.json")
	args := []string{"profiles", "--checkpoint", ckpt, "--report", rep, "--batch-size", "1", "--workers", "1", in}

	res := runMain(t, emuEnv(srv, "tk-wrong"), "", args...)
	require.Equal(t, exitFailed, res.Code, res.Stderr)
	r := readReport(t, rep)
	assert.Equal(t, checkpoint.Answers{ClientError: 1}, r.RequestsByClass, "the 401 stopped the run at its first request")

	res = runMain(t, emuEnv(srv, testKey), "", args...)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	r = readReport(t, rep)
	assert.True(t, r.Resumed)
	assert.Equal(t, checkpoint.Answers{OK: 3, ClientError: 1}, r.RequestsByClass)
	assert.Equal(t, r.Requests, r.RequestsByClass.OK+r.RequestsByClass.ClientError)
}
