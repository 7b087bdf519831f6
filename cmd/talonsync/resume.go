package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/talonsync/talonsync/internal/blob"
	"github.com/talonsync/talonsync/internal/checkpoint"
)

// resumeState is what a run takes over from its checkpoint.
type resumeState struct {
	ck *checkpointLoc
	// record is the checkpoint as this run starts it: a fresh one, or the
	// one it resumes (with its progress and the earlier runs' counts).
	record      checkpoint.Record
	rejectsPath string
	resumed     bool
	// finished is set when the checkpoint says this input is already done.
	finished bool
	// hasher hashes the input's bytes as they are read, for the checkpoint;
	// nil without --checkpoint.
	hasher *checkpoint.ContentHasher
}

// prior are the counts of the runs this one resumes.
func (st *resumeState) prior() checkpoint.Counts { return st.record.Counts }

// openCheckpoint takes hold of the checkpoint and decides how the run
// starts: fresh, resumed, or with nothing to do. A checkpoint in object
// storage is then claimed, so that of two runs on it only one goes on.
func (o *syncOptions) openCheckpoint(ctx context.Context, src *source, s checkpoint.Settings) (*resumeState, error) {
	st := &resumeState{rejectsPath: o.rejectsPath()}
	if o.Checkpoint == "" {
		st.record = checkpoint.Record{RunID: rand.Text(), Input: src.fp, Settings: s, RejectsPath: st.rejectsPath, Runs: 1}
		return st, nil
	}
	ck, cp, err := o.openCheckpointLoc(ctx)
	if err != nil {
		if ck != nil {
			ck.release()
		}
		return nil, err
	}
	st.ck = ck
	if err := o.decide(ctx, st, cp, src, s); err != nil {
		ck.release()
		return nil, err
	}
	if st.finished {
		return st, nil
	}
	if err := ck.awaitOwner(ctx, cp, o.UploadInterval, o.log()); err != nil {
		ck.release()
		return nil, err
	}
	st.record.Owner = rand.Text()
	if err := ck.claim(ctx, &st.record); err != nil {
		ck.release()
		return nil, err
	}
	return st, nil
}

// decide chooses between a fresh start, a resume and nothing to do. A
// completed checkpoint skips the input only when the input is byte for
// byte the one it completed; an unfinished one resumes only when the bytes
// its runs read are the same (see sameInput and samePrefix).
func (o *syncOptions) decide(ctx context.Context, st *resumeState, cp *checkpoint.Record, src *source, s checkpoint.Settings) error {
	fresh := func(h *checkpoint.ContentHasher) error {
		if h == nil {
			h = checkpoint.NewContentHasher()
		}
		st.hasher = h
		st.record = checkpoint.Record{RunID: rand.Text(), Input: src.fp, Settings: s, RejectsPath: st.rejectsPath, Runs: 1}
		return nil
	}
	switch {
	case cp == nil:
		return fresh(nil)
	case cp.Completed && !cp.Settings.Same(s):
		return fresh(nil)
	case cp.Completed:
		same, h, err := o.sameInput(ctx, src, cp.Input)
		if err != nil {
			return err
		}
		if same {
			st.finished = true
			st.record = *cp
			return nil
		}
		// A finished checkpoint of another input: tonight's file starts fresh.
		return fresh(h)
	}
	if o.State != "" {
		// The state file is what resumes a --state run; the checkpoint only
		// records that an input was finished.
		return fresh(nil)
	}
	if err := cp.Check(src.fp, s); err != nil {
		if o.Restart {
			return fresh(nil)
		}
		return fmt.Errorf("%w\nthe checkpoint %s belongs to an unfinished run; finish it with the same input and flags, or give --restart to start over", err, o.Checkpoint)
	}
	if o.Restart && src.stream() && cp.Input.Hashed > 0 {
		// The stream's bytes can only be checked as they are read.
		o.log().Info("--restart: starting over, since stdin cannot be checked against the checkpoint before it is read")
		return fresh(nil)
	}
	h, err := o.samePrefix(ctx, src, cp.Input)
	if errors.Is(err, checkpoint.ErrMismatch) {
		if o.Restart {
			return fresh(nil)
		}
		return fmt.Errorf("%w\nthe checkpoint %s belongs to an unfinished run of another input of the same size, head and tail; give --restart to start over", err, o.Checkpoint)
	}
	if err != nil {
		return err
	}
	if o.Rejects != "" && o.Rejects != cp.RejectsPath {
		return usage(fmt.Errorf("--rejects %s differs from the rejects file of the checkpointed run, %s", o.Rejects, cp.RejectsPath))
	}
	st.hasher = h
	st.resumed = true
	st.record = *cp
	st.record.Input.Version = src.fp.Version // the same bytes, maybe uploaded again
	st.record.Runs = cp.Runs + 1
	st.rejectsPath = cp.RejectsPath
	return nil
}

