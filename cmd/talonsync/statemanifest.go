package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/talonsync/talonsync/internal/blob"
	"github.com/talonsync/talonsync/internal/state"
)

// A state in object storage (--state s3://bucket/k, or gs://) is the
// local state's files as objects, with one small object that says which
// of them make the state:
//
//	k                     the manifest (stateManifest, JSON): its owner,
//	                      the snapshot object, the last-run file's bytes,
//	                      and the journal's segments in order
//	k.snapshot.<run>.<n>  a snapshot file, written once
//	k.journal.<run>.<n>   a segment of a run's journal: its bytes from where
//	                      the segment before ended; the segments laid end to
//	                      end are a prefix of that journal
//
// <run> is the owning run's random token. A snapshot or segment is never
// rewritten once a manifest names it; the manifest is written only on the
// condition that it is still the generation this run last read or wrote
// (S3 If-Match / If-None-Match, GCS ifGenerationMatch). So the manifest's
// write is the one step that changes the state, and a run that lost the
// state to another can upload what it likes: no manifest will name it.
// That is why the snapshot is not k itself: a run that lost the state
// could otherwise replace the snapshot under the new owner's journal.
//
// A local state file copied to k as it is (a plain snapshot) is read as a
// state with no journal; the first run that owns it writes the manifest
// there.

// stateManifestVersion is the manifest format written.
const stateManifestVersion = 1

// maxManifest bounds the manifest read: a run that invalidates a million
// keys lists a thousand segments, some 60 KB.
const maxManifest = 16 << 20

