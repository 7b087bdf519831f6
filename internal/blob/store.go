// Package blob reads inputs from, and reads and writes whole small objects
// to, a location: a local path, "-" (stdin), s3://bucket/key, gs://bucket/key
// or https://... (read-only).
//
// Inputs are streamed from a byte offset (a range request for objects and
// https, a seek for files) so that a resumed run reads only what is left.
// Whole objects (a checkpoint, a state snapshot, a report, a rejects file)
// are read with their generation and written with a precondition on it, so
// that of two runs that read one generation only one can write the next:
// the other gets ErrPreconditionFailed.
//
// S3 goes through aws-sdk-go-v2 with its default credential chain; when
// AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) is set, for an S3-compatible
// server, requests use path-style addressing. GCS goes through its JSON API
// over net/http with Application Default Credentials (golang.org/x/oauth2/google);
// STORAGE_EMULATOR_HOST points it at an emulator without credentials, as it
// does the official client. Bytes are passed through as stored: a gzip object
// arrives gzipped, whatever its Content-Encoding.
package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"sync"
	"time"
)

// Generation identifies one version of an object, as the store names it: an
// S3 ETag (quoted, as S3 sends it), a GCS generation number, or for a local
// file "sha256:" and the hex digest of its content. An S3 ETag and a local
// digest derive from the content, so two writes of equal bytes have one
// generation: writers that rely on a precondition make each write distinct
// (an owner token, a time). The empty Generation means "no object".
type Generation string

// Precondition is the condition of a Put. The zero value, Always, writes
// unconditionally.
type Precondition struct {
	cond  bool
	match Generation // "" with cond: the object must not exist
}

// Always writes whatever is there.
var Always = Precondition{}

// IfAbsent writes only if the object does not exist.
var IfAbsent = Precondition{cond: true}

// IfMatch writes only if the object's generation is still g. IfMatch("")
// is IfAbsent.
func IfMatch(g Generation) Precondition { return Precondition{cond: true, match: g} }

// Conditional reports whether p is not Always.
func (p Precondition) Conditional() bool { return p.cond }

// PutOptions are the options of a Put. The zero value writes unconditionally,
// with mode 0600 for a local file.
type PutOptions struct {
	If          Precondition
	Mode        fs.FileMode // local files only; 0 means 0600
	ContentType string      // objects only; "" means application/octet-stream
}

// OpenOptions say which bytes Open streams.
type OpenOptions struct {
	// Offset is the first byte to read. Objects and https read from it with
	// a range request; regular files seek; stdin cannot start past 0.
	Offset int64
	// Length bounds the bytes read; 0 reads to the end.
	Length int64
	// Version, when set, pins the read to that generation (S3 If-Match, GCS
	// ifGenerationMatch, https If-Match): if the object was replaced since,
	// Open fails with ErrChanged instead of mixing two versions' bytes.
	Version Generation
}

// Attrs are what Stat tells about a location.
type Attrs struct {
	Size    int64      // -1 when unknown (stdin, some https servers)
	Version Generation // "" for local files and servers that send no strong ETag
	ModTime time.Time  // zero when unknown
}

// Options configure a Store. The zero value works.
type Options struct {
	// HTTPClient sends the GCS and https requests, and the S3 requests if
	// it is set. nil means a clone of http.DefaultTransport for GCS and
	// https, and the AWS SDK's own client for S3 (which honours
	// AWS_CA_BUNDLE; the SDK cannot add a CA bundle to a given client).
	HTTPClient *http.Client
	// Stdin is what "-" reads. nil means os.Stdin.
	Stdin io.Reader
	// RetryWait is the first wait before a GCS or https request is retried
	// after a 429, a 5xx or a network error; it doubles each time, three
	// attempts in all. 0 means 200ms. (The S3 SDK retries by itself.)
	RetryWait time.Duration
}

// Store opens locations. It is safe for concurrent use; the S3 and GCS
// clients are made on first use, when their credentials are looked up.
type Store struct {
	http      *http.Client
	s3HTTP    *http.Client // nil: the SDK's own
	stdin     io.Reader
	retryWait time.Duration

	mu  sync.Mutex
	s3  *s3Backend
	gcs *gcsBackend
}

