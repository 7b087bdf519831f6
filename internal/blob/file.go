package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// fileBackend is the local file system.
type fileBackend struct{}

func fileError(op string, l Location, err error) error {
	var kind error
	switch {
	case errors.Is(err, fs.ErrNotExist):
		kind = ErrNotExist
	case errors.Is(err, fs.ErrPermission):
		kind = ErrAccessDenied
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == l.Path {
		err = pe.Err // the path is in the message already
	}
	return &Error{Op: op, Location: l.Redacted(), Kind: kind, Err: err}
}

func (fileBackend) open(_ context.Context, l Location, o OpenOptions) (*Reader, error) {
	f, err := os.Open(l.Path)
	if err != nil {
		return nil, fileError("open", l, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fileError("open", l, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, &Error{Op: "open", Location: l.Redacted(), Err: errors.New("is a directory")}
	}
	r := &Reader{loc: l, offset: o.Offset, size: -1}
	if !st.Mode().IsRegular() {
		// A pipe or a device: read as a stream, like stdin.
		if o.Offset > 0 {
			f.Close()
			return nil, &Error{Op: "open", Location: l.Redacted(), Kind: ErrNotSeekable, Err: errors.New("not a regular file")}
		}
		r.body = limit(f, o.Length)
		return r, nil
	}
	r.size = st.Size()
	r.file = f
	off := min(o.Offset, r.size)
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return nil, fileError("open", l, err)
	}
	// Stop at the size at Open, so that rows appended while it is read are
	// not half read (see Grew).
	n := r.size - off
	if o.Length > 0 {
		n = min(n, o.Length)
	}
	r.body = limitBody{Reader: io.LimitReader(f, n), Closer: f}
	return r, nil
}

func (fileBackend) stat(_ context.Context, l Location) (Attrs, error) {
	st, err := os.Stat(l.Path)
	if err != nil {
		return Attrs{}, fileError("stat", l, err)
	}
	a := Attrs{Size: -1, ModTime: st.ModTime()}
	if st.Mode().IsRegular() {
		a.Size = st.Size()
	}
	return a, nil
}

func fileGeneration(h hash.Hash) Generation {
	return Generation("sha256:" + hex.EncodeToString(h.Sum(nil)))
}

func (fileBackend) download(_ context.Context, l Location, w io.Writer) (Generation, error) {
	f, err := os.Open(l.Path)
	if err != nil {
		return "", fileError("get", l, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), f); err != nil {
		return "", fileError("get", l, err)
	}
	return fileGeneration(h), nil
}

// currentGeneration is the generation of the file at path, or "" if there
// is none.
func currentGeneration(path string) (Generation, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return fileGeneration(h), nil
}

// put writes the file durably and atomically. A conditional put holds an
// exclusive flock on the directory from the check to the rename, so that
// two processes on one host cannot both pass the check.
func (fileBackend) put(_ context.Context, l Location, body io.ReadSeeker, o PutOptions) (Generation, error) {
	dir := filepath.Dir(l.Path)
	if o.If.cond {
		unlock, err := lockDir(dir)
		if err != nil {
			return "", fileError("put", l, err)
		}
		defer unlock()
		cur, err := currentGeneration(l.Path)
		if err != nil {
			return "", fileError("put", l, err)
		}
		if cur != o.If.match {
			return "", &Error{Op: "put", Location: l.Redacted(), Kind: ErrPreconditionFailed, Err: preconditionDetail(o.If, cur)}
		}
	}
	mode := o.Mode
	if mode == 0 {
		mode = 0o600
	}
	g, err := writeFileAtomic(l.Path, body, mode)
	if err != nil {
		return "", fileError("put", l, err)
	}
	return g, nil
}

func preconditionDetail(p Precondition, cur Generation) error {
	switch {
	case p.match == "":
		return errors.New("it exists already")
	case cur == "":
		return errors.New("it no longer exists")
	}
	return fmt.Errorf("its generation is no longer %s", p.match)
}

func (fileBackend) remove(_ context.Context, l Location) error {
	if err := os.Remove(l.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileError("remove", l, err)
	}
	return syncDir(filepath.Dir(l.Path))
}

func lockDir(dir string) (func(), error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		d.Close()
		return nil, fmt.Errorf("lock directory %s: %w", dir, err)
	}
	return func() {
		syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
		d.Close()
	}, nil
}

// writeFileAtomic writes body to path through a temp file in the same
// directory: write, fsync, close, rename over path, fsync of the directory.
// A crash at any instant leaves the old file or the new one, never a torn
// one. It returns the generation of the bytes written.
func writeFileAtomic(path string, body io.ReadSeeker, mode fs.FileMode) (Generation, error) {
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), body); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	ok = true
	return fileGeneration(h), syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return err
	}
	return nil
}

// stdinBackend reads standard input once, from the start.
type stdinBackend struct{ r io.Reader }

func (b stdinBackend) open(_ context.Context, l Location, o OpenOptions) (*Reader, error) {
	if b.r == nil {
		return nil, &Error{Op: "open", Location: "stdin", Err: errors.New("no standard input")}
	}
	if o.Offset > 0 {
		return nil, &Error{Op: "open", Location: "stdin", Kind: ErrNotSeekable}
	}
	return &Reader{body: limit(io.NopCloser(b.r), o.Length), loc: l, size: -1}, nil
}

func (stdinBackend) stat(context.Context, Location) (Attrs, error) { return Attrs{Size: -1}, nil }

func (b stdinBackend) download(_ context.Context, l Location, w io.Writer) (Generation, error) {
	if _, err := io.Copy(w, b.r); err != nil {
		return "", &Error{Op: "get", Location: "stdin", Err: err}
	}
	return "", nil
}

func (stdinBackend) put(context.Context, Location, io.ReadSeeker, PutOptions) (Generation, error) {
	return "", &Error{Op: "put", Location: "stdin", Kind: ErrReadOnly}
}

func (stdinBackend) remove(context.Context, Location) error {
	return &Error{Op: "remove", Location: "stdin", Kind: ErrReadOnly}
}
