package readers

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/talonsync/talonsync/internal/blob"
)

// Input is an opened source: a file, an object (s3://, gs://, https://),
// or stdin, possibly gzipped. It backs one Reader at a time. BytesRead may
// be called from any goroutine; the other methods may not be called
// concurrently with the Reader's.
type Input struct {
	name     string
	open     func(blob.OpenOptions) (*blob.Reader, error)
	body     *blob.Reader
	size     int64
	count    countingReader // counts bytes taken from the body
	peek     *bufio.Reader  // over count; sniffs the gzip magic
	gz       *gzip.Reader   // nil unless gzipped
	stream   io.Reader      // decompressed bytes
	seekable bool
	used     bool // a Reader has read from stream
	grew     bool // a reopened body found the file longer than at Open
	short    bool // body ends before the input does (a first read bounded by Source.Start)
}

// Tap sees an input's raw bytes (compressed bytes for gzip) as they are
// read: Tap with every chunk and the offset it starts at, in the order read
// (a rewind or a resume starts again at a lower or higher offset), and End
// when the bytes end. An error from either fails the read that delivered
// the bytes. checkpoint.ContentHasher implements it.
type Tap interface {
	Tap(off int64, p []byte) error
	End(off int64) error
}

// Source is where an Input's raw bytes come from.
type Source struct {
	// Name names the input in messages.
	Name string
	// Open streams the raw bytes from o.Offset, at most o.Length of them
	// when that is set. It is called once at OpenSource, and again to rewind
	// or to resume a plain input whose first reader had a size: a regular
	// file seeks, an object is read with a range request. The caller pins
	// every call to one version of an object (blob.OpenOptions.Version), so
	// that a rewind never mixes two versions' bytes.
	Open func(o blob.OpenOptions) (*blob.Reader, error)
	// Tap, when set, is given every raw byte read.
	Tap Tap
	// Start, when set, is where the Reader will start (its Options.Start
	// offset): the first read is then of the input's first bytes only (up
	// to firstWindow), enough for the gzip magic and a CSV header, and is
	// continued by another read if more is needed; the Reader's seek to
	// Start then reads from there. A resumed object is so never asked for
	// from its start. It is ignored for a stream (stdin, a pipe), which is
	// read once from its start.
	Start int64
}

// firstWindow bounds the first read of an input that will be resumed.
const firstWindow = 256 << 10

// countingReader counts the bytes read through it, atomically so that a
// progress bar may read the count from another goroutine, and shows them to
// the tap.
type countingReader struct {
	r   io.Reader
	n   atomic.Int64
	tap Tap
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	off := c.n.Add(int64(n)) - int64(n)
	if c.tap == nil {
		return n, err
	}
	if n > 0 {
		if terr := c.tap.Tap(off, p[:n]); terr != nil {
			return n, terr
		}
	}
	if err == io.EOF {
		if terr := c.tap.End(off + int64(n)); terr != nil {
			return n, terr
		}
	}
	return n, err
}

// Open opens a location: a path, "-" for stdin, or an object location
// (see package blob), with no deadline. A sync opens through OpenSource.
// The input is gunzipped when it starts with the gzip magic bytes, whatever
// its name. A missing file gives an error that wraps fs.ErrNotExist; a
// corrupt gzip header gives an error that wraps gzip.ErrHeader. The caller
// closes the Input.
func Open(path string, stdin io.Reader) (*Input, error) {
	if path == "-" && stdin == nil {
		return nil, errors.New("open stdin: no standard input")
	}
	store := blob.New(blob.Options{Stdin: stdin})
	return OpenSource(Source{Name: path, Open: func(o blob.OpenOptions) (*blob.Reader, error) {
		return store.Open(context.Background(), path, o)
	}})
}

