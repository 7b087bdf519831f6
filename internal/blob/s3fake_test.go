package blob

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"
)

// seen is one request the fake S3 server received.
type seen struct {
	Method, Path, Host, Range, IfMatch, IfNoneMatch string
}

// fakeS3 is gofakes3 on loopback, with every request recorded and an
// optional hook in front that may answer instead of it.
type fakeS3 struct {
	srv     *httptest.Server
	backend *s3mem.Backend

	mu   sync.Mutex
	reqs []seen
	hook func(w http.ResponseWriter, r *http.Request, next http.Handler) bool
}

// newFakeS3 starts the server with a bucket "bkt" and points the AWS SDK's
// default chain at it through the environment: AWS_ENDPOINT_URL and static
// test credentials, and nothing else the chain could find.
func newFakeS3(t *testing.T) (*Store, *fakeS3) {
	t.Helper()
	f := &fakeS3{backend: s3mem.New()}
	require.NoError(t, f.backend.CreateBucket("bkt"))
	s3h := gofakes3.New(f.backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.Path, Host: r.Host, Range: r.Header.Get("Range"),
			IfMatch: r.Header.Get("If-Match"), IfNoneMatch: r.Header.Get("If-None-Match")})
		hook := f.hook
		f.mu.Unlock()
		if hook != nil && hook(w, r, s3h) {
			return
		}
		s3h.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	isolateAWS(t)
	t.Setenv("AWS_ENDPOINT_URL", f.srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "test-access-key")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
	t.Setenv("AWS_REGION", "us-east-1")
	return New(Options{HTTPClient: f.srv.Client()}), f
}

// isolateAWS keeps the default chain away from this machine's own AWS
// configuration and from the instance metadata service.
func isolateAWS(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CA_BUNDLE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func (f *fakeS3) put(t *testing.T, key string, data []byte) {
	t.Helper()
	_, err := f.backend.PutObject("bkt", key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil)
	require.NoError(t, err)
}

func (f *fakeS3) content(t *testing.T, key string) []byte {
	t.Helper()
	obj, err := f.backend.GetObject("bkt", key, nil)
	require.NoError(t, err)
	defer obj.Contents.Close()
	b, err := io.ReadAll(obj.Contents)
	require.NoError(t, err)
	return b
}

func (f *fakeS3) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *fakeS3) lastPut() seen {
	reqs := f.requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == http.MethodPut {
			return reqs[i]
		}
	}
	return seen{}
}

func (f *fakeS3) setHook(h func(w http.ResponseWriter, r *http.Request, next http.Handler) bool) {
	f.mu.Lock()
	f.hook = h
	f.mu.Unlock()
}

func testData(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "sku-%06d,%d\n", i, i%97)
	}
	return b.Bytes()[:n]
}
