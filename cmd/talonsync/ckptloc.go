package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/talonsync/talonsync/internal/blob"
	"github.com/talonsync/talonsync/internal/checkpoint"
)

// errLostOwnership is matched by the error of a run whose checkpoint (or
// state) in object storage was written by another run since this one read
// it: the other run owns it now, and this one stops (exit 2).
var errLostOwnership = errors.New("another run owns it now")

// checkpointLoc is the run's --checkpoint. A local file is locked against a
// second run on this host and written atomically by the pipeline. An
// object is owned (blob.Owned): downloaded at the start, claimed with a
// conditional write, kept in memory while the run goes (lane commits never
// wait for the network), and uploaded by the uploader with a precondition
// on the generation it last wrote.
type checkpointLoc struct {
	loc   string
	lock  *checkpoint.Lock // a local file
	owned *blob.Owned      // an object

	mu     sync.Mutex
	latest []byte // an object: the newest checkpoint the run wrote
	dirty  bool   // latest is not uploaded yet
	// held is what the next upload saves, when hold fixed it (see hold).
	held      []byte
	heldDirty bool
	holding   bool
	claimed   bool // this run claimed the object
	released  bool // the final upload released it
}

// openCheckpointLoc takes hold of --checkpoint and returns what it holds,
// or nil when there is none yet.
func (o *syncOptions) openCheckpointLoc(ctx context.Context) (*checkpointLoc, *checkpoint.Record, error) {
	l, err := blob.Parse(o.Checkpoint)
	if err != nil {
		return nil, nil, usage(fmt.Errorf("--checkpoint: %w", err))
	}
	c := &checkpointLoc{loc: o.Checkpoint}
	switch {
	case l.Kind == blob.File:
		if c.lock, err = checkpoint.Acquire(o.Checkpoint + ".lock"); err != nil {
			return nil, nil, fmt.Errorf("--checkpoint %s: %w", o.Checkpoint, err)
		}
		checkpoint.RemoveStaleTemps(o.Checkpoint)
		cp, err := checkpoint.Read(o.Checkpoint)
		if errors.Is(err, fs.ErrNotExist) {
			return c, nil, nil
		}
		return c, cp, err
	case !l.IsObject():
		return nil, nil, usage(fmt.Errorf("--checkpoint %s: a checkpoint is a local path, s3:// or gs://", l.Redacted()))
	}
	var buf bytes.Buffer
	owned, existed, err := o.blobs().Own(ctx, o.Checkpoint, &buf)
	if err != nil {
		return nil, nil, fmt.Errorf("--checkpoint: %w", err)
	}
	c.owned = owned
	if !existed {
		return c, nil, nil
	}
	cp, err := checkpoint.Decode(o.Checkpoint, buf.Bytes())
	return c, cp, err
}

// object reports whether the checkpoint is in object storage.
func (c *checkpointLoc) object() bool { return c != nil && c.owned != nil }

// claim makes this run the checkpoint's owner: it writes rec (whose Owner
// is this run's) on the condition that nobody wrote since it was read. Of
// two runs that start on one checkpoint, one claims it and the other stops.
func (c *checkpointLoc) claim(ctx context.Context, rec *checkpoint.Record) error {
	if !c.object() {
		return nil
	}
	claim := *rec
	claim.UpdatedAt = time.Now().UTC()
	b, err := checkpoint.Encode(&claim)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.latest = b
	c.mu.Unlock()
	if err := c.save(ctx, b); err != nil {
		return err
	}
	c.claimed = true
	return nil
}

// write is the pipeline's checkpoint write for an object: it keeps the
// bytes for the next upload.
func (c *checkpointLoc) write(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.latest, c.dirty = b, true
	return nil
}

// upload saves the newest checkpoint. It saves at every round, so that a
// run that starts on this checkpoint sees that this one is alive (see
// awaitOwner): a round with nothing new stamps the time again. The final
// round releases the checkpoint (no Owner), so that the next run need not
// wait.
func (c *checkpointLoc) upload(ctx context.Context, final bool) error {
	c.mu.Lock()
	b, dirty := c.latest, c.dirty
	if c.holding {
		b, dirty, c.holding = c.held, c.heldDirty, false
	} else {
		c.dirty = false
	}
	c.mu.Unlock()
	if final || !dirty {
		cp, err := checkpoint.Decode(c.loc, b)
		if err != nil {
			return err
		}
		cp.UpdatedAt = time.Now().UTC()
		if final {
			cp.Owner = ""
		}
		if b, err = checkpoint.Encode(cp); err != nil {
			return err
		}
	}
	if err := c.save(ctx, b); err != nil {
		return err
	}
	if final {
		c.released = true
	}
	return nil
}

