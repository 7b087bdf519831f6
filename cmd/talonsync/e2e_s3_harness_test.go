package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/checkpoint"
)

// s3Server is an in-process S3-compatible server (gofakes3 on loopback)
// with a bucket "bkt", that the CLI reaches through the real AWS SDK path:
// AWS_ENDPOINT_URL, static credentials from the environment, path-style
// addressing. It records every request.
type s3Server struct {
	srv     *httptest.Server
	backend *s3mem.Backend

	mu   sync.Mutex
	reqs []s3Request
}

// s3Request is one request the server got.
type s3Request struct {
	Method, Key, Range, IfMatch, IfNoneMatch string
}

func startS3(t testing.TB) *s3Server {
	t.Helper()
	s := &s3Server{backend: s3mem.New()}
	require.NoError(t, s.backend.CreateBucket("bkt"))
	h := gofakes3.New(s.backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path
		if len(key) > len("/bkt/") {
			key = key[len("/bkt/"):]
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, s3Request{Method: r.Method, Key: key, Range: r.Header.Get("Range"),
			IfMatch: r.Header.Get("If-Match"), IfNoneMatch: r.Header.Get("If-None-Match")})
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// env is the environment that points a talonsync process at the server,
// and keeps the AWS SDK away from this machine's own configuration.
func (s *s3Server) env(t testing.TB) []string {
	dir := t.TempDir()
	return []string{
		"AWS_ENDPOINT_URL=" + s.srv.URL,
		"AWS_ACCESS_KEY_ID=test-access-key", "AWS_SECRET_ACCESS_KEY=test-secret-key", "AWS_REGION=us-east-1",
		"AWS_SESSION_TOKEN=", "AWS_PROFILE=", "AWS_ROLE_ARN=", "AWS_WEB_IDENTITY_TOKEN_FILE=", "AWS_ENDPOINT_URL_S3=",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

func (s *s3Server) put(t *testing.T, key string, data []byte) string {
	t.Helper()
	_, err := s.backend.PutObject("bkt", key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil)
	require.NoError(t, err)
	return "s3://bkt/" + key
}

// get returns an object's bytes, or nil when there is none.
func (s *s3Server) get(t *testing.T, key string) []byte {
	t.Helper()
	obj, err := s.backend.GetObject("bkt", key, nil)
	if err != nil {
		return nil
	}
	defer obj.Contents.Close()
	b, err := io.ReadAll(obj.Contents)
	require.NoError(t, err)
	return b
}

func (s *s3Server) requests() []s3Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]s3Request(nil), s.reqs...)
}

// checkpoint decodes the checkpoint object at key, or nil.
func (s *s3Server) checkpoint(t *testing.T, key string) *checkpoint.Record {
	t.Helper()
	b := s.get(t, key)
	if b == nil {
		return nil
	}
	cp, err := checkpoint.Decode(key, b)
	require.NoError(t, err)
	return cp
}

// report decodes the report object at key.
func (s *s3Server) report(t *testing.T, key string) report {
	t.Helper()
	b := s.get(t, key)
	require.NotNil(t, b, "report %s", key)
	var r report
	require.NoError(t, json.Unmarshal(b, &r))
	return r
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}
