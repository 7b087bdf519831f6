package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/talonsync/talonsync/internal/batch"
	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/state"
)

// errPruneGuard is returned when a prune or mirror would remove more than
// --max-prune of the known items; nothing is removed (exit 1).
var errPruneGuard = errors.New("prune refused")

// incremental is the --state part of one sync run: it skips rows the API
// already holds, records what the API confirms, and prunes (catalog) or
// mirrors (audiences) after a complete run. A nil *incremental is a run
// without --state; its methods then change nothing.
type incremental struct {
	o       *syncOptions
	store   *state.Store
	tr      *state.Tracker
	started time.Time

	prune        checkpoint.Counts // the removal phase's counters
	pruneSkipped string            // why a prune did not run, if it did not
	wouldRemove  int64             // the keys a dry run would remove
}

// addPruneFlags adds --prune or --mirror (name) and --max-prune.
func (o *syncOptions) addPruneFlags(fs *pflag.FlagSet, name string) {
	switch name {
	case "prune":
		fs.BoolVar(&o.Prune, "prune", false, "with --state, after a complete run remove the SKUs the state knows and this feed lacks (the feed is the full catalog)")
	case "mirror":
		fs.BoolVar(&o.Mirror, "mirror", false, "with --state, the file is the complete member list: add new members, delete the members it lacks")
	}
	fs.Float64Var(&o.MaxPrune, "max-prune", o.MaxPrune, "refuse to remove more than this share of the known items (0-1)")
}

// pruning reports whether the run removes what the feed lacks.
func (o *syncOptions) pruning() bool { return o.Prune || o.Mirror }

// openState opens --state, checks that it belongs to this target and
// starts a run in it. It returns nil without --state.
func (o *syncOptions) openState() (*incremental, error) {
	if o.State == "" {
		if o.pruning() {
			return nil, usage(errors.New("--prune and --mirror need --state: the state file is what knows which items the API holds"))
		}
		return nil, nil
	}
	if o.MaxPrune < 0 || o.MaxPrune > 1 {
		return nil, usage(fmt.Errorf("--max-prune must be between 0 and 1, got %g", o.MaxPrune))
	}
	s, err := state.Open(o.State, state.Options{})
	if err != nil {
		if errors.Is(err, state.ErrLocked) {
			return nil, usage(err)
		}
		return nil, err
	}
	id := state.Identity{BaseURL: strings.TrimRight(o.baseURL(), "/"), Entity: o.Entity.String()}
	switch o.Entity {
	case readers.EntityCatalog:
		id.CatalogID = o.CatalogID
	case readers.EntityAudiences:
		id.AudienceID = o.AudienceID
	}
	if err := s.Bind(id); err != nil {
		s.Close()
		if errors.Is(err, state.ErrMismatch) {
			return nil, usage(fmt.Errorf("--state %s: %w\nuse another state file for this target, or empty it with: talonsync state reset --state %s --yes", o.State, err, o.State))
		}
		return nil, err
	}
	now := time.Now()
	run, err := s.BeginRun(now)
	if err != nil {
		s.Close()
		return nil, err
	}
	return &incremental{o: o, store: s, tr: state.NewTracker(s, run, o.Entity), started: now}, nil
}

func (inc *incremental) close() {
	if inc != nil {
		inc.store.Close()
	}
}

// reread reports whether a resumed run reads its input from the start:
// with --prune or --mirror every row must mark its key as seen in this
// run, the rows an earlier run finished included. Those are skipped, not sent.
func (inc *incremental) reread(st *resumeState) bool {
	return inc != nil && st.resumed && inc.o.pruning()
}

// start is where the reader starts.
func (inc *incremental) start(st *resumeState) readers.Position {
	if inc.reread(st) {
		return readers.Position{}
	}
	return st.record.Progress.Resume
}

// configure sets the pipeline hooks.
func (inc *incremental) configure(cfg *batch.Config, st *resumeState) {
	if inc == nil {
		return
	}
	cfg.Unchanged = inc.tr.Unchanged
	if !inc.o.DryRun {
		cfg.OnDelivered = inc.tr.Delivered
	}
	if inc.reread(st) {
		done, from := st.record.Progress.Skipper(), st.record.Progress.Resume.Line
		cfg.Skip = func(line int64) bool { return line < from || done(line) }
	}
}

// source wraps the reader so that, with --prune or --mirror, the keys of
// the feed are marked as seen.
func (inc *incremental) source(rd *readers.Reader) batch.Source {
	if inc == nil || !inc.o.pruning() {
		return rd
	}
	return inc.tr.Seen(rd)
}

// finish runs the removal phase after a complete run with --prune or
// --mirror: the keys the state knows and the feed lacks are removed
// through the same pipeline (cfg, with its own counters, no checkpoint, and
// the same rejects file). It returns the run's error.
func (inc *incremental) finish(ctx context.Context, runErr error, cfg batch.Config) error {
	if inc == nil || !inc.o.pruning() || runErr != nil {
		return runErr
	}
	if ok, why := inc.tr.Complete(); !ok {
		inc.pruneSkipped = why
		inc.o.log().Warn("nothing removed: " + why)
		return nil
	}
	stale, total, err := inc.tr.Stale()
	if err != nil {
		return err
	}
	if stale == 0 {
		return nil
	}
	if float64(stale) > inc.o.MaxPrune*float64(total) {
		return fmt.Errorf("%w: %d of the %d known items (%.1f%%) are not in this feed, more than --max-prune %g allows; nothing was removed. Check that the feed is complete, or raise --max-prune",
			errPruneGuard, stale, total, 100*float64(stale)/float64(total), inc.o.MaxPrune)
	}
	if inc.o.DryRun {
		err := inc.tr.StaleKeys(func(key string) error {
			_, err := fmt.Fprintln(inc.o.io().Out, key)
			return err
		})
		inc.wouldRemove = stale
		return err
	}
	inc.o.log().Info(fmt.Sprintf("removing %d of %d known items that are not in this feed", stale, total))
	cfg.Stats = &batch.Stats{}
	cfg.Skip, cfg.Unchanged, cfg.Checkpoint = nil, nil, nil
	res, err := batch.Run(ctx, inc.tr.Removals(), cfg)
	inc.prune = res.Counts
	return err
}

// report adds the removal phase to rep and records the run in the state.
func (inc *incremental) report(rep *report, runErr error) {
	if inc == nil {
		return
	}
	rep.Pruned = inc.prune.Delivered
	rep.PruneRejected = inc.prune.Rejected
	rep.WouldRemove = inc.wouldRemove
	rep.Batches += inc.prune.Batches
	rep.Requests += inc.prune.Requests
	rep.RequestsByClass = rep.RequestsByClass.Add(inc.prune.Answers)
	rep.Retries += inc.prune.Retries
	info := state.RunInfo{
		Run: inc.tr.Run(), Input: inc.o.Input, Started: inc.started.UTC(), Finished: time.Now().UTC(),
		Complete: runErr == nil, DryRun: inc.o.DryRun,
		Read: rep.RunRead, Delivered: rep.Delivered, Unchanged: rep.Unchanged, Rejected: rep.Rejected,
		Pruned: rep.Pruned, Error: errText(runErr),
	}
	if err := inc.store.FinishRun(info); err != nil {
		inc.o.log().Warn(err.Error())
	}
}

// errText is err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
