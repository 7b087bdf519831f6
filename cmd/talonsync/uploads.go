package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/talonsync/talonsync/internal/blob"
)

// uploadTimeout bounds one upload round, and the final one after a stop.
const uploadTimeout = 2 * time.Minute

// uploader saves the run's outputs in object storage: at most every
// --upload-interval while the run goes, and once more at the end (also
// after a stop). A round saves, in this order, the rejects, the other
// outputs that take part in rounds (the state: roundSaver), and the
// checkpoint, which counts what the others hold. The checkpoint and the
// state are written with a precondition on the generation this run last
// read or wrote; when it fails, another run owns them now, and this run
// stops at once (no new request) and exits 2. Its goroutine has an owner,
// the run, and ends in finish.
type uploader struct {
	store    *blob.Store
	ck       *checkpointLoc
	rejects  *rejectsLoc
	interval time.Duration
	log      *slog.Logger
	// stop cancels the run; set by the run before start.
	stop context.CancelCauseFunc

	mu     sync.Mutex
	savers []roundSaver
	lost   error // sticky: the run lost an object to another run

	done chan struct{}
	wg   sync.WaitGroup
}

// roundSaver is an output the upload rounds save besides the rejects and
// the checkpoint: a --state in object storage (stateBucket).
type roundSaver interface {
	// saveRound saves what changed since the last round; final says it is
	// the run's last round. An error matching errLostOwnership says that
	// another run owns the output now: the run stops. saveRound may be
	// called while the run itself saves the output (it serializes).
	saveRound(ctx context.Context, final bool) error
}

// active reports whether the run has anything to upload as it goes.
func (u *uploader) active() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.ck.object() || len(u.savers) > 0
}

// add makes every round from now on save s, after the rejects and before
// the checkpoint. Call it before start.
func (u *uploader) add(s roundSaver) {
	u.mu.Lock()
	u.savers = append(u.savers, s)
	u.mu.Unlock()
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
	savers := append([]roundSaver(nil), u.savers...)
	u.mu.Unlock()
	for _, s := range savers {
		if err := s.saveRound(ctx, final); err != nil {
			if errors.Is(err, errLostOwnership) {
				return u.lose(err)
			}
			return err
		}
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