// New returns a Store with the options' defaults filled in.
func New(o Options) *Store {
	s := &Store{http: o.HTTPClient, s3HTTP: o.HTTPClient, stdin: o.Stdin, retryWait: o.RetryWait}
	if s.http == nil {
		s.http = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if s.stdin == nil {
		s.stdin = os.Stdin
	}
	if s.retryWait <= 0 {
		s.retryWait = 200 * time.Millisecond
	}
	return s
}

// backend is one kind of store.
type backend interface {
	open(ctx context.Context, l Location, o OpenOptions) (*Reader, error)
	stat(ctx context.Context, l Location) (Attrs, error)
	download(ctx context.Context, l Location, w io.Writer) (Generation, error)
	put(ctx context.Context, l Location, body io.ReadSeeker, o PutOptions) (Generation, error)
	remove(ctx context.Context, l Location) error
}

func (s *Store) backend(ctx context.Context, loc string, op string) (Location, backend, error) {
	l, err := Parse(loc)
	if err != nil {
		return Location{}, nil, err
	}
	switch l.Kind {
	case File:
		return l, fileBackend{}, nil
	case Stdin:
		return l, stdinBackend{r: s.stdin}, nil
	case HTTPS:
		return l, &httpsBackend{c: s.http, retryWait: s.retryWait}, nil
	case S3:
		b, err := s.s3Backend(ctx)
		if err != nil {
			return l, nil, setupError(op, l, err)
		}
		return l, b, nil
	case GCS:
		b, err := s.gcsBackend(ctx)
		if err != nil {
			return l, nil, setupError(op, l, err)
		}
		return l, b, nil
	}
	return l, nil, &Error{Op: op, Location: l.Redacted(), Kind: ErrBadLocation}
}

// credentialsError is a setup failure because the default chain found no
// credentials; other setup failures (a bad configuration file) are not.
type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

func setupError(op string, l Location, err error) error {
	var ce *credentialsError
	if errors.As(err, &ce) {
		return &Error{Op: op, Location: l.Redacted(), Kind: ErrNoCredentials, Err: ce.err}
	}
	return &Error{Op: op, Location: l.Redacted(), Err: err}
}

// Open streams the location's bytes from o.Offset. The caller closes the
// Reader. A missing object or file gives an error matching ErrNotExist; an
// offset equal to the size gives a Reader at EOF.
func (s *Store) Open(ctx context.Context, loc string, o OpenOptions) (*Reader, error) {
	l, b, err := s.backend(ctx, loc, "open")
	if err != nil {
		return nil, err
	}
	if o.Offset < 0 || o.Length < 0 {
		return nil, &Error{Op: "open", Location: l.Redacted(), Kind: ErrBadLocation, Err: errors.New("negative offset or length")}
	}
	return b.open(ctx, l, o)
}

// Stat returns the location's size and generation without reading it.
func (s *Store) Stat(ctx context.Context, loc string) (Attrs, error) {
	l, b, err := s.backend(ctx, loc, "stat")
	if err != nil {
		return Attrs{}, err
	}
	return b.stat(ctx, l)
}

// ReadRange returns n bytes from off (fewer at the end of the object),
// pinned to version when it is set. It is what fingerprints an input's
// head and tail without reading the rest.
func (s *Store) ReadRange(ctx context.Context, loc string, off, n int64, version Generation) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	r, err := s.Open(ctx, loc, OpenOptions{Offset: off, Length: n, Version: version})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Download copies the whole object to w and returns its generation (for a
// local file, the digest of the bytes copied). A missing object gives an
// error matching ErrNotExist, and nothing is written to w.
func (s *Store) Download(ctx context.Context, loc string, w io.Writer) (Generation, error) {
	l, b, err := s.backend(ctx, loc, "get")
	if err != nil {
		return "", err
	}
	return b.download(ctx, l, w)
}

// Get returns the whole object and its generation. It is meant for small
// objects; use Download to stream a large one to a file.
func (s *Store) Get(ctx context.Context, loc string) ([]byte, Generation, error) {
	var buf bytes.Buffer
	g, err := s.Download(ctx, loc, &buf)
	if err != nil {
		return nil, "", err
	}
	return buf.Bytes(), g, nil
}

// Put writes body as the whole object and returns its new generation. A
// local file is written durably and atomically (a temp file beside it,
// fsync, rename, fsync of the directory); an object is one PUT, which the
// store applies atomically. With a precondition that no longer holds, Put
// fails with ErrPreconditionFailed and leaves the object as it is.
//
// A conditional write whose answer was lost and that the client retried
// fails its own precondition; Put then reads the object back, and if it
// holds exactly body, the write was this one and Put succeeds.
// stdin and https give ErrReadOnly.
func (s *Store) Put(ctx context.Context, loc string, body io.ReadSeeker, o PutOptions) (Generation, error) {
	l, b, err := s.backend(ctx, loc, "put")
	if err != nil {
		return "", err
	}
	if !l.Writable() {
		return "", &Error{Op: "put", Location: l.Redacted(), Kind: ErrReadOnly}
	}
	g, err := b.put(ctx, l, body, o)
	if err == nil || !o.If.cond || !errors.Is(err, ErrPreconditionFailed) || !l.IsObject() {
		return g, err
	}
	if cur, ok := s.holds(ctx, l, b, body); ok {
		return cur, nil
	}
	return "", err
}

// holds reports whether the object's content is exactly body's, and its
// generation if so.
func (s *Store) holds(ctx context.Context, l Location, b backend, body io.ReadSeeker) (Generation, bool) {
	want := sha256.New()
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return "", false
	}
	if _, err := io.Copy(want, body); err != nil {
		return "", false
	}
	got := sha256.New()
	g, err := b.download(ctx, l, got)
	if err != nil {
		return "", false
	}
	return g, bytes.Equal(want.Sum(nil), got.Sum(nil))
}

// Remove deletes the object or file. A missing one is not an error.
// stdin and https give ErrReadOnly.
func (s *Store) Remove(ctx context.Context, loc string) error {
	l, b, err := s.backend(ctx, loc, "remove")
	if err != nil {
		return err
	}
	if !l.Writable() {
		return &Error{Op: "remove", Location: l.Redacted(), Kind: ErrReadOnly}
	}
	return b.remove(ctx, l)
}
