package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"

	"github.com/talonsync/talonsync/internal/batch"
)

// resumeState is what a run takes over from its checkpoint.
type resumeState struct {
	lock        *batch.FileLock
	start       batch.Progress
	prior       batch.Counts
	base        batch.Checkpoint
	rejectsPath string
	resumed     bool
	// finished is set when the checkpoint says this input is already done.
	finished bool
}

// openCheckpoint locks the checkpoint and decides how the run starts:
// fresh, resumed, or with nothing to do.
func (o *syncOptions) openCheckpoint(fp batch.InputFingerprint, s batch.Settings) (*resumeState, error) {
	st := &resumeState{rejectsPath: o.rejectsPath()}
	st.base.RunID = rand.Text()
	if o.Checkpoint == "" {
		return st, nil
	}
	lock, err := batch.Lock(o.Checkpoint + ".lock")
	if err != nil {
		return nil, err
	}
	st.lock = lock
	fresh := func() (*resumeState, error) {
		st.base = batch.Checkpoint{RunID: rand.Text(), Input: fp, Settings: s, RejectsPath: st.rejectsPath, Runs: 1}
		return st, nil
	}
	batch.RemoveStaleTemps(o.Checkpoint)
	cp, err := batch.ReadCheckpoint(o.Checkpoint)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fresh()
	case err != nil:
		if o.Restart {
			return fresh()
		}
		lock.Unlock()
		return nil, usage(fmt.Errorf("%w; give --restart to start over", err))
	case cp.Completed:
		if cp.Input.Same(fp) && cp.Settings == s {
			st.finished = true
			st.base = *cp
			return st, nil
		}
		// A finished checkpoint of another input: tonight's file starts fresh.
		return fresh()
	}
	if err := cp.Check(fp, s); err != nil {
		if o.Restart {
			return fresh()
		}
		lock.Unlock()
		return nil, fmt.Errorf("%w\nthe checkpoint %s belongs to an unfinished run; finish it with the same input and flags, or give --restart to start over", err, o.Checkpoint)
	}
	if o.Rejects != "" && o.Rejects != cp.RejectsPath {
		lock.Unlock()
		return nil, usage(fmt.Errorf("--rejects %s differs from the rejects file of the checkpointed run, %s", o.Rejects, cp.RejectsPath))
	}
	st.resumed = true
	st.start = cp.Progress
	st.prior = cp.Counts
	st.rejectsPath = cp.RejectsPath
	st.base = *cp
	st.base.Runs = cp.Runs + 1
	return st, nil
}

func (st *resumeState) release() {
	if st.lock != nil {
		st.lock.Unlock()
	}
}
