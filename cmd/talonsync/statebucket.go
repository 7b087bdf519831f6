package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/talonsync/talonsync/internal/blob"
	"github.com/talonsync/talonsync/internal/state"
)

// stateBucket is a --state in object storage (see statemanifest.go for
// the objects), as one run holds it. The run works on a local copy in a
// temporary directory, as on a local state file; stateBucket keeps the
// bucket up to date with it:
//
//   - claim, before anything is sent: the snapshot, when opening the copy
//     replayed a killed run's journal into a new one, and a manifest that
//     names this run as the owner;
//   - push, after each invalidation (before the sends it protects) and at
//     every upload round: the journal's new bytes as a segment, and the
//     manifest naming it;
//   - commit, after the state's Commit: the new snapshot if Commit wrote
//     one, and the manifest that names it and no segments, which releases
//     the state.
//
// Every manifest write is conditional on the generation this run last
// read or wrote; when one fails, another run owns the state, and this one
// stops (errLostOwnership, exit 2) and writes nothing more. Files are
// streamed from disk, never held in memory. Its methods are safe for
// concurrent use: netsource pushes while the uploader's rounds do.
type stateBucket struct {
	store *blob.Store
	names stateObjects
	dir   string // the local copy's directory, removed by close
	path  string // the local copy: the snapshot
	token string
	log   *slog.Logger

	mu      sync.Mutex
	owned   *blob.Owned
	read    stateManifest // the manifest as read at the start
	plain   bool          // the object read was a snapshot file, not a manifest
	m       stateManifest // the manifest as last written; read until the claim
	base    os.FileInfo   // the local snapshot as the bucket holds it; nil: none
	file    *state.File
	journal *os.File // the local journal, read for the segments
	sent    int64    // the journal's bytes in segments
	header  int64    // the journal's header: alone, it replays nothing
	claimed bool
	done    bool  // released: committed, or let go
	lost    error // sticky: another run owns the state
}

// The snapshot objects a run writes: when it claims the state after a
// replay, and when it commits.
const (
	snapshotAtClaim  = 0
	snapshotAtCommit = 1
)