// hold fixes the checkpoint the next upload saves: the newest one now,
// before the rejects it counts are uploaded. A checkpoint written while
// they upload counts rejects they may not hold, so it waits for the next
// round; the bucket's checkpoint never counts more than its rejects hold.
func (c *checkpointLoc) hold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held, c.heldDirty, c.holding = c.latest, c.dirty, true
	c.dirty = false
}

func (c *checkpointLoc) save(ctx context.Context, b []byte) error {
	err := c.owned.Save(ctx, bytes.NewReader(b), blob.PutOptions{ContentType: "application/json"})
	if errors.Is(err, blob.ErrPreconditionFailed) {
		return fmt.Errorf("checkpoint %s: %w (it was written since this run read it: %w): this run stops", c.loc, errLostOwnership, err)
	}
	if err != nil {
		return fmt.Errorf("upload checkpoint: %w", err)
	}
	return nil
}

// owner reports whether the object is still at the generation this run
// last wrote: a HEAD, so that a run that lost its checkpoint learns it
// before it uploads anything else.
func (c *checkpointLoc) owner(ctx context.Context, store *blob.Store) error {
	if !c.object() || c.owned.Generation() == "" {
		return nil
	}
	a, err := store.Stat(ctx, c.loc)
	if errors.Is(err, blob.ErrNotExist) {
		return fmt.Errorf("checkpoint %s: %w (it was removed): this run stops", c.loc, errLostOwnership)
	}
	if err != nil {
		return nil // the upload that follows says what is wrong
	}
	if a.Version != c.owned.Generation() {
		return fmt.Errorf("checkpoint %s: %w (its generation is %s, this run wrote %s): this run stops", c.loc, errLostOwnership, a.Version, c.owned.Generation())
	}
	return nil
}

// awaitOwner returns once no other run is writing the checkpoint cp that
// was read: at once when cp is completed or released, or was written long
// enough ago; else after waiting until then. A run that owns a checkpoint
// uploads it at least every interval, so a checkpoint not written for
// ownerWait(interval) has no live owner; the claim that follows is
// conditional on the generation read, so an owner that did write in the
// meantime refuses this run.
func (c *checkpointLoc) awaitOwner(ctx context.Context, cp *checkpoint.Record, interval time.Duration, log *slog.Logger) error {
	if !c.object() || cp == nil || cp.Completed || cp.Owner == "" {
		return nil
	}
	wait := ownerWait(interval) - time.Since(cp.UpdatedAt)
	if wait <= 0 {
		return nil
	}
	log.Info(fmt.Sprintf("checkpoint %s was written %s ago by a run that did not release it: waiting %s to see whether that run is still going",
		c.loc, time.Since(cp.UpdatedAt).Round(time.Second), wait.Round(100*time.Millisecond)))
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ownerWait is how long a checkpoint must go unwritten before its owner is
// taken for dead: an upload interval and a margin for a slow round.
func ownerWait(interval time.Duration) time.Duration { return interval + max(interval/2, time.Second) }

// markCompleted records that the input is finished, after a prune phase.
func (c *checkpointLoc) markCompleted(now time.Time) error {
	if !c.object() {
		return checkpoint.MarkCompleted(c.loc, now)
	}
	c.mu.Lock()
	b := c.latest
	c.mu.Unlock()
	cp, err := checkpoint.Decode(c.loc, b)
	if err != nil {
		return err
	}
	cp.Completed = true
	cp.UpdatedAt = now.UTC()
	if b, err = checkpoint.Encode(cp); err != nil {
		return err
	}
	return c.write(b)
}

// release lets go of the checkpoint: a local file's lock, or an object
// this run claimed and did not release with a final upload (a run that
// failed before it started), so that the next run need not wait for it.
func (c *checkpointLoc) release() {
	if c == nil {
		return
	}
	if c.lock != nil {
		c.lock.Unlock()
	}
	if c.object() && c.claimed && !c.released {
		ctx, cancel := context.WithTimeout(context.Background(), uploadTimeout)
		defer cancel()
		_ = c.upload(ctx, true) // a lost checkpoint is not uploaded: Save fails at once
	}
}

// writeRecord replaces the checkpoint with rec: the file, or the object's
// next upload.
func (c *checkpointLoc) writeRecord(rec *checkpoint.Record) error {
	if !c.object() {
		return checkpoint.Write(c.loc, rec)
	}
	b, err := checkpoint.Encode(rec)
	if err != nil {
		return err
	}
	return c.write(b)
}
