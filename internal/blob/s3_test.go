package blob

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestS3OpenStreams(t *testing.T) {
	s, f := newFakeS3(t)
	data := testData(300_000)
	f.put(t, "in/products.csv", data)
	ctx := context.Background()

	r, err := s.Open(ctx, "s3://bkt/in/products.csv", OpenOptions{})
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	assert.Equal(t, data, got)
	assert.Equal(t, int64(len(data)), r.Size())
	assert.NotEmpty(t, r.Version())

	reqs := f.requests()
	require.NotEmpty(t, reqs)
	last := reqs[len(reqs)-1]
	assert.Equal(t, "/bkt/in/products.csv", last.Path, "AWS_ENDPOINT_URL means path-style addressing")
	assert.Equal(t, strings.TrimPrefix(f.srv.URL, "http://"), last.Host)
	assert.Empty(t, last.Range)
}

func TestS3OpenFromOffsetMakesARangeRequest(t *testing.T) {
	s, f := newFakeS3(t)
	data := testData(100_000)
	f.put(t, "in.csv", data)
	ctx := context.Background()

	for _, off := range []int64{1, 65_537, int64(len(data)) - 1} {
		r, err := s.Open(ctx, "s3://bkt/in.csv", OpenOptions{Offset: off})
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		r.Close()
		assert.Equal(t, data[off:], got, "offset %d", off)
		assert.Equal(t, int64(len(data)), r.Size(), "Size is the whole object's")
		assert.Equal(t, off, r.Offset())
		reqs := f.requests()
		assert.Equal(t, fmt.Sprintf("bytes=%d-", off), reqs[len(reqs)-1].Range)
	}

	head, err := s.ReadRange(ctx, "s3://bkt/in.csv", 10, 20, "")
	require.NoError(t, err)
	assert.Equal(t, data[10:30], head)
	reqs := f.requests()
	assert.Equal(t, "bytes=10-29", reqs[len(reqs)-1].Range)

	// A checkpoint at the very end: nothing left, and no error.
	r, err := s.Open(ctx, "s3://bkt/in.csv", OpenOptions{Offset: int64(len(data))})
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.Equal(t, int64(len(data)), r.Size())

	_, err = s.Open(ctx, "s3://bkt/in.csv", OpenOptions{Offset: int64(len(data)) + 5})
	assert.ErrorContains(t, err, "past the end")
}