// openStateBucket downloads the state at loc into a new temporary
// directory. The caller opens the copy at b.path, then calls attach.
func openStateBucket(ctx context.Context, store *blob.Store, loc string, log *slog.Logger) (*stateBucket, error) {
	dir, path, err := stateTempDir()
	if err != nil {
		return nil, err
	}
	b := &stateBucket{store: store, names: stateObjects{loc}, dir: dir, path: path, token: rand.Text(), log: log}
	fs, err := fetchState(ctx, store, loc, path)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	b.owned, b.read, b.m, b.plain = fs.owned, fs.m, fs.m, fs.plain
	if fs.m.Snapshot != "" || fs.plain {
		if b.base, err = os.Stat(path); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	return b, nil
}

// awaitOwner returns once no other run is writing the state: at once when
// the manifest was released or written long enough ago, else after
// waiting until then. A run that holds the state writes the manifest at
// least every interval, so one not written for ownerWait(interval) has no
// live owner; the claim that follows is conditional on the generation
// read, so an owner that did write meanwhile refuses this run.
func (b *stateBucket) awaitOwner(ctx context.Context, interval time.Duration) error {
	if b.read.Owner == "" {
		return nil
	}
	since := time.Since(b.read.UpdatedAt)
	// min: a writer whose clock is ahead does not make this run wait longer.
	wait := min(ownerWait(interval)-since, ownerWait(interval))
	if wait <= 0 {
		return nil
	}
	b.log.Info(fmt.Sprintf("state %s was written %s ago by a run that did not release it: waiting %s to see whether that run is still going",
		b.names.loc, since.Round(time.Second), wait.Round(100*time.Millisecond)))
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attach is called once f, the local copy, is open and its run begun.
func (b *stateBucket) attach(f *state.File) error {
	j, err := os.Open(state.JournalPath(b.path))
	if err != nil {
		return fmt.Errorf("--state: local copy: %w", err)
	}
	n, err := f.Flushed()
	if err != nil {
		j.Close()
		return err
	}
	b.file, b.journal, b.header = f, j, n
	return nil
}

// claim makes this run the state's owner, before it sends anything. Of
// two runs that read one manifest, one claims it and the other gets
// errLostOwnership. When opening the copy replayed a journal (or
// converted the file, or the object was a plain snapshot), the new
// snapshot is uploaded first, and the manifest names it and none of the
// replayed segments. What the claim replaced is then deleted.
func (b *stateBucket) claim(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	next := stateManifest{Version: stateManifestVersion, Owner: b.token, Snapshot: b.read.Snapshot, LastRun: b.read.LastRun}
	var put string
	if b.plain || b.rewritten() {
		put = b.names.snapshot(b.token, snapshotAtClaim)
		if err := b.putSnapshot(ctx, put); err != nil {
			return err
		}
		next.Snapshot = put
	}
	if err := b.save(ctx, next); err != nil {
		if put != "" {
			removeStateObjects(ctx, b.store, b.names, []string{put})
		}
		return err
	}
	b.claimed = true
	var old []string
	if b.read.Snapshot != "" && b.read.Snapshot != next.Snapshot {
		old = append(old, b.read.Snapshot)
	}
	old = append(append(old, b.read.Journal...), leftBy(b.names, &b.read)...)
	removeStateObjects(ctx, b.store, b.names, old)
	return nil
}

// rewritten reports whether the local snapshot is another file than the
// one the bucket holds: the state writes a new snapshot to a temporary
// file and renames it over the old one.
func (b *stateBucket) rewritten() bool {
	st, err := os.Stat(b.path)
	switch {
	case err != nil:
		return false // no snapshot: the first run has not committed
	case b.base == nil:
		return true
	}
	return !os.SameFile(st, b.base)
}

// putSnapshot uploads the local snapshot as the object name.
func (b *stateBucket) putSnapshot(ctx context.Context, name string) error {
	f, err := os.Open(b.path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if _, err := b.store.Put(ctx, b.names.url(name), f, blob.PutOptions{}); err != nil {
		return fmt.Errorf("upload state snapshot: %w", err)
	}
	b.base = st
	return nil
}

// save writes m as the manifest, on the condition that it is still the
// generation this run last read or wrote.
func (b *stateBucket) save(ctx context.Context, m stateManifest) error {
	if b.lost != nil {
		return b.lost
	}
	m.UpdatedAt = time.Now().UTC()
	m.Writes = b.m.Writes + 1
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	err = b.owned.Save(ctx, bytes.NewReader(body), blob.PutOptions{ContentType: "application/json"})
	switch {
	case errors.Is(err, blob.ErrPreconditionFailed):
		b.lost = fmt.Errorf("state %s: %w (it was written since this run read it: %w): this run stops", b.names.loc, errLostOwnership, err)
		return b.lost
	case errors.Is(err, blob.ErrNotExist) && b.owned.Generation() != "":
		// S3 answers 404 to If-Match when the object is gone (state reset).
		b.lost = fmt.Errorf("state %s: %w (it was removed since this run read it): this run stops", b.names.loc, errLostOwnership)
		return b.lost
	case err != nil:
		return fmt.Errorf("upload state: %w", err)
	}
	b.m = m
	return nil
}

// push uploads what the run journaled since the last push as a segment,
// and the manifest that names it. With stamp, the manifest is written
// even when there is nothing new, so that a run that starts on the state
// sees that this one is alive. netsource calls it after each
// invalidation, before the sends; the uploader at every round.
func (b *stateBucket) push(ctx context.Context, stamp bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lost != nil {
		return b.lost
	}
	if !b.claimed || b.done {
		return nil
	}
	n, err := b.file.Flushed()
	if err != nil {
		return err
	}
	if n <= b.header {
		n = b.sent // no records yet: nothing to upload
	}
	if n == b.sent && !stamp {
		return nil
	}
	next := b.m
	if n > b.sent {
		// A segment rewritten after a failed manifest write keeps its name.
		seg := b.names.segment(b.token, len(b.m.Journal))
		body := io.NewSectionReader(b.journal, b.sent, n-b.sent)
		if _, err := b.store.Put(ctx, b.names.url(seg), body, blob.PutOptions{}); err != nil {
			return fmt.Errorf("upload state journal: %w", err)
		}
		next.Journal = append(next.Journal[:len(next.Journal):len(next.Journal)], seg)
	}
	if err := b.save(ctx, next); err != nil {
		return err
	}
	b.sent = n
	return nil
}

// saveRound is the uploader's round (roundSaver).
func (b *stateBucket) saveRound(ctx context.Context, _ bool) error { return b.push(ctx, true) }

// commit is called after the state's Commit: it uploads the snapshot if
// Commit wrote a new one, then the manifest that names it, the new
// last-run file and no segments, which releases the state; then it
// deletes what that manifest no longer names. When it fails, the bucket
// keeps the run's segments, which the next run replays.
func (b *stateBucket) commit(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lost != nil {
		return b.lost
	}
	if !b.claimed || b.done {
		return nil
	}
	prev := b.m
	next := prev
	next.Owner, next.Journal = "", nil
	if lr, err := os.ReadFile(state.LastRunPath(b.path)); err == nil && json.Valid(lr) {
		next.LastRun = lr
	}
	if b.rewritten() {
		next.Snapshot = b.names.snapshot(b.token, snapshotAtCommit)
		if err := b.putSnapshot(ctx, next.Snapshot); err != nil {
			return err
		}
	}
	if err := b.save(ctx, next); err != nil {
		if next.Snapshot != prev.Snapshot {
			removeStateObjects(ctx, b.store, b.names, []string{next.Snapshot})
		}
		return err
	}
	b.done = true
	old := prev.Journal
	if prev.Snapshot != "" && prev.Snapshot != next.Snapshot {
		old = append(old, prev.Snapshot)
	}
	removeStateObjects(ctx, b.store, b.names, old)
	return nil
}

// release lets go of a state this run claimed and did not commit (it
// failed before its end, or its commit did): the journal's last bytes, if
// the run is still open, and a manifest without an owner that still names
// the segments, so that the next run replays them and need not wait.
func (b *stateBucket) release(ctx context.Context) {
	if b.push(ctx, false) != nil && b.lostError() != nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.claimed || b.done || b.lost != nil {
		return
	}
	next := b.m
	next.Owner = ""
	if b.save(ctx, next) == nil {
		b.done = true
	}
}

// lostError is the sticky error of a lost state, nil while this run owns it.
func (b *stateBucket) lostError() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lost
}

// cleanup removes the local copy; close the state file first.
func (b *stateBucket) cleanup() {
	if b.journal != nil {
		b.journal.Close()
	}
	os.RemoveAll(b.dir)
}