// sameInput reports whether the input is byte for byte the one a completed
// checkpoint was written for. Only an input whose size, head and tail match
// is hashed, all of it, now; that hasher is returned for the run to go on
// with. An object at the same version is the same without a read. stdin
// cannot be proven the same before it is read, so it never is.
func (o *syncOptions) sameInput(ctx context.Context, src *source, was checkpoint.Fingerprint) (bool, *checkpoint.ContentHasher, error) {
	if !was.Same(src.fp) {
		return false, nil, nil
	}
	if src.fp.Version != "" && src.fp.Version == was.Version {
		return true, nil, nil
	}
	why := ""
	switch {
	case src.stream():
		why = "a stream cannot be proven the same as the one the checkpoint completed before it is read"
	case !was.Whole():
		why = "the checkpoint does not hold the hash of the whole input it completed"
	}
	if why != "" {
		o.log().Info(fmt.Sprintf("checkpoint %s is completed for an input of the same size, head and tail, but %s: starting a new run", o.Checkpoint, why))
		return false, nil, nil
	}
	h, err := src.hash(ctx, -1)
	if err != nil {
		return false, nil, err
	}
	n, sum := h.Sum()
	if n == was.Hashed && sum == was.Content {
		return true, nil, nil
	}
	o.log().Info(fmt.Sprintf("checkpoint %s is completed for an input of the same size, head and tail, but the content differs: starting a new run", o.Checkpoint))
	return false, h, nil
}

// samePrefix checks, before a resume, that the bytes the checkpoint's runs
// read are the input's first bytes still, and returns the hasher the
// resumed run goes on with. A file or object is hashed up to there now; an
// object at the same version needs no read; stdin is checked while it is
// read (the run fails once it reads bytes that differ, and its checkpoint
// keeps the earlier input's hash). The error matches checkpoint.ErrMismatch
// when the bytes differ.
func (o *syncOptions) samePrefix(ctx context.Context, src *source, was checkpoint.Fingerprint) (*checkpoint.ContentHasher, error) {
	h := checkpoint.NewContentHasher()
	switch {
	case was.Hashed <= 0 || was.Content == "":
		return h, nil // nothing read yet, or a checkpoint without a hash
	case src.fp.Version != "" && src.fp.Version == was.Version:
		return h, nil
	case src.stream():
		h.Expect(was)
		return h, nil
	}
	h, err := src.hash(ctx, was.Hashed)
	if err != nil {
		return nil, err
	}
	if _, sum := h.Sum(); sum != was.Content {
		return nil, fmt.Errorf("%w: its first %d bytes are not the ones the checkpointed run read", checkpoint.ErrMismatch, was.Hashed)
	}
	return h, nil
}

func (st *resumeState) release() {
	if st != nil {
		st.ck.release()
	}
}

// lostOwnership reports whether err says another run took the checkpoint.
func lostOwnership(err error) bool {
	return errors.Is(err, errLostOwnership) || errors.Is(err, blob.ErrPreconditionFailed)
}