func TestS3OpenPinnedToAVersion(t *testing.T) {
	s, f := newFakeS3(t)
	ctx := context.Background()
	f.put(t, "in.csv", []byte("a,b\n1,2\n3,4\n"))
	a, err := s.Stat(ctx, "s3://bkt/in.csv")
	require.NoError(t, err)
	assert.Equal(t, int64(12), a.Size)

	r, err := s.Open(ctx, "s3://bkt/in.csv", OpenOptions{Offset: 4, Version: a.Version})
	require.NoError(t, err)
	got, _ := io.ReadAll(r)
	r.Close()
	assert.Equal(t, "1,2\n3,4\n", string(got))
	reqs := f.requests()
	assert.Equal(t, string(a.Version), reqs[len(reqs)-1].IfMatch)

	f.put(t, "in.csv", []byte("a,b\n9,9\n"))
	// gofakes3 ignores If-Match on GET; the ETag it answers with tells.
	_, err = s.Open(ctx, "s3://bkt/in.csv", OpenOptions{Offset: 4, Version: a.Version})
	assert.ErrorIs(t, err, ErrChanged)
	assert.ErrorContains(t, err, "s3://bkt/in.csv")

	// S3 itself answers 412, as this test-only handler in front does.
	f.setHook(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if r.Method != http.MethodGet || r.Header.Get("If-Match") == "" {
			return false
		}
		w.WriteHeader(http.StatusPreconditionFailed)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>`)
		return true
	})
	_, err = s.Open(ctx, "s3://bkt/in.csv", OpenOptions{Offset: 4, Version: a.Version})
	assert.ErrorIs(t, err, ErrChanged)
	assert.ErrorContains(t, err, "PreconditionFailed")
}

func TestS3GzipBytesPassThrough(t *testing.T) {
	s, f := newFakeS3(t)
	ctx := context.Background()
	gz := gzipped(t, testData(50_000))
	// Stored as a gzip-encoded object: the bytes must still arrive as stored.
	_, err := f.backend.PutObject("bkt", "in.csv.gz", map[string]string{"Content-Encoding": "gzip", "Content-Type": "text/csv"},
		bytes.NewReader(gz), int64(len(gz)), nil)
	require.NoError(t, err)

	r, err := s.Open(ctx, "s3://bkt/in.csv.gz", OpenOptions{})
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	r.Close()
	assert.Equal(t, gz, got)
	assert.Equal(t, int64(len(gz)), r.Size())

	r, err = s.Open(ctx, "s3://bkt/in.csv.gz", OpenOptions{Offset: 100})
	require.NoError(t, err)
	got, err = io.ReadAll(r)
	require.NoError(t, err)
	r.Close()
	assert.Equal(t, gz[100:], got)
}

func TestS3GetPutRoundTrip(t *testing.T) {
	s, f := newFakeS3(t)
	ctx := context.Background()
	loc := "s3://bkt/state/catalog-42.ckpt"

	g1, err := s.Put(ctx, loc, bytes.NewReader([]byte(`{"v":1}`)), PutOptions{If: IfAbsent, ContentType: "application/json"})
	require.NoError(t, err)
	assert.NotEmpty(t, g1)
	got, g, err := s.Get(ctx, loc)
	require.NoError(t, err)
	assert.Equal(t, `{"v":1}`, string(got))
	assert.Equal(t, g1, g)

	g2, err := s.Put(ctx, loc, bytes.NewReader([]byte(`{"v":2}`)), PutOptions{If: IfMatch(g1)})
	require.NoError(t, err)
	assert.NotEqual(t, g1, g2)
	assert.Equal(t, `{"v":2}`, string(f.content(t, "state/catalog-42.ckpt")))

	_, err = s.Put(ctx, loc, bytes.NewReader([]byte(`{"v":3}`)), PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, `{"v":3}`, string(f.content(t, "state/catalog-42.ckpt")))

	require.NoError(t, s.Remove(ctx, loc))
	_, _, err = s.Get(ctx, loc)
	assert.ErrorIs(t, err, ErrNotExist)
	require.NoError(t, s.Remove(ctx, loc), "removing a missing object is not an error")
}

func TestS3PreconditionRefusesASecondWriter(t *testing.T) {
	s, f := newFakeS3(t)
	ctx := context.Background()
	loc := "s3://bkt/shard-0.ckpt"

	// Two runs start on no checkpoint; the first to save owns it.
	a, existed, err := s.Own(ctx, loc, io.Discard)
	require.NoError(t, err)
	assert.False(t, existed)
	b, _, err := s.Own(ctx, loc, io.Discard)
	require.NoError(t, err)
	require.NoError(t, a.Save(ctx, strings.NewReader(`{"owner":"a","n":1}`), PutOptions{}))
	err = b.Save(ctx, strings.NewReader(`{"owner":"b","n":1}`), PutOptions{})
	require.ErrorIs(t, err, ErrPreconditionFailed)
	assert.ErrorContains(t, err, "s3://bkt/shard-0.ckpt")
	assert.Equal(t, `{"owner":"a","n":1}`, string(f.content(t, "shard-0.ckpt")))
	assert.Equal(t, "*", f.lastPut().IfNoneMatch, "the refusal is the server's, to If-None-Match")

	// A third run reads a's generation; a saves again; the third loses.
	var buf bytes.Buffer
	c, existed, err := s.Own(ctx, loc, &buf)
	require.NoError(t, err)
	assert.True(t, existed)
	assert.Equal(t, `{"owner":"a","n":1}`, buf.String())
	require.NoError(t, a.Save(ctx, strings.NewReader(`{"owner":"a","n":2}`), PutOptions{}))
	assert.Equal(t, string(c.Generation()), f.lastPut().IfMatch)
	err = c.Save(ctx, strings.NewReader(`{"owner":"c","n":2}`), PutOptions{})
	assert.ErrorIs(t, err, ErrPreconditionFailed)
	assert.Equal(t, `{"owner":"a","n":2}`, string(f.content(t, "shard-0.ckpt")))

	// Lost stays lost, without another request.
	n := len(f.requests())
	assert.ErrorIs(t, c.Save(ctx, strings.NewReader(`{"owner":"c","n":3}`), PutOptions{}), ErrPreconditionFailed)
	assert.Len(t, f.requests(), n)

	// A deleted object fails an If-Match too.
	require.NoError(t, s.Remove(ctx, loc))
	assert.ErrorIs(t, a.Save(ctx, strings.NewReader(`{"owner":"a","n":3}`), PutOptions{}), ErrPreconditionFailed)
}

func TestS3ConcurrentWritersOneWins(t *testing.T) {
	s, f := newFakeS3(t)
	ctx := context.Background()
	loc := "s3://bkt/race.ckpt"
	g0, err := s.Put(ctx, loc, strings.NewReader("start"), PutOptions{})
	require.NoError(t, err)

	const writers = 8
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			_, errs[i] = s.Put(ctx, loc, strings.NewReader(fmt.Sprintf("writer %d", i)), PutOptions{If: IfMatch(g0)})
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
	assert.Equal(t, fmt.Sprintf("writer %d", won), string(f.content(t, "race.ckpt")))
}

// A conditional PUT that S3 applied but whose answer was cut is retried by
// the SDK, and the retry fails the precondition the first attempt moved on:
// Put sees its own bytes there and succeeds.
func TestS3ConditionalPutWhoseAnswerWasLost(t *testing.T) {
	s, f := newFakeS3(t)
	ctx := context.Background()
	loc := "s3://bkt/cut.ckpt"
	g0, err := s.Put(ctx, loc, strings.NewReader("v0"), PutOptions{})
	require.NoError(t, err)

	var cut sync.Once
	cuts := 0
	f.setHook(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method != http.MethodPut || r.Header.Get("If-Match") == "" {
			return false
		}
		done := false
		cut.Do(func() {
			next.ServeHTTP(httptest.NewRecorder(), r) // applied...
			conn, _, err := w.(http.Hijacker).Hijack()
			require.NoError(t, err)
			conn.Close() // ...and the answer lost
			cuts++
			done = true
		})
		return done
	})
	g1, err := s.Put(ctx, loc, strings.NewReader("v1 by me"), PutOptions{If: IfMatch(g0)})
	require.NoError(t, err)
	assert.Equal(t, 1, cuts)
	assert.Equal(t, "v1 by me", string(f.content(t, "cut.ckpt")))
	_, g, err := s.Get(ctx, loc)
	require.NoError(t, err)
	assert.Equal(t, g, g1)

	puts := 0
	for _, r := range f.requests() {
		if r.Method == http.MethodPut && r.IfMatch == string(g0) {
			puts++
		}
	}
	assert.Equal(t, 2, puts, "the SDK retried the cut PUT")
}

func TestS3Errors(t *testing.T) {
	s, f := newFakeS3(t)
	ctx := context.Background()
	f.setHook(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if !strings.HasPrefix(r.URL.Path, "/locked/") {
			return false
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		return true
	})
	cases := []struct {
		name, loc string
		kind      error
		msg       string
	}{
		{"missing object", "s3://bkt/nope.csv", ErrNotExist, "s3://bkt/nope.csv: not found"},
		{"missing bucket", "s3://nobucket/in.csv", ErrNoBucket, "s3://nobucket/in.csv: no such bucket"},
		{"access denied", "s3://locked/in.csv", ErrAccessDenied, "s3://locked/in.csv: access denied: AccessDenied: Access Denied (HTTP 403)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Open(ctx, tc.loc, OpenOptions{})
			assert.ErrorIs(t, err, tc.kind)
			assert.ErrorContains(t, err, "open "+tc.msg)
			_, _, err = s.Get(ctx, tc.loc)
			assert.ErrorIs(t, err, tc.kind)
			assert.ErrorContains(t, err, "get "+tc.msg)
			if tc.kind != ErrNotExist {
				_, err = s.Put(ctx, tc.loc, strings.NewReader("x"), PutOptions{If: IfAbsent})
				assert.ErrorIs(t, err, tc.kind)
			}
		})
	}
	// HEAD answers carry no body: a missing object is still told apart.
	_, err := s.Stat(ctx, "s3://bkt/nope.csv")
	assert.ErrorIs(t, err, ErrNotExist)
}

func TestS3NoCredentials(t *testing.T) {
	isolateAWS(t)
	// An endpoint nothing listens on: no request may be needed to tell.
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	s := New(Options{})
	_, err := s.Open(context.Background(), "s3://bkt/in.csv", OpenOptions{})
	assert.ErrorIs(t, err, ErrNoCredentials)
	assert.ErrorContains(t, err, "open s3://bkt/in.csv: no credentials: the AWS default credential chain")
}
