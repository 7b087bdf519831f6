package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"

	"github.com/talonsync/talonsync/internal/checkpoint"
)

// resumeState is what a run takes over from its checkpoint.
type resumeState struct {
	lock *checkpoint.Lock
	// record is the checkpoint as this run starts it: a fresh one, or the
	// one it resumes (with its progress and the earlier runs' counts).
	record      checkpoint.Record
	rejectsPath string
	resumed     bool
	// finished is set when the checkpoint says this input is already done.
	finished bool
}

// prior are the counts of the runs this one resumes.
func (st *resumeState) prior() checkpoint.Counts { return st.record.Counts }

// openCheckpoint locks the checkpoint and decides how the run starts:
// fresh, resumed, or with nothing to do.
func (o *syncOptions) openCheckpoint(fp checkpoint.Fingerprint, s checkpoint.Settings) (*resumeState, error) {
	st := &resumeState{rejectsPath: o.rejectsPath()}
	fresh := func() (*resumeState, error) {
		st.record = checkpoint.Record{RunID: rand.Text(), Input: fp, Settings: s, RejectsPath: st.rejectsPath, Runs: 1}
		return st, nil
	}
	if o.Checkpoint == "" {
		return fresh()
	}
	lock, err := checkpoint.Acquire(o.Checkpoint + ".lock")
	if err != nil {
		return nil, err
	}
	st.lock = lock
	st, err = o.decide(st, fp, s, fresh)
	if err != nil {
		lock.Unlock()
	}
	return st, err
}

// decide reads the checkpoint and chooses between a fresh start, a resume
// and nothing to do.
func (o *syncOptions) decide(st *resumeState, fp checkpoint.Fingerprint, s checkpoint.Settings, fresh func() (*resumeState, error)) (*resumeState, error) {
	checkpoint.RemoveStaleTemps(o.Checkpoint)
	cp, err := checkpoint.Read(o.Checkpoint)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fresh()
	case err != nil:
		if o.Restart {
			return fresh()
		}
		return nil, usage(fmt.Errorf("%w; give --restart to start over", err))
	case cp.Completed:
		if cp.Input.Same(fp) && cp.Settings.Same(s) {
			st.finished = true
			st.record = *cp
			return st, nil
		}
		// A finished checkpoint of another input: tonight's file starts fresh.
		return fresh()
	}
	if o.State != "" {
		// The state file is what resumes a --state run; the checkpoint only
		// records that an input was finished.
		return fresh()
	}
	if err := cp.Check(fp, s); err != nil {
		if o.Restart {
			return fresh()
		}
		return nil, fmt.Errorf("%w\nthe checkpoint %s belongs to an unfinished run; finish it with the same input and flags, or give --restart to start over", err, o.Checkpoint)
	}
	if o.Rejects != "" && o.Rejects != cp.RejectsPath {
		return nil, usage(fmt.Errorf("--rejects %s differs from the rejects file of the checkpointed run, %s", o.Rejects, cp.RejectsPath))
	}
	st.resumed = true
	st.record = *cp
	st.record.Runs = cp.Runs + 1
	st.rejectsPath = cp.RejectsPath
	return st, nil
}

func (st *resumeState) release() {
	if st != nil && st.lock != nil {
		st.lock.Unlock()
	}
}
