package readers

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/blob"
)

// rangeServer serves one input over TLS with http.ServeContent (Range and
// If-Match as a static file server answers them) and records the Range of
// every request.
type rangeServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	ranges []string
}

func newRangeServer(t *testing.T, data []byte) (*rangeServer, *blob.Store) {
	t.Helper()
	s := &rangeServer{}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.ranges = append(s.ranges, r.Header.Get("Range"))
		s.mu.Unlock()
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "in", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(s.srv.Close)
	return s, blob.New(blob.Options{HTTPClient: s.srv.Client()})
}

func (s *rangeServer) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

// recordTap records the chunks a Tap sees.
type recordTap struct {
	mu     sync.Mutex
	chunks [][2]int64 // offset, length
	ended  int64
}

func (r *recordTap) Tap(off int64, p []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.chunks = append(r.chunks, [2]int64{off, int64(len(p))})
	return nil
}

func (r *recordTap) End(off int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = off
	return nil
}

// covered is the end of the contiguous run of bytes from 0 the tap saw.
func (r *recordTap) covered() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, c := range r.chunks {
		if c[0] <= n {
			n = max(n, c[0]+c[1])
		}
	}
	return n
}

func TestOpenSourceResumesWithARangeRequest(t *testing.T) {
	var b strings.Builder
	b.WriteString("sku,price,Color\n")
	for i := range 20_000 {
		fmt.Fprintf(&b, "sku-%05d,%d.90,c%d\n", i, i%100, i)
	}
	data := []byte(b.String())
	path := writeFile(t, "catalog.csv", b.String())
	opts := Options{Entity: EntityCatalog, Format: FormatCSV}
	full, err := readPath(t, path, opts)
	require.NoError(t, err)
	require.Greater(t, len(full), 3)

	srv, store := newRangeServer(t, data)
	url := srv.srv.URL + "/catalog.csv"
	tap := &recordTap{}
	start := full[15_000].Resume
	in, err := OpenSource(Source{Name: url, Tap: tap, Start: start.Offset, Open: func(o blob.OpenOptions) (*blob.Reader, error) {
		o.Version = `"v1"`
		return store.Open(context.Background(), url, o)
	}})
	require.NoError(t, err)
	defer in.Close()
	assert.Equal(t, int64(len(data)), in.Size())
	assert.True(t, in.seekable, "an object with a size resumes by range")

	opts.Start = start
	rows, err := readAll(t, in, opts)
	require.NoError(t, err)
	assertSameRows(t, full[15_000:], rows)

	ranges := srv.seen()
	require.Len(t, ranges, 2, "one read for the header, one from the resume offset")
	assert.Equal(t, "bytes=0-"+itoa(firstWindow-1), ranges[0], "the first read is of the first bytes only")
	assert.Equal(t, "bytes="+itoa(start.Offset)+"-"+itoa(int64(len(data))-1), ranges[1])
	assert.Equal(t, int64(len(data)), tap.ended, "the tap sees the end")
	assert.Less(t, tap.covered(), int64(len(data)), "the bytes seeked over were not read")
}

func TestOpenSourceTapSeesEveryByteOfAWholeRead(t *testing.T) {
	for _, file := range []string{"profiles_tricky.csv", "profiles_tricky.csv.gz", "profiles_tricky.jsonl"} {
		t.Run(file, func(t *testing.T) {
			path := fixtures + file
			size, err := os.Stat(path)
			require.NoError(t, err)
			tap := &recordTap{}
			store := blob.New(blob.Options{})
			in, err := OpenSource(Source{Name: path, Tap: tap, Open: func(o blob.OpenOptions) (*blob.Reader, error) {
				return store.Open(context.Background(), path, o)
			}})
			require.NoError(t, err)
			defer in.Close()
			format, _ := FormatFromPath(path)
			_, err = readAll(t, in, Options{Entity: EntityProfiles, Format: format})
			require.NoError(t, err)
			assert.Equal(t, size.Size(), tap.covered())
			assert.Equal(t, size.Size(), tap.ended)
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A first read bounded by Start is continued when the reader needs more of
// the start than it holds: a CSV header longer than the window, or a gzip
// input, which is read from its start.
func TestOpenSourceContinuesABoundedFirstRead(t *testing.T) {
	var b strings.Builder
	b.WriteString("integrationId")
	for i := range 40_000 {
		fmt.Fprintf(&b, ",A%05d", i)
	}
	b.WriteString("\n")
	for i := range 50 {
		fmt.Fprintf(&b, "u%d%s\n", i, strings.Repeat(",1", 40_000))
	}
	plain := []byte(b.String())
	require.Greater(t, strings.Index(b.String(), "\n"), firstWindow, "the header is longer than the first read")
	opts := Options{Entity: EntityProfiles, Format: FormatCSV}
	full, err := readString(t, b.String(), opts)
	require.NoError(t, err)
	require.Len(t, full, 50)

	for name, data := range map[string][]byte{"long header": plain, "gzip": gzipBytes(t, plain)} {
		t.Run(name, func(t *testing.T) {
			srv, store := newRangeServer(t, data)
			url := srv.srv.URL + "/in.csv"
			start := full[40].Resume
			in, err := OpenSource(Source{Name: url, Start: start.Offset, Open: func(o blob.OpenOptions) (*blob.Reader, error) {
				return store.Open(context.Background(), url, o)
			}})
			require.NoError(t, err)
			defer in.Close()
			o := opts
			o.Start = start
			rows, err := readAll(t, in, o)
			require.NoError(t, err)
			assertSameRows(t, full[40:], rows)
			assert.Equal(t, "bytes=0-"+itoa(firstWindow-1), srv.seen()[0])
		})
	}
}

// Start is a hint that a stream ignores: stdin is read whole, once.
func TestOpenSourceStreamIgnoresStart(t *testing.T) {
	data := "integrationId\n" + strings.Repeat("u1\n", 1000)
	store := blob.New(blob.Options{Stdin: strings.NewReader(data)})
	in, err := OpenSource(Source{Name: "-", Start: 100, Open: func(o blob.OpenOptions) (*blob.Reader, error) {
		return store.Open(context.Background(), "-", o)
	}})
	require.NoError(t, err)
	defer in.Close()
	rows, err := readAll(t, in, Options{Entity: EntityProfiles, Format: FormatCSV, Start: Position{Offset: 17, Line: 3}})
	require.NoError(t, err)
	assert.Len(t, rows, 999)
}
