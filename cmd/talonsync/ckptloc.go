package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
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
			return nil, nil, err
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
	b, err := checkpoint.Encode(rec)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.latest = b
	c.mu.Unlock()
	return c.save(ctx, b)
}

// write is the pipeline's checkpoint write for an object: it keeps the
// bytes for the next upload.
func (c *checkpointLoc) write(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.latest, c.dirty = b, true
	return nil
}

// upload saves the newest checkpoint if the run wrote one since the last
// upload.
func (c *checkpointLoc) upload(ctx context.Context) error {
	c.mu.Lock()
	b, dirty := c.latest, c.dirty
	c.dirty = false
	c.mu.Unlock()
	if !dirty {
		return nil
	}
	if err := c.save(ctx, b); err != nil {
		if !errors.Is(err, errLostOwnership) {
			c.mu.Lock()
			c.dirty = c.dirty || bytes.Equal(c.latest, b) // try again next time
			c.mu.Unlock()
		}
		return err
	}
	return nil
}

func (c *checkpointLoc) save(ctx context.Context, b []byte) error {
	err := c.owned.Save(ctx, bytes.NewReader(b), blob.PutOptions{ContentType: "application/json"})
	if errors.Is(err, blob.ErrPreconditionFailed) {
		return fmt.Errorf("checkpoint %s: %w (%w): this run stops", c.loc, errLostOwnership, err)
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

func (c *checkpointLoc) release() {
	if c != nil && c.lock != nil {
		c.lock.Unlock()
	}
}
