package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// BenchmarkS3StateRun measures what a --state in object storage costs per
// run: a 100,000-key catalog whose state is in the bucket ("bucket") or
// in a local file ("file", for comparison), and runs that each change 1%
// of the keys (alternately to v2 and back). It reports the bytes and
// requests of each run's uploads and downloads, beside the time.
//
//	go test -run '^$' -bench S3StateRun -benchtime 5x ./cmd/talonsync/
func BenchmarkS3StateRun(b *testing.B) {
	s3 := startS3(b)
	u, _ := url.Parse(s3.srv.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	var putBytes, getBytes, puts, snapPuts, segPuts, manPuts atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w}
		rp.ServeHTTP(cw, r)
		switch r.Method {
		case http.MethodPut:
			puts.Add(1)
			putBytes.Add(r.ContentLength)
			switch {
			case strings.Contains(r.URL.Path, ".snapshot."):
				snapPuts.Add(1)
			case strings.Contains(r.URL.Path, ".journal."):
				segPuts.Add(1)
			default:
				manPuts.Add(1)
			}
		case http.MethodGet:
			getBytes.Add(cw.n)
		}
	}))
	defer proxy.Close()
	env := s3.env(b)
	for i, kv := range env {
		if strings.HasPrefix(kv, "AWS_ENDPOINT_URL=") {
			env[i] = "AWS_ENDPOINT_URL=" + proxy.URL
		}
	}
	srv, err := emulator.Start(emulator.Options{APIKey: testKey, Seed: 1})
	require.NoError(b, err)
	defer srv.Close()
	dir := b.TempDir()
	feed := genStateFeed(100_000)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(b, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	feeds := [2]string{write("v1.csv", feed.csv())}
	for i := range feed {
		if i%100 == 7 {
			feed[i].color = "v2-" + feed[i].color
		}
	}
	feeds[1] = write("v2.csv", feed.csv())
	for _, bc := range []struct{ name, state string }{
		{"bucket", "s3://bkt/state/feed.state"},
		{"file", filepath.Join(dir, "feed.state")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			run := func(in string) {
				c := cli{args: []string{"catalog", "--catalog-id", "1", "--state", bc.state, "--progress", "never", in}, env: env}
				res := runCLI(b, srv.URL(), testKey, c)
				require.Equal(b, exitOK, res.Code, res.Stderr)
			}
			run(feeds[0])
			for _, c := range []*atomic.Int64{&putBytes, &getBytes, &puts, &snapPuts, &segPuts, &manPuts} {
				c.Store(0)
			}
			b.ResetTimer()
			for i := range b.N {
				run(feeds[(i+1)%2])
			}
			if bc.name == "file" {
				return
			}
			n := float64(b.N)
			b.ReportMetric(float64(putBytes.Load())/n, "upload-B/run")
			b.ReportMetric(float64(getBytes.Load())/n, "download-B/run")
			b.ReportMetric(float64(puts.Load())/n, "PUTs/run")
			b.ReportMetric(float64(manPuts.Load())/n, "manifest-PUTs/run")
			b.ReportMetric(float64(segPuts.Load())/n, "segment-PUTs/run")
			b.ReportMetric(float64(snapPuts.Load())/n, "snapshot-PUTs/run")
		})
	}
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.ResponseWriter.Write(p)
}
