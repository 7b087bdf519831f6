package blob

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFileOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in.csv")
	data := testData(10_000)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	s := New(Options{})
	ctx := context.Background()

	cases := []struct {
		name string
		o    OpenOptions
		want []byte
	}{
		{"whole", OpenOptions{}, data},
		{"from an offset", OpenOptions{Offset: 1234}, data[1234:]},
		{"a range", OpenOptions{Offset: 10, Length: 20}, data[10:30]},
		{"at the end", OpenOptions{Offset: int64(len(data))}, []byte{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.Open(ctx, path, tc.o)
			require.NoError(t, err)
			defer r.Close()
			got, err := io.ReadAll(r)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, int64(len(data)), r.Size())
			assert.Equal(t, tc.o.Offset, r.Offset())
		})
	}
}

func TestFileReadStopsAtTheSizeAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "growing.csv")
	require.NoError(t, os.WriteFile(path, []byte("a\n1\n"), 0o644))
	r, err := New(Options{}).Open(context.Background(), path, OpenOptions{})
	require.NoError(t, err)
	defer r.Close()
	assert.False(t, r.Grew())
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("2\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "a\n1\n", string(got))
	assert.True(t, r.Grew())
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	s := New(Options{})
	ctx := context.Background()
	missing := filepath.Join(dir, "nope.csv")

	_, err := s.Open(ctx, missing, OpenOptions{})
	assert.ErrorIs(t, err, ErrNotExist)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.EqualError(t, err, "open "+missing+": not found: no such file or directory")
	_, _, err = s.Get(ctx, missing)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	_, err = s.Open(ctx, dir, OpenOptions{})
	assert.ErrorContains(t, err, "is a directory")

	_, err = s.Put(ctx, filepath.Join(dir, "no-such-dir", "x.ckpt"), strings.NewReader("x"), PutOptions{})
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestFilePutIsAtomicAndPrivate(t *testing.T) {
	dir := t.TempDir()
	s := New(Options{})
	ctx := context.Background()
	path := filepath.Join(dir, "run.ckpt")

	g, err := s.Put(ctx, path, strings.NewReader("one"), PutOptions{})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(g), "sha256:"))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), st.Mode().Perm())

	report := filepath.Join(dir, "report.json")
	_, err = s.Put(ctx, report, strings.NewReader("{}"), PutOptions{Mode: 0o644})
	require.NoError(t, err)
	st, err = os.Stat(report)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o644), st.Mode().Perm())

	got, g2, err := s.Get(ctx, path)
	require.NoError(t, err)
	assert.Equal(t, "one", string(got))
	assert.Equal(t, g, g2)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"run.ckpt", "report.json"}, names, "no temp file is left behind")

	require.NoError(t, s.Remove(ctx, path))
	require.NoError(t, s.Remove(ctx, path))
	_, err = os.Stat(path)
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestFilePreconditions(t *testing.T) {
	dir := t.TempDir()
	s := New(Options{})
	ctx := context.Background()
	path := filepath.Join(dir, "state.snap")

	a, existed, err := s.Own(ctx, path, io.Discard)
	require.NoError(t, err)
	assert.False(t, existed)
	b, _, err := s.Own(ctx, path, io.Discard)
	require.NoError(t, err)
	require.NoError(t, a.Save(ctx, strings.NewReader("a1"), PutOptions{}))
	err = b.Save(ctx, strings.NewReader("b1"), PutOptions{})
	assert.ErrorIs(t, err, ErrPreconditionFailed)
	assert.ErrorContains(t, err, "put "+path+": precondition failed: another writer changed the object: it exists already")

	var buf bytes.Buffer
	c, existed, err := s.Own(ctx, path, &buf)
	require.NoError(t, err)
	assert.True(t, existed)
	assert.Equal(t, "a1", buf.String())
	require.NoError(t, a.Save(ctx, strings.NewReader("a2"), PutOptions{}))
	assert.ErrorIs(t, c.Save(ctx, strings.NewReader("c2"), PutOptions{}), ErrPreconditionFailed)
	got, _, err := s.Get(ctx, path)
	require.NoError(t, err)
	assert.Equal(t, "a2", string(got))

	_, err = s.Put(ctx, path, strings.NewReader("x"), PutOptions{If: IfAbsent})
	assert.ErrorIs(t, err, ErrPreconditionFailed)
	require.NoError(t, os.Remove(path))
	err = a.Save(ctx, strings.NewReader("a3"), PutOptions{})
	assert.ErrorIs(t, err, ErrPreconditionFailed)
	assert.ErrorContains(t, err, "it no longer exists")
}

func TestFileConcurrentConditionalWritersOneWins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "race.ckpt")
	s := New(Options{})
	ctx := context.Background()
	g0, err := s.Put(ctx, path, strings.NewReader("start"), PutOptions{})
	require.NoError(t, err)

	const writers = 16
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			_, errs[i] = s.Put(ctx, path, strings.NewReader(fmt.Sprintf("writer %d", i)), PutOptions{If: IfMatch(g0)})
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		if err == nil {
			assert.Equal(t, -1, won, "two writers won")
			won = i
			continue
		}
		assert.ErrorIs(t, err, ErrPreconditionFailed)
	}
	require.NotEqual(t, -1, won)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("writer %d", won), string(got))
}

func TestStdin(t *testing.T) {
	ctx := context.Background()
	s := New(Options{Stdin: strings.NewReader("a,b\n1,2\n")})
	r, err := s.Open(ctx, "-", OpenOptions{})
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "a,b\n1,2\n", string(got))
	assert.Equal(t, int64(-1), r.Size())

	_, err = s.Open(ctx, "-", OpenOptions{Offset: 3})
	assert.ErrorIs(t, err, ErrNotSeekable)
	_, err = s.Put(ctx, "-", strings.NewReader("x"), PutOptions{})
	assert.ErrorIs(t, err, ErrReadOnly)
}