// OpenSource opens src from its start. See Open.
func OpenSource(src Source) (*Input, error) {
	in := &Input{name: src.Name, open: src.Open, size: -1}
	if in.name == "-" {
		in.name = "stdin"
	}
	var first blob.OpenOptions
	if src.Start > 0 {
		first.Length = min(src.Start, firstWindow)
	}
	body, err := src.Open(first)
	if err == nil && first.Length > 0 && body.Size() < 0 {
		// A stream cannot be read again: read it whole (nothing was read yet).
		body.Close()
		body, err = src.Open(blob.OpenOptions{})
	}
	if err != nil {
		return nil, err // a *blob.Error, which wraps fs.ErrNotExist for a missing file
	}
	in.body = body
	in.short = first.Length > 0 && body.Size() > first.Length
	in.count.r, in.count.tap = bodyReader{in}, src.Tap
	kind := body.Location().Kind
	if body.Size() >= 0 && kind != blob.Stdin {
		in.size = body.Size()
		in.seekable = true
	}
	in.peek = bufio.NewReaderSize(&in.count, 4096)
	magic, err := in.peek.Peek(2)
	if err != nil && err != io.EOF {
		in.Close()
		return nil, fmt.Errorf("read %s: %w", in.name, err)
	}
	in.stream = in.peek
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		in.seekable = false
		if in.gz, err = gzip.NewReader(in.peek); err != nil {
			in.Close()
			return nil, fmt.Errorf("read %s: %w", in.name, err)
		}
		in.stream = in.gz
	}
	return in, nil
}

// Size returns the size in bytes of the file or object (compressed bytes
// for gzip), or -1 for stdin and other inputs of unknown size.
func (in *Input) Size() int64 { return in.size }

// Grew reports whether the file on disk is now longer than it was at Open.
// Only the bytes it held at Open are read: the rows appended later are not.
// It is false for every input that is not a local file.
func (in *Input) Grew() bool { return in.grew || (in.body != nil && in.body.Grew()) }

// BytesRead returns how many bytes have been consumed from the file or
// object (compressed bytes for gzip). It is safe to call from any goroutine.
func (in *Input) BytesRead() int64 { return in.count.n.Load() }

// Compressed reports whether the input is gzipped: then row offsets are in
// the decompressed stream, and only BytesRead relates to Size.
func (in *Input) Compressed() bool { return in.gz != nil }

// Close closes the file or the object's stream; it does not close stdin.
func (in *Input) Close() error {
	var err error
	if in.gz != nil {
		err = in.gz.Close()
	}
	if in.body != nil {
		if cerr := in.body.Close(); err == nil {
			err = cerr
		}
		in.body = nil
	}
	return err
}

// seek moves a seekable input to byte offset off of its stream: it opens
// the source again from there (a seek for a file, a range request for an
// object), bounded by the size at Open.
func (in *Input) seek(off int64) error {
	if in.body != nil {
		in.body.Close()
		in.body = nil
	}
	in.count.r, in.short = eof{}, false
	if off < in.size {
		body, err := in.open(blob.OpenOptions{Offset: off, Length: in.size - off})
		if err != nil {
			return err
		}
		in.body, in.count.r = body, bodyReader{in}
		if body.Size() > in.size {
			in.grew = true
		}
	}
	in.count.n.Store(off)
	in.peek.Reset(&in.count)
	return nil
}

// bodyReader reads the Input's current body. A body that ends short of
// the input (a bounded first read) is continued by a read from where it
// ended to the end.
type bodyReader struct{ in *Input }

func (b bodyReader) Read(p []byte) (int, error) {
	in := b.in
	n, err := in.body.Read(p)
	if err != io.EOF || !in.short {
		return n, err
	}
	in.short = false
	off := in.count.n.Load() + int64(n)
	if off >= in.size {
		return n, err
	}
	body, oerr := in.open(blob.OpenOptions{Offset: off, Length: in.size - off})
	if oerr != nil {
		return n, oerr
	}
	in.body.Close()
	in.body = body
	return n, nil
}

// eof is a reader at its end.
type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }

// limitReader sits between the Input's stream and the Reader's buffer. It
// counts the bytes it delivers and fails with errLimit past limit, which
// bounds the memory encoding/csv may use for one record.
type limitReader struct {
	r         io.Reader
	delivered int64 // stream offset of the next byte to deliver
	limit     int64
}

var errLimit = errors.New("read limit reached")

func (l *limitReader) Read(p []byte) (int, error) {
	room := l.limit - l.delivered
	if room <= 0 {
		return 0, errLimit
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := l.r.Read(p)
	l.delivered += int64(n)
	return n, err
}
