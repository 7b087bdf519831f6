package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/talonsync/talonsync/internal/blob"
	"github.com/talonsync/talonsync/internal/checkpoint"
)

// defaultRejects is the rejects location when --rejects is not given:
// beside a checkpoint in object storage, so that a run on another node
// finds them; else beside a local input; else, for stdin and objects, in
// the working directory. A shard's default has its index in it.
func (o *syncOptions) defaultRejects() string {
	suffix := ".rejects.jsonl"
	if o.shard.Sharded() {
		suffix = ".shard-" + strconv.Itoa(o.shard.Index) + suffix
	}
	if isObjectLocation(o.Checkpoint) {
		return o.Checkpoint + ".rejects.jsonl"
	}
	l, err := blob.Parse(o.Input)
	switch {
	case err != nil || l.Kind == blob.Stdin:
		return "stdin" + suffix
	case l.Kind == blob.File:
		return o.Input + suffix
	case l.Kind == blob.HTTPS:
		name := path.Base(strings.SplitN(strings.SplitN(l.URL, "?", 2)[0], "#", 2)[0])
		return name + suffix
	}
	return path.Base(l.Key) + suffix
}

// isObjectLocation reports whether loc is in object storage (s3://, gs://).
func isObjectLocation(loc string) bool {
	l, err := blob.Parse(loc)
	return err == nil && l.IsObject()
}

// rejectsLoc is where the run's rejects go. A local file is appended to
// directly. An object is appended to through a local copy (downloaded for
// a resumed run), which the uploader saves before each checkpoint, so that
// the object always holds at least the rejects the uploaded checkpoint
// counts, and at the end.
type rejectsLoc struct {
	loc   string
	local string // the file the run appends to
	dir   string // the temp directory of an object's local copy
}

// object reports whether the rejects go to object storage.
func (r *rejectsLoc) object() bool { return r != nil && r.dir != "" }

// openRejectsLoc opens the rejects for appending after the keep bytes an
// earlier run of the checkpoint wrote.
func (o *syncOptions) openRejectsLoc(ctx context.Context, loc string, keep int64) (*rejectsLoc, *checkpoint.RejectsFile, error) {
	r := &rejectsLoc{loc: loc, local: loc}
	if isObjectLocation(loc) {
		dir, err := os.MkdirTemp("", "talonsync-rejects-")
		if err != nil {
			return nil, nil, fmt.Errorf("rejects: %w", err)
		}
		r.dir, r.local = dir, filepath.Join(dir, "rejects.jsonl")
		if keep > 0 {
			if err := r.download(ctx, o.blobs(), keep); err != nil {
				r.cleanup()
				return nil, nil, err
			}
		}
	}
	rf, err := checkpoint.OpenRejects(r.local, keep)
	if err != nil {
		r.cleanup()
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, nil, usage(fmt.Errorf("%w: give --rejects a path this user may write", err))
		}
		return nil, nil, err
	}
	return r, rf, nil
}

// resolveRejects moves the default rejects file, beside a local input, to
// the working directory when the input's directory cannot be written (a
// read-only mount, another user's folder), and says so.
func (o *syncOptions) resolveRejects() {
	if o.Rejects != "" {
		return
	}
	def := o.defaultRejects()
	if isObjectLocation(def) || filepath.Dir(def) == "." || canWrite(filepath.Dir(def)) {
		return
	}
	o.Rejects = fallbackRejects(def)
	o.log().Info(fmt.Sprintf("%s cannot be written: the rejects go to %s in the working directory (give --rejects to choose)", filepath.Dir(def), o.Rejects))
}

// canWrite is writableDir; tests replace it, since root may write anywhere.
var canWrite = writableDir

// writableDir reports whether a file can be created in dir.
func writableDir(dir string) bool {
	f, err := os.CreateTemp(dir, ".talonsync-probe-*")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

func (r *rejectsLoc) download(ctx context.Context, store *blob.Store, keep int64) error {
	f, err := os.OpenFile(r.local, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("rejects: %w", err)
	}
	_, err = store.Download(ctx, r.loc, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, blob.ErrNotExist) {
		return fmt.Errorf("rejects %s: the checkpoint counts %d bytes of rejects, but there is no such object", r.loc, keep)
	}
	if err != nil {
		return fmt.Errorf("rejects: %w", err)
	}
	return nil
}

// upload saves the local copy's bytes as they are now (the pipeline may be
// appending: every reject an uploaded checkpoint counts was synced before
// that checkpoint was taken). Nothing is uploaded while there is nothing to
// upload and nothing was before.
func (r *rejectsLoc) upload(ctx context.Context, store *blob.Store, force bool) error {
	if !r.object() {
		return nil
	}
	f, err := os.Open(r.local)
	if err != nil {
		return fmt.Errorf("upload rejects: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("upload rejects: %w", err)
	}
	if st.Size() == 0 {
		if !force {
			return nil
		}
		// No rejects: none stay in the bucket, an earlier run's included.
		if err := store.Remove(ctx, r.loc); err != nil && !errors.Is(err, blob.ErrNotExist) {
			return fmt.Errorf("remove the empty rejects: %w", err)
		}
		return nil
	}
	body := io.NewSectionReader(f, 0, st.Size()) // as the commit left it; streamed
	if _, err := store.Put(ctx, r.loc, body, blob.PutOptions{ContentType: "application/x-ndjson"}); err != nil {
		return fmt.Errorf("upload rejects: %w", err)
	}
	return nil
}

func (r *rejectsLoc) cleanup() {
	if r != nil && r.dir != "" {
		os.RemoveAll(r.dir)
	}
}
