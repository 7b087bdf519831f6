package blob

import (
	"errors"
	"io"
	"os"
)

// Reader streams a location's bytes from the offset it was opened at. Read
// and Close must not be called concurrently; Size, Offset and Version may be
// called at any time.
type Reader struct {
	body    io.ReadCloser
	loc     Location
	offset  int64
	size    int64
	version Generation

	// file is the local file, for Grew; nil for other kinds.
	file *os.File
}

// Read reads the next bytes. An error from the store is an *Error naming
// the location; the end of the bytes is io.EOF.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		var be *Error
		if !errors.As(err, &be) {
			err = &Error{Op: "read", Location: r.loc.Redacted(), Err: err}
		}
	}
	return n, err
}

// Close releases the stream; it does not close stdin.
func (r *Reader) Close() error { return r.body.Close() }

// Size is the size of the whole object or file (not only of the bytes from
// the offset), or -1 when unknown: stdin, a pipe, an https answer without a
// length. A regular file is read only up to its size at Open.
func (r *Reader) Size() int64 { return r.size }

// Offset is the byte the Reader started at.
func (r *Reader) Offset() int64 { return r.offset }

// Version is the generation of the object being read ("" for local files,
// stdin and https servers that send no strong ETag).
func (r *Reader) Version() Generation { return r.version }

// Location is the location being read.
func (r *Reader) Location() Location { return r.loc }

// Grew reports whether a local file is now longer than it was at Open; the
// bytes appended since are not read. It is false for every other kind.
func (r *Reader) Grew() bool {
	if r.file == nil {
		return false
	}
	st, err := r.file.Stat()
	return err == nil && st.Size() > r.size
}

// limitBody bounds a body to n bytes, for a range that the server did not
// bound itself.
type limitBody struct {
	io.Reader
	io.Closer
}

func limit(rc io.ReadCloser, n int64) io.ReadCloser {
	if n <= 0 {
		return rc
	}
	return limitBody{Reader: io.LimitReader(rc, n), Closer: rc}
}

// emptyBody is a body at EOF.
type emptyBody struct{}

func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }
func (emptyBody) Close() error             { return nil }
