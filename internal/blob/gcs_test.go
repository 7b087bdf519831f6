package blob

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeGCS is a small stand-in, in test code only, for the four JSON API
// requests the package makes, with GCS's semantics for generations,
// ifGenerationMatch, Range, and decompressive transcoding of objects stored
// with Content-Encoding: gzip (unless the request accepts gzip).
type fakeGCS struct {
	srv *httptest.Server

	mu      sync.Mutex
	buckets map[string]map[string]*gcsFakeObject
	gen     int64
	reqs    []seen
	lengths []int64 // the Content-Length of each upload; -1: chunked
}

type gcsFakeObject struct {
	data     []byte
	gen      int64
	encoding string
}

func newFakeGCS(t *testing.T) (*Store, *fakeGCS) {
	f := &fakeGCS{buckets: map[string]map[string]*gcsFakeObject{"bkt": {}}, gen: 1000}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	t.Setenv("STORAGE_EMULATOR_HOST", f.srv.URL)
	return New(Options{RetryWait: time.Millisecond}), f
}

func gcsFail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func (f *fakeGCS) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.EscapedPath(), Range: r.Header.Get("Range"), IfMatch: r.URL.Query().Get("ifGenerationMatch")})
	parts := strings.Split(r.URL.EscapedPath(), "/")
	q := r.URL.Query()
	var bucket, name string
	upload := strings.HasPrefix(r.URL.Path, "/upload/")
	switch {
	case upload && len(parts) == 7: // /upload/storage/v1/b/{b}/o
		bucket, name = parts[5], q.Get("name")
	case !upload && len(parts) == 7: // /storage/v1/b/{b}/o/{o}
		bucket = parts[4]
		name, _ = url.PathUnescape(parts[6])
	default:
		gcsFail(w, http.StatusBadRequest, "bad path "+r.URL.Path)
		return
	}
	objs, ok := f.buckets[bucket]
	if !ok {
		gcsFail(w, http.StatusNotFound, "The specified bucket does not exist.")
		return
	}
	obj := objs[name]
	if m := q.Get("ifGenerationMatch"); m != "" {
		want, _ := strconv.ParseInt(m, 10, 64)
		if (obj == nil && want != 0) || (obj != nil && obj.gen != want) {
			gcsFail(w, http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold.")
			return
		}
	}
	if upload {
		f.lengths = append(f.lengths, r.ContentLength)
		body, _ := io.ReadAll(r.Body)
		f.gen++
		objs[name] = &gcsFakeObject{data: body, gen: f.gen}
		json.NewEncoder(w).Encode(map[string]string{"name": name, "bucket": bucket, "generation": strconv.FormatInt(f.gen, 10), "size": strconv.Itoa(len(body))})
		return
	}
	if obj == nil {
		gcsFail(w, http.StatusNotFound, "No such object: "+bucket+"/"+name)
		return
	}
	switch {
	case r.Method == http.MethodDelete:
		delete(objs, name)
		w.WriteHeader(http.StatusNoContent)
	case q.Get("alt") == "media":
		f.media(w, r, obj)
	default:
		json.NewEncoder(w).Encode(map[string]string{"name": name, "bucket": bucket, "generation": strconv.FormatInt(obj.gen, 10),
			"size": strconv.Itoa(len(obj.data)), "updated": "2026-12-01T10:00:00Z"})
	}
}

func (f *fakeGCS) media(w http.ResponseWriter, r *http.Request, obj *gcsFakeObject) {
	w.Header().Set("X-Goog-Generation", strconv.FormatInt(obj.gen, 10))
	w.Header().Set("X-Goog-Stored-Content-Length", strconv.Itoa(len(obj.data)))
	if obj.encoding == "gzip" && !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		// Decompressive transcoding: the whole object, decompressed, and
		// the range ignored.
		zr, _ := gzip.NewReader(bytes.NewReader(obj.data))
		io.Copy(w, zr)
		return
	}
	if obj.encoding != "" {
		w.Header().Set("Content-Encoding", obj.encoding)
	}
	rng := r.Header.Get("Range")
	if rng == "" {
		w.Write(obj.data)
		return
	}
	var from, to int64 = 0, int64(len(obj.data)) - 1
	spec := strings.TrimPrefix(rng, "bytes=")
	a, b, _ := strings.Cut(spec, "-")
	from, _ = strconv.ParseInt(a, 10, 64)
	if b != "" {
		to, _ = strconv.ParseInt(b, 10, 64)
		to = min(to, int64(len(obj.data))-1)
	}
	if from >= int64(len(obj.data)) {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(obj.data)))
		gcsFail(w, http.StatusRequestedRangeNotSatisfiable, "Request range not satisfiable")
		return
	}
	w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, to, len(obj.data)))
	w.WriteHeader(http.StatusPartialContent)
	w.Write(obj.data[from : to+1])
}

func (f *fakeGCS) put(name string, data []byte, encoding string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gen++
	f.buckets["bkt"][name] = &gcsFakeObject{data: data, gen: f.gen, encoding: encoding}
}

func (f *fakeGCS) last() seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[len(f.reqs)-1]
}

