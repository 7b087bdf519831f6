package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestCLIRejectsFallBackToWorkingDir: when the input's directory cannot be
// written, the default rejects file goes to the working directory, and the
// run says where; a --rejects the user cannot write is a usage error.
func TestCLIRejectsFallBackToWorkingDir(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	in := writeFile(t, t.TempDir(), "p.csv", "integrationId,Age:number\np1,x\np2,3\n")
	inputDir := filepath.Dir(in)
	canWrite = func(dir string) bool { return dir != inputDir }
	t.Cleanup(func() { canWrite = writableDir })
	t.Chdir(t.TempDir())

	res := runMain(t, emuEnv(srv, testKey), "", "profiles", in)
	require.Equal(t, exitRejected, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, inputDir+" cannot be written: the rejects go to p.csv.rejects.jsonl in the working directory")
	_, err := os.Stat("p.csv.rejects.jsonl")
	assert.NoError(t, err, "the rejects file is in the working directory")
	_, err = os.Stat(in + ".rejects.jsonl")
	assert.True(t, os.IsNotExist(err))

	res = runMain(t, emuEnv(srv, testKey), "", "profiles", "--rejects", filepath.Join(in, "not-a-dir", "r.jsonl"), in)
	assert.Equal(t, exitUsage, res.Code, res.Stderr)
}

func TestWritableDir(t *testing.T) {
	dir := t.TempDir()
	assert.True(t, writableDir(dir))
	assert.False(t, writableDir(filepath.Join(dir, "missing")))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "the probe leaves nothing behind")
}
