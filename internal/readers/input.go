package readers

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// Input is an opened source: a file, possibly gzipped, or stdin. It backs
// one Reader at a time. BytesRead may be called from any goroutine; the other
// methods may not be called concurrently with the Reader's.
type Input struct {
	name     string
	file     *os.File // nil for stdin
	size     int64
	count    countingReader // counts bytes taken from the file or stdin
	peek     *bufio.Reader  // over count; sniffs the gzip magic
	gz       *gzip.Reader   // nil unless gzipped
	stream   io.Reader      // decompressed bytes
	seekable bool
	used     bool // a Reader has read from stream

	// lim stops a regular file at its size at Open, so that rows appended
	// while it is read are not half read (see Grew); nil for other inputs.
	lim *io.LimitedReader
}

// countingReader counts the bytes read through it, atomically so that a
// progress bar may read the count from another goroutine.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Open opens path, or stdin when path is "-". The input is gunzipped when it
// starts with the gzip magic bytes, whatever its name. A missing file gives an
// error that wraps fs.ErrNotExist; a corrupt gzip header gives an error that
// wraps gzip.ErrHeader. The caller closes the Input.
func Open(path string, stdin io.Reader) (*Input, error) {
	in := &Input{name: path, size: -1}
	if path == "-" {
		if stdin == nil {
			return nil, errors.New("open stdin: no standard input")
		}
		in.name = "stdin"
		in.count.r = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err // *fs.PathError, which wraps fs.ErrNotExist for a missing file
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		in.file = f
		in.count.r = f
		if st.Mode().IsRegular() {
			in.size = st.Size()
			in.seekable = true
			in.lim = &io.LimitedReader{R: f, N: in.size}
			in.count.r = in.lim
		}
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

// Size returns the size in bytes of the file on disk, or -1 for stdin and
// other inputs that are not regular files.
func (in *Input) Size() int64 { return in.size }

// Grew reports whether the file on disk is now longer than it was at Open.
// Only the bytes it held at Open are read: the rows appended later are not.
func (in *Input) Grew() bool {
	if in.file == nil || in.lim == nil {
		return false
	}
	st, err := in.file.Stat()
	return err == nil && st.Size() > in.size
}

// BytesRead returns how many bytes have been consumed from the file on disk
// (compressed bytes for gzip). It is safe to call from any goroutine.
func (in *Input) BytesRead() int64 { return in.count.n.Load() }

// Compressed reports whether the input is gzipped: then row offsets are in
// the decompressed stream, and only BytesRead relates to Size.
func (in *Input) Compressed() bool { return in.gz != nil }

// Close closes the file; it does not close stdin.
func (in *Input) Close() error {
	var err error
	if in.gz != nil {
		err = in.gz.Close()
	}
	if in.file != nil {
		if cerr := in.file.Close(); err == nil {
			err = cerr
		}
		in.file = nil
	}
	return err
}

// seek moves a seekable input to byte offset off of its stream.
func (in *Input) seek(off int64) error {
	if _, err := in.file.Seek(off, io.SeekStart); err != nil {
		return err
	}
	if in.lim != nil {
		in.lim.N = in.size - off
	}
	in.count.n.Store(off)
	in.peek.Reset(&in.count)
	return nil
}

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
