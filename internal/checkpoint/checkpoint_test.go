package checkpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/readers"
)

func sampleCheckpoint() *Record {
	return &Record{
		Version:  version,
		Input:    Fingerprint{Size: 123, Head: "aa", Tail: "bb"},
		Settings: Settings{Entity: "profiles", Format: "csv", Delimiter: ",", BatchSize: 1000, Lanes: 4},
		Progress: Progress{
			Resume:      readers.Position{Offset: 4096, Line: 88},
			Done:        []byte{0b10110, 0xff},
			RejectsSize: 512,
		},
		RejectsPath: "in.csv.rejects.jsonl",
		Counts:      Counts{Read: 80, Delivered: 78, Rejected: 2, Batches: 1, Requests: 3, Retries: 2},
		Runs:        2,
		UpdatedAt:   time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.ckpt")
	want := sampleCheckpoint()
	require.NoError(t, Write(path, want))
	got, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// The format is plain JSON with stable field names.
	var raw map[string]any
	b, _ := os.ReadFile(path)
	require.NoError(t, json.Unmarshal(b, &raw))
	for _, k := range []string{"version", "input", "settings", "completed", "progress", "rejects_path", "counts", "runs"} {
		assert.Contains(t, raw, k)
	}
}

func TestCheckpointCheck(t *testing.T) {
	cp := sampleCheckpoint()
	s := cp.Settings
	tests := []struct {
		name    string
		input   Fingerprint
		mutate  func(*Settings)
		wantErr bool
	}{
		{name: "same input and settings", input: cp.Input, mutate: func(*Settings) {}},
		{name: "another input", input: Fingerprint{Size: 124, Head: "aa", Tail: "bb"}, mutate: func(*Settings) {}, wantErr: true},
		{name: "another batch size resumes", input: cp.Input, mutate: func(s *Settings) { s.BatchSize = 500 }},
		{name: "other lanes resume", input: cp.Input, mutate: func(s *Settings) { s.Lanes = 8 }},
		{name: "another delimiter", input: cp.Input, mutate: func(s *Settings) { s.Delimiter = ";" }, wantErr: true},
		{name: "another entity", input: cp.Input, mutate: func(s *Settings) { s.Entity = "catalog" }, wantErr: true},
		{name: "another catalog", input: cp.Input, mutate: func(s *Settings) { s.CatalogID = 2 }, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s2 := s
			tc.mutate(&s2)
			err := cp.Check(tc.input, s2)
			if tc.wantErr {
				assert.ErrorIs(t, err, ErrMismatch)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestCheckpointTornTempFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.ckpt")
	want := sampleCheckpoint()
	require.NoError(t, Write(path, want))
	// A run killed while writing leaves a torn temp file; it is never read.
	torn := filepath.Join(dir, ".run.ckpt.tmp-123")
	require.NoError(t, os.WriteFile(torn, []byte(`{"version":1,"progr`), 0o600))
	got, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	RemoveStaleTemps(path)
	_, err = os.Stat(torn)
	assert.True(t, os.IsNotExist(err), "stale temp files are cleaned up")
	_, err = os.Stat(path)
	assert.NoError(t, err, "the checkpoint itself stays")
}

func TestCheckpointCorruptIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.ckpt")
	require.NoError(t, os.WriteFile(path, []byte(`{"version":1,`), 0o600))
	_, err := Read(path)
	assert.Error(t, err)
	require.NoError(t, os.WriteFile(path, []byte(`{"version":99}`), 0o600))
	_, err = Read(path)
	assert.ErrorContains(t, err, "version 99")
}

func TestLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.ckpt.lock")
	l1, err := Acquire(path)
	require.NoError(t, err)
	_, err = Acquire(path)
	assert.ErrorIs(t, err, ErrLocked, "a second run on the same checkpoint is refused")
	require.NoError(t, l1.Unlock())
	l2, err := Acquire(path)
	require.NoError(t, err, "the lock is free again once released")
	require.NoError(t, l2.Unlock())
}

func TestFingerprintFile(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.csv")
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	require.NoError(t, os.WriteFile(a, big, 0o600))
	fa, err := FingerprintFile(a)
	require.NoError(t, err)
	fa2, err := FingerprintFile(a)
	require.NoError(t, err)
	assert.True(t, fa.Same(fa2))

	big[len(big)-1] = '!' // a change in the tail
	b := filepath.Join(dir, "b.csv")
	require.NoError(t, os.WriteFile(b, big, 0o600))
	fb, err := FingerprintFile(b)
	require.NoError(t, err)
	assert.False(t, fa.Same(fb))
	assert.Equal(t, fa.Head, fb.Head)

	s1 := FingerprintStream([]byte("id\n1\n"))
	assert.Equal(t, int64(-1), s1.Size)
	assert.False(t, s1.Same(FingerprintStream([]byte("id\n2\n"))))
}