// stateManifest is the object at --state.
type stateManifest struct {
	Version int `json:"version"`
	// Owner is the token of the run that holds the state; "" when it was
	// released. A run writes the manifest at least every --upload-interval
	// while it holds it.
	Owner     string    `json:"owner,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	// Writes counts the manifest's writes, so that no two writes have
	// equal bytes (S3 ETags of equal bytes are equal).
	Writes uint64 `json:"writes"`
	// Snapshot names the snapshot object; "" for a state without one yet.
	Snapshot string `json:"snapshot,omitempty"`
	// LastRun is the content of the last-run file (state.LastRunPath).
	LastRun json.RawMessage `json:"lastrun,omitempty"`
	// Journal names the journal's segments in order: the run that owns
	// the state, or one that was killed or failed before it committed.
	Journal []string `json:"journal,omitempty"`
}

// stateObjects names the objects of the state whose manifest is at loc.
// Names in the manifest are relative to the manifest's "directory", so
// that a state copied to another prefix keeps working.
type stateObjects struct{ loc string }

func (n stateObjects) base() string { return path.Base(n.loc) }

func (n stateObjects) snapshot(token string, i int) string {
	return fmt.Sprintf("%s.snapshot.%s.%d", n.base(), token, i)
}

func (n stateObjects) segment(token string, i int) string {
	return fmt.Sprintf("%s.journal.%s.%d", n.base(), token, i)
}

// url is the location of the object name.
func (n stateObjects) url(name string) string {
	return n.loc[:len(n.loc)-len(n.base())] + name
}

// check refuses a manifest that names objects that are not this state's:
// the run deletes what its manifest named once it is replaced.
func (n stateObjects) check(m *stateManifest) error {
	ok := func(name, kind string) bool {
		return strings.HasPrefix(name, n.base()+"."+kind+".") && !strings.ContainsAny(name, "/\\")
	}
	if m.Version != stateManifestVersion {
		return fmt.Errorf("state %s: manifest version %d, this talonsync reads %d", n.loc, m.Version, stateManifestVersion)
	}
	if m.Snapshot != "" && !ok(m.Snapshot, "snapshot") {
		return fmt.Errorf("state %s: %w: the manifest names %q as its snapshot", n.loc, state.ErrCorrupt, m.Snapshot)
	}
	for _, s := range m.Journal {
		if !ok(s, "journal") {
			return fmt.Errorf("state %s: %w: the manifest names %q as a journal segment", n.loc, state.ErrCorrupt, s)
		}
	}
	return nil
}

// fetchedState is a state in object storage laid out as a local one.
type fetchedState struct {
	// owned holds the object at --state at the generation read.
	owned *blob.Owned
	// m is the manifest read; the zero manifest when there was none (no
	// object, or a plain snapshot).
	m stateManifest
	// exists: there was an object at --state; plain: it was a snapshot.
	exists, plain bool
}

// errStateMoved: an object the manifest named was gone, deleted by a run
// that wrote the next manifest in the meantime: read again.
var errStateMoved = errors.New("the state changed while it was read")

// fetchState downloads the state at loc into path (the snapshot),
// state.JournalPath(path) (the segments, end to end) and
// state.LastRunPath(path): what a killed run leaves on a local disk, which
// state.OpenFile replays. It reads again when a run replaced the state
// while it was read.
func fetchState(ctx context.Context, store *blob.Store, loc, path string) (*fetchedState, error) {
	for range 4 {
		fs, err := fetchOnce(ctx, store, loc, path)
		if !errors.Is(err, errStateMoved) {
			return fs, err
		}
	}
	return nil, fmt.Errorf("state %s: %w, again and again: try later", loc, errStateMoved)
}

func fetchOnce(ctx context.Context, store *blob.Store, loc, path string) (*fetchedState, error) {
	for _, p := range []string{path, state.JournalPath(path), state.LastRunPath(path)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	owned, existed, err := store.Own(ctx, loc, f)
	if err != nil {
		return nil, fmt.Errorf("--state: %w", err)
	}
	fs := &fetchedState{owned: owned, exists: existed}
	if !existed {
		return fs, os.Remove(path)
	}
	first := make([]byte, 1)
	if _, err := f.ReadAt(first, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if first[0] != '{' {
		fs.plain = true // a snapshot file, or an old-format one OpenFile converts
		return fs, nil
	}
	if err := readManifest(f, &fs.m); err != nil {
		return nil, fmt.Errorf("state %s: %w", loc, err)
	}
	names := stateObjects{loc}
	if err := names.check(&fs.m); err != nil {
		return nil, err
	}
	if err := f.Truncate(0); err != nil {
		return nil, err
	}
	if fs.m.Snapshot == "" {
		f.Close()
		os.Remove(path)
	} else if err := download(ctx, store, names.url(fs.m.Snapshot), f); err != nil {
		return nil, err
	}
	if len(fs.m.Journal) > 0 {
		if err := downloadSegments(ctx, store, names, fs.m.Journal, state.JournalPath(path)); err != nil {
			return nil, err
		}
	}
	if len(fs.m.LastRun) > 0 {
		if err := os.WriteFile(state.LastRunPath(path), fs.m.LastRun, 0o600); err != nil {
			return nil, err
		}
	}
	return fs, nil
}

func readManifest(f *os.File, m *stateManifest) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return err
	}
	if len(b) > maxManifest {
		return fmt.Errorf("%w: its manifest is over %d MiB", state.ErrCorrupt, maxManifest>>20)
	}
	if err := json.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%w: its manifest: %v", state.ErrCorrupt, err)
	}
	return nil
}

// download streams the object at loc into f, from f's start.
func download(ctx context.Context, store *blob.Store, loc string, f *os.File) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := store.Download(ctx, loc, f)
	if errors.Is(err, blob.ErrNotExist) {
		return errStateMoved
	}
	if err != nil {
		return fmt.Errorf("--state: %w", err)
	}
	return nil
}

func downloadSegments(ctx context.Context, store *blob.Store, names stateObjects, segs []string, dst string) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 64<<10)
	for _, s := range segs {
		_, err := store.Download(ctx, names.url(s), w)
		if errors.Is(err, blob.ErrNotExist) {
			return errStateMoved
		}
		if err != nil {
			return fmt.Errorf("--state: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// stateTempDir makes the directory of a state's local copy.
func stateTempDir() (dir, path string, err error) {
	dir, err = os.MkdirTemp("", "talonsync-state-")
	if err != nil {
		return "", "", fmt.Errorf("--state: local copy: %w", err)
	}
	return dir, filepath.Join(dir, "state"), nil
}

// removeStateObjects deletes objects of the state, best effort: one that
// is left behind takes room and is never read.
func removeStateObjects(ctx context.Context, store *blob.Store, names stateObjects, objs []string) {
	for _, o := range objs {
		_ = store.Remove(ctx, names.url(o))
	}
}

// leftBy names the objects the run whose token is owner may have written
// besides those m names: its snapshots (one when it claimed the state,
// one when it committed) and the segment it uploaded, and then was killed
// before the manifest named it.
func leftBy(names stateObjects, m *stateManifest) []string {
	if m.Owner == "" {
		return nil
	}
	var out []string
	for i := range 2 {
		if s := names.snapshot(m.Owner, i); s != m.Snapshot {
			out = append(out, s)
		}
	}
	n := 0
	for _, s := range m.Journal {
		if strings.HasPrefix(s, names.base()+".journal."+m.Owner+".") {
			n++
		}
	}
	return append(out, names.segment(m.Owner, n))
}

// resetStateObjects empties the state in object storage at loc: it
// deletes the manifest, which empties the state at once, then the objects
// it named. It refuses (a usage error) while a run holds the state: a
// manifest written by a run that did not release it, less than
// ownerWait(defaultUploadInterval) before now. A run whose state is reset
// anyway stops at its next upload (errLostOwnership).
func resetStateObjects(ctx context.Context, store *blob.Store, loc string, now time.Time) error {
	var w manifestWriter
	_, err := store.Download(ctx, loc, &w)
	switch {
	case errors.Is(err, blob.ErrNotExist):
		return usage(fmt.Errorf("state reset: %w", err))
	case err != nil && !errors.Is(err, errNotManifest):
		return err
	}
	names := stateObjects{loc}
	var m stateManifest
	if err == nil {
		if err := json.Unmarshal(w.b, &m); err != nil {
			return fmt.Errorf("state %s: %w: its manifest: %v", loc, state.ErrCorrupt, err)
		}
		if err := names.check(&m); err != nil {
			return err
		}
		if since := now.Sub(m.UpdatedAt); m.Owner != "" && since < ownerWait(defaultUploadInterval) {
			return usage(fmt.Errorf("state reset: a run holds %s (it wrote it %s ago): stop that run first; if it was killed, try again in %s",
				loc, since.Round(time.Second), (ownerWait(defaultUploadInterval) - since).Round(time.Second)))
		}
	}
	if err := store.Remove(ctx, loc); err != nil {
		return err
	}
	objs := append(append([]string(nil), m.Journal...), leftBy(names, &m)...)
	if m.Snapshot != "" {
		objs = append(objs, m.Snapshot)
	}
	removeStateObjects(ctx, store, names, objs)
	return nil
}

// errNotManifest stops the download of an object that is a plain snapshot.
var errNotManifest = errors.New("not a state manifest")

// manifestWriter keeps an object that is a manifest, and stops the
// download of one that is not (a snapshot, maybe large) at its first byte.
type manifestWriter struct{ b []byte }

func (w *manifestWriter) Write(p []byte) (int, error) {
	if len(w.b) == 0 && len(p) > 0 && p[0] != '{' {
		return 0, errNotManifest
	}
	if len(w.b)+len(p) > maxManifest {
		return 0, fmt.Errorf("%w: its manifest is over %d MiB", state.ErrCorrupt, maxManifest>>20)
	}
	w.b = append(w.b, p...)
	return len(p), nil
}
