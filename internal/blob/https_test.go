package blob

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fileServer serves named contents over TLS with http.ServeContent, which
// answers Range, If-Match and HEAD as a static file server does, and
// records every request's Range header.
type fileServer struct {
	srv *httptest.Server

	mu     sync.Mutex
	files  map[string][]byte
	etags  map[string]string
	ranges []string
}

func newFileServer(t *testing.T) (*Store, *fileServer) {
	f := &fileServer{files: map[string][]byte{}, etags: map[string]string{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.ranges = append(f.ranges, r.Header.Get("Range"))
		data, ok := f.files[r.URL.Path]
		etag := f.etags[r.URL.Path]
		f.mu.Unlock()
		switch {
		case r.URL.Path == "/denied":
			http.Error(w, "no", http.StatusForbidden)
		case !ok:
			http.NotFound(w, r)
		default:
			w.Header().Set("ETag", etag)
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		}
	}))
	t.Cleanup(f.srv.Close)
	return New(Options{HTTPClient: f.srv.Client(), RetryWait: time.Millisecond}), f
}

func (f *fileServer) set(path string, data []byte, etag string) {
	f.mu.Lock()
	f.files[path], f.etags[path] = data, etag
	f.mu.Unlock()
}

func (f *fileServer) lastRange() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ranges[len(f.ranges)-1]
}

func TestHTTPSOpen(t *testing.T) {
	s, f := newFileServer(t)
	data := testData(200_000)
	f.set("/exports/products.csv", data, `"v1"`)
	ctx := context.Background()
	loc := f.srv.URL + "/exports/products.csv"

	r, err := s.Open(ctx, loc, OpenOptions{})
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	r.Close()
	assert.Equal(t, data, got)
	assert.Equal(t, int64(len(data)), r.Size())
	assert.Equal(t, Generation(`"v1"`), r.Version())
	assert.Empty(t, f.lastRange())

	r, err = s.Open(ctx, loc, OpenOptions{Offset: 150_001, Version: `"v1"`})
	require.NoError(t, err)
	got, err = io.ReadAll(r)
	require.NoError(t, err)
	r.Close()
	assert.Equal(t, data[150_001:], got)
	assert.Equal(t, int64(len(data)), r.Size())
	assert.Equal(t, "bytes=150001-", f.lastRange())

	r, err = s.Open(ctx, loc, OpenOptions{Offset: int64(len(data))})
	require.NoError(t, err)
	got, err = io.ReadAll(r)
	require.NoError(t, err)
	assert.Empty(t, got)

	a, err := s.Stat(ctx, loc)
	require.NoError(t, err)
	assert.Equal(t, Attrs{Size: int64(len(data)), Version: `"v1"`}, a)

	f.set("/exports/products.csv", data[:1000], `"v2"`)
	_, err = s.Open(ctx, loc, OpenOptions{Offset: 10, Version: `"v1"`})
	assert.ErrorIs(t, err, ErrChanged)
}

func TestHTTPSServerThatIgnoresRange(t *testing.T) {
	data := gzipped(t, testData(100_000))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A server that compresses on the fly would say Content-Encoding;
		// this one sends the stored .gz bytes whole, whatever was asked.
		w.Header().Set("Content-Type", "application/gzip")
		w.Write(data)
	}))
	defer srv.Close()
	s := New(Options{HTTPClient: srv.Client()})
	r, err := s.Open(context.Background(), srv.URL+"/in.csv.gz", OpenOptions{Offset: 777})
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, data[777:], got, "the bytes before the offset are skipped")
}

func TestHTTPSGzipBytesPassThrough(t *testing.T) {
	data := gzipped(t, testData(50_000))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Even a server that labels stored gzip as Content-Encoding: gzip
		// must not have it decompressed under the reader's offsets.
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(data)
	}))
	defer srv.Close()
	s := New(Options{HTTPClient: srv.Client()})
	r, err := s.Open(context.Background(), srv.URL+"/in.csv.gz", OpenOptions{})
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, data, got)
}

func TestHTTPSRetriesTransientErrors(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "a,b\n")
	}))
	defer srv.Close()
	s := New(Options{HTTPClient: srv.Client(), RetryWait: time.Millisecond})
	got, _, err := s.Get(context.Background(), srv.URL+"/x.csv")
	require.NoError(t, err)
	assert.Equal(t, "a,b\n", string(got))
	assert.Equal(t, int32(3), calls.Load())

	calls.Store(-10)
	_, _, err = s.Get(context.Background(), srv.URL+"/x.csv")
	assert.ErrorContains(t, err, "busy (HTTP 503)")
}

func TestHTTPSErrors(t *testing.T) {
	s, f := newFileServer(t)
	ctx := context.Background()

	_, err := s.Open(ctx, f.srv.URL+"/nope.csv?X-Amz-Signature=sekrit", OpenOptions{})
	assert.ErrorIs(t, err, ErrNotExist)
	assert.ErrorContains(t, err, "open "+f.srv.URL+"/nope.csv?REDACTED: not found")
	assert.NotContains(t, err.Error(), "sekrit")

	_, err = s.Open(ctx, f.srv.URL+"/denied", OpenOptions{})
	assert.ErrorIs(t, err, ErrAccessDenied)
	assert.ErrorContains(t, err, "no (HTTP 403)")

	_, err = s.Put(ctx, f.srv.URL+"/x.ckpt", strings.NewReader("x"), PutOptions{})
	assert.ErrorIs(t, err, ErrReadOnly)
	assert.ErrorIs(t, s.Remove(ctx, f.srv.URL+"/x.ckpt"), ErrReadOnly)

	// A transport error names the URL without its query.
	dead := httptest.NewTLSServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	_, err = s.Open(ctx, url+"/in.csv?token=sekrit", OpenOptions{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "sekrit")
	assert.ErrorContains(t, err, "?REDACTED")
}