func TestGCSOpen(t *testing.T) {
	s, f := newFakeGCS(t)
	ctx := context.Background()
	data := testData(100_000)
	f.put("in/profiles 1.csv", data, "")
	loc := "gs://bkt/in/profiles 1.csv"

	r, err := s.Open(ctx, loc, OpenOptions{})
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	r.Close()
	assert.Equal(t, data, got)
	assert.Equal(t, int64(len(data)), r.Size())
	assert.Equal(t, "/storage/v1/b/bkt/o/in%2Fprofiles%201.csv", f.last().Path, "the object name is one escaped path segment")

	a, err := s.Stat(ctx, loc)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), a.Size)
	assert.Equal(t, r.Version(), a.Version)

	r, err = s.Open(ctx, loc, OpenOptions{Offset: 60_000, Version: a.Version})
	require.NoError(t, err)
	got, err = io.ReadAll(r)
	require.NoError(t, err)
	r.Close()
	assert.Equal(t, data[60_000:], got)
	assert.Equal(t, int64(len(data)), r.Size())
	assert.Equal(t, seen{Method: "GET", Path: f.last().Path, Range: "bytes=60000-", IfMatch: string(a.Version)}, f.last())

	r, err = s.Open(ctx, loc, OpenOptions{Offset: int64(len(data))})
	require.NoError(t, err)
	got, err = io.ReadAll(r)
	require.NoError(t, err)
	assert.Empty(t, got)

	f.put("in/profiles 1.csv", data[:10], "")
	_, err = s.Open(ctx, loc, OpenOptions{Offset: 5, Version: a.Version})
	assert.ErrorIs(t, err, ErrChanged)
}

func TestGCSGzipBytesPassThrough(t *testing.T) {
	s, f := newFakeGCS(t)
	gz := gzipped(t, testData(30_000))
	f.put("in.csv.gz", gz, "gzip")
	for _, off := range []int64{0, 500} {
		r, err := s.Open(context.Background(), "gs://bkt/in.csv.gz", OpenOptions{Offset: off})
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		r.Close()
		assert.Equal(t, gz[off:], got)
		assert.Equal(t, int64(len(gz)), r.Size())
	}
}

func TestGCSPreconditionRefusesASecondWriter(t *testing.T) {
	s, _ := newFakeGCS(t)
	ctx := context.Background()
	loc := "gs://bkt/state/shard-3.snap"

	a, existed, err := s.Own(ctx, loc, io.Discard)
	require.NoError(t, err)
	assert.False(t, existed)
	b, _, err := s.Own(ctx, loc, io.Discard)
	require.NoError(t, err)
	require.NoError(t, a.Save(ctx, strings.NewReader("a1"), PutOptions{}))
	err = b.Save(ctx, strings.NewReader("b1"), PutOptions{})
	assert.ErrorIs(t, err, ErrPreconditionFailed)
	assert.ErrorContains(t, err, "put gs://bkt/state/shard-3.snap: precondition failed")

	var buf bytes.Buffer
	c, _, err := s.Own(ctx, loc, &buf)
	require.NoError(t, err)
	assert.Equal(t, "a1", buf.String())
	assert.Equal(t, a.Generation(), c.Generation())
	require.NoError(t, a.Save(ctx, strings.NewReader("a2"), PutOptions{}))
	assert.ErrorIs(t, c.Save(ctx, strings.NewReader("c2"), PutOptions{}), ErrPreconditionFailed)

	got, g, err := s.Get(ctx, loc)
	require.NoError(t, err)
	assert.Equal(t, "a2", string(got))
	assert.Equal(t, a.Generation(), g)

	require.NoError(t, s.Remove(ctx, loc))
	require.NoError(t, s.Remove(ctx, loc))
	_, _, err = s.Get(ctx, loc)
	assert.ErrorIs(t, err, ErrNotExist)
}

func TestGCSErrors(t *testing.T) {
	s, _ := newFakeGCS(t)
	ctx := context.Background()
	_, err := s.Open(ctx, "gs://bkt/nope.csv", OpenOptions{})
	assert.ErrorIs(t, err, ErrNotExist)
	assert.EqualError(t, err, "open gs://bkt/nope.csv: not found: No such object: bkt/nope.csv (HTTP 404)")
	_, err = s.Stat(ctx, "gs://nobucket/in.csv")
	assert.ErrorIs(t, err, ErrNoBucket)
	_, err = s.Put(ctx, "gs://nobucket/x", strings.NewReader("x"), PutOptions{})
	assert.ErrorIs(t, err, ErrNoBucket)
	assert.ErrorContains(t, err, "put gs://nobucket/x: no such bucket: The specified bucket does not exist. (HTTP 404)")
}

// A file, or a part of one, is uploaded with its length, not chunked.
func TestGCSPutSendsTheLength(t *testing.T) {
	s, f := newFakeGCS(t)
	ctx := context.Background()
	path := t.TempDir() + "/seg"
	require.NoError(t, os.WriteFile(path, []byte("0123456789"), 0o600))
	fl, err := os.Open(path)
	require.NoError(t, err)
	defer fl.Close()
	_, err = s.Put(ctx, "gs://bkt/whole", fl, PutOptions{})
	require.NoError(t, err)
	_, err = s.Put(ctx, "gs://bkt/part", io.NewSectionReader(fl, 3, 4), PutOptions{})
	require.NoError(t, err)
	_, err = s.Put(ctx, "gs://bkt/empty", strings.NewReader(""), PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, []int64{10, 4, 0}, f.lengths)
	got, _, err := s.Get(ctx, "gs://bkt/part")
	require.NoError(t, err)
	assert.Equal(t, "3456", string(got))
}
