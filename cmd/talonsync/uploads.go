package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/talonsync/talonsync/internal/blob"
)

// uploadTimeout bounds one upload round, and the final one after a stop.
const uploadTimeout = 2 * time.Minute

// uploader saves the run's outputs in object storage: at most every
// --upload-interval while the run goes, and once more at the end (also
// after a stop). A round saves, in this order, the rejects, the owned
// objects (the state), and the checkpoint, which counts what the others
// hold. The checkpoint and owned objects are written with a precondition
// on the generation this run last read or wrote; when it fails, another
// run owns them now, and this run stops at once (no new request) and
// exits 2. Its goroutine has an owner, the run, and ends in finish.
type uploader struct {
	store    *blob.Store
	ck       *checkpointLoc
	rejects  *rejectsLoc
	interval time.Duration
	log      *slog.Logger
	// stop cancels the run; set by the run before start.
	stop context.CancelCauseFunc

	mu    sync.Mutex
	owned []*ownedObject
	lost  error // sticky: the run lost an object to another run

	done chan struct{}
	wg   sync.WaitGroup
}

// ownedObject is an object the run owns besides the checkpoint.
type ownedObject struct {
	owned    *blob.Owned
	snapshot func() ([]byte, error)
	last     []byte // the bytes last saved
}

// active reports whether the run has anything to upload as it goes.
func (u *uploader) active() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.ck.object() || len(u.owned) > 0
}

// Own downloads the object at loc into w (nothing when there is none) and
// adds it to the uploads: every round from then on saves what snapshot
// returns, on the condition that nobody else wrote the object since this
// run read or last wrote it, before the checkpoint. It is the hook for a
// --state in object storage: call it at the start, before the run. snapshot
// must return a consistent copy of the content, and bytes that differ from
// any other run's (hold a run ID): two writes of equal bytes have one S3
// ETag, which no precondition can tell apart.
func (u *uploader) Own(ctx context.Context, loc string, w io.Writer, snapshot func() ([]byte, error)) (existed bool, err error) {
	o, existed, err := u.store.Own(ctx, loc, w)
	if err != nil {
		return false, err
	}
	u.mu.Lock()
	u.owned = append(u.owned, &ownedObject{owned: o, snapshot: snapshot})
	u.mu.Unlock()
	return existed, nil
}

// start begins the periodic rounds, if there is anything to upload.
func (u *uploader) start() {
	if !u.active() {
		return
	}
	u.done = make(chan struct{})
	u.wg.Go(func() {
		t := time.NewTicker(u.interval)
		defer t.Stop()
		for {
			select {
			case <-u.done:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), uploadTimeout)
			err := u.upload(ctx, false)
			cancel()
			if err != nil && !u.lostErr() {
				u.log.Warn(fmt.Sprintf("%v; trying again in %v", err, u.interval))
			}
		}
	})
}

// finish ends the periodic rounds and saves everything once more. It
// returns the error of that last round.
func (u *uploader) finish() error {
	if u.done != nil {
		close(u.done)
		u.wg.Wait()
		u.done = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), uploadTimeout)
	defer cancel()
	return u.upload(ctx, true)
}

// lostErr reports whether the run lost an object to another run.
func (u *uploader) lostErr() bool { return u.lostError() != nil }

func (u *uploader) lostError() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.lost
}

// upload is one round. final uploads the rejects even when empty, if an
// earlier run uploaded some.
func (u *uploader) upload(ctx context.Context, final bool) error {
	if err := u.lostError(); err != nil {
		return err
	}
	if err := u.ck.owner(ctx, u.store); err != nil {
		return u.lose(err)
	}
	force := final && u.ck.object()
	if u.ck.object() {
		u.ck.hold()
	}
	if err := u.rejects.upload(ctx, u.store, force); err != nil {
		return err
	}
	u.mu.Lock()
	owned := append([]*ownedObject(nil), u.owned...)
	u.mu.Unlock()
	for _, o := range owned {
		b, err := o.snapshot()
		if err != nil {
			return fmt.Errorf("upload %s: %w", o.owned.Location(), err)
		}
		if o.last != nil && bytes.Equal(b, o.last) {
			continue
		}
		if err := o.owned.Save(ctx, bytes.NewReader(b), blob.PutOptions{}); err != nil {
			if errors.Is(err, blob.ErrPreconditionFailed) {
				return u.lose(fmt.Errorf("%s: %w (%w): this run stops", o.owned.Location(), errLostOwnership, err))
			}
			return fmt.Errorf("upload: %w", err)
		}
		o.last = b
	}
	if u.ck.object() {
		if err := u.ck.upload(ctx, final); err != nil {
			if errors.Is(err, errLostOwnership) {
				return u.lose(err)
			}
			return err
		}
	}
	return nil
}

// lose records that another run owns an object now and stops this run.
func (u *uploader) lose(err error) error {
	u.mu.Lock()
	if u.lost == nil {
		u.lost = err
	}
	err = u.lost
	u.mu.Unlock()
	if u.stop != nil {
		u.stop(err)
	}
	return err
}
