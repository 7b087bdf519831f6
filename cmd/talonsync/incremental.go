package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/talonsync/talonsync/internal/batch"
	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/state"
	"github.com/talonsync/talonsync/internal/talon"
)

// errPruneGuard is returned when a prune or mirror would remove more than
// --max-prune of the known items; nothing is removed (exit 1).
var errPruneGuard = errors.New("prune refused")

// incremental is the --state part of one sync run. The whole input is
// grouped by key first (netSource); each key's net effect is compared with
// what the state says the API holds, and only the keys that changed are
// sent, once each. What the API confirms is recorded in the state; after a
// complete run the keys the feed no longer holds are removed (--prune,
// --mirror). A nil *incremental is a run without --state; its methods then
// change nothing.
type incremental struct {
	o    *syncOptions
	file *state.File
	// bucket keeps a state in object storage up to date with file, its
	// local copy; nil for a local state file.
	bucket  *stateBucket
	closed  bool
	run     uint64
	started time.Time
	// refreshBefore: a confirmation older than this is sent again
	// (--refresh-after); zero: never.
	refreshBefore time.Time

	src *netSource // the run's source, for its counters

	prune        checkpoint.Counts // the removal phase's counters
	pruneSkipped string            // why a prune did not run, if it did not
	wouldRemove  int64             // the keys a dry run would remove

	mu sync.Mutex
	// multi holds the keys whose net effect is several items: each is
	// confirmed when all of them are delivered.
	multi map[string]*pendingKey
	// poisoned holds the keys of which an item was rejected or split into
	// its rows: their state is unknown, and later deliveries of them
	// confirm nothing.
	poisoned map[string]bool
	// bulk is set once the feed held a PATCH_MANY or REMOVE_MANY, which
	// touches items the state cannot name: from then on nothing is
	// confirmed.
	bulk bool
	// flushed is when the buffered confirmations last went to the journal.
	flushed time.Time
}

// flushEvery is how often confirmations go to the journal, so that a rerun
// after a kill sends again at most this long's worth of confirmed keys.
const flushEvery = time.Second

// pendingKey is a key of several items, some not yet delivered.
type pendingKey struct {
	left   int
	value  state.Value
	absent bool
}

// addStateFlags adds the incremental-sync flags every sync command has.
func (o *syncOptions) addStateFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.State, "state", "", "state file: send only the keys whose net effect changed since the API last confirmed it")
	fs.BoolVar(&o.Full, "full", false, "with --state, send every key's net effect whatever the state says, and record it anew")
	fs.DurationVar(&o.RefreshAfter, "refresh-after", o.RefreshAfter, "with --state, send a key again when the state's confirmation of it is older than this (0: never)")
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

// checkStateFlags checks the flags of incremental sync.
func (o *syncOptions) checkStateFlags() error {
	switch {
	case o.State == "" && o.pruning():
		return usage(errors.New("--prune and --mirror need --state: the state file is what knows which items the API holds"))
	case o.State == "" && (o.Full || o.flagSet("refresh-after")):
		return usage(errors.New("--full and --refresh-after need --state"))
	case o.MaxPrune < 0 || o.MaxPrune > 1:
		return usage(fmt.Errorf("--max-prune must be between 0 and 1, got %g", o.MaxPrune))
	case o.RefreshAfter < 0:
		return usage(fmt.Errorf("--refresh-after must not be negative, got %v", o.RefreshAfter))
	}
	return nil
}

// openState opens --state, checks that it belongs to this target and
// starts a run in it. It returns nil without --state. A state in object
// storage is downloaded first, and claimed (but not by a dry run, which
// writes nothing there); up then keeps it up to date.
func (o *syncOptions) openState(ctx context.Context, up *uploader) (_ *incremental, err error) {
	if o.State == "" {
		return nil, nil
	}
	path := o.State
	var sb *stateBucket
	if isObjectLocation(o.State) {
		if sb, err = openStateBucket(ctx, o.blobs(), o.State, o.log()); err != nil {
			return nil, err
		}
		path = sb.path
		defer func() {
			if err != nil {
				sb.cleanup()
			}
		}()
		if !o.DryRun {
			if err := sb.awaitOwner(ctx, o.UploadInterval); err != nil {
				return nil, err
			}
		}
	}
	f, err := state.OpenFile(path, state.Options{})
	if err != nil {
		if errors.Is(err, state.ErrLocked) {
			return nil, usage(err)
		}
		return nil, fmt.Errorf("--state %s: %w", o.State, err)
	}
	if f.Migrated() {
		o.log().Warn(fmt.Sprintf("%s was in the format of an earlier talonsync; it is converted, and this run sends every key once", o.State))
	}
	if err := f.Bind(o.stateIdentity()); err != nil {
		f.Close()
		if errors.Is(err, state.ErrMismatch) {
			return nil, usage(fmt.Errorf("--state %s: %w\nuse another state file for this target, or empty it with: talonsync state reset --state %s --yes", o.State, err, o.State))
		}
		return nil, err
	}
	run, err := f.Begin()
	if err != nil {
		f.Close()
		return nil, err
	}
	if sb != nil {
		err := sb.attach(f)
		if err == nil && !o.DryRun {
			err = sb.claim(ctx)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		if !o.DryRun {
			up.add(sb)
		}
	}
	inc := &incremental{o: o, file: f, bucket: sb, run: run, started: time.Now(),
		multi: map[string]*pendingKey{}, poisoned: map[string]bool{}}
	if o.RefreshAfter > 0 {
		inc.refreshBefore = inc.started.Add(-o.RefreshAfter)
	}
	if o.Input == "-" {
		o.log().Info("with --state, stdin is grouped by key through a temporary file in " + spoolDir())
	}
	return inc, nil
}

// stateIdentity is what a state file of this run belongs to.
func (o *syncOptions) stateIdentity() state.Identity {
	id := state.Identity{BaseURL: strings.TrimRight(o.baseURL(), "/"), Entity: o.Entity.String(), Shard: o.shardSetting()}
	switch o.Entity {
	case readers.EntityCatalog:
		id.CatalogID = o.CatalogID
	case readers.EntityAudiences:
		id.AudienceID = o.AudienceID
	}
	return id
}

func (inc *incremental) close() {
	if inc == nil || inc.closed {
		return
	}
	inc.closed = true
	if inc.bucket != nil {
		ctx, cancel := context.WithTimeout(context.Background(), uploadTimeout)
		inc.bucket.release(ctx)
		cancel()
	}
	inc.file.Close()
	if inc.bucket != nil {
		inc.bucket.cleanup()
	}
}

// invalidate durably records that the values of keys are unknown, before
// their net effects are sent: in the state file, and for a state in
// object storage in the bucket too.
func (inc *incremental) invalidate(keys ...string) error {
	if err := inc.file.Invalidate(keys...); err != nil {
		return err
	}
	return inc.pushed()
}

// pushed makes what the state journaled so far durable in the bucket, for
// a state in object storage; an error matching errLostOwnership says that
// another run owns the state now, and nothing more may be sent.
func (inc *incremental) pushed() error {
	if inc.bucket == nil || inc.o.DryRun {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), uploadTimeout)
	defer cancel()
	return inc.bucket.push(ctx, false)
}

// start is where the reader starts: a state run reads its whole input.
func (inc *incremental) start(st *resumeState) readers.Position {
	if inc != nil {
		return readers.Position{}
	}
	return st.record.Progress.Resume
}

// source wraps the reader: with --state, the net effects of the keys.
func (inc *incremental) source(rd *readers.Reader) batch.Source {
	if inc == nil {
		return rd
	}
	inc.src = newNetSource(inc, rd)
	return inc.src
}

// configure sets the hooks that record what the API confirms.
func (inc *incremental) configure(cfg *batch.Config) {
	if inc == nil || inc.o.DryRun {
		return
	}
	cfg.Merge = nil // the units are each key's net effect already
	cfg.OnDelivered = inc.delivered
	cfg.OnRejected = func(r *readers.Row) { inc.unknown(r.Item.Key) }
	cfg.OnSplit = func(r *readers.Row) { inc.unknown(r.Item.Key) }
}

// delivered confirms the keys whose net effect the API now holds.
func (inc *incremental) delivered(rows []readers.Row) error {
	inc.mu.Lock()
	defer inc.mu.Unlock()
	if inc.bulk {
		return nil
	}
	for i := range rows {
		it := &rows[i].Item
		if inc.poisoned[it.Key] {
			continue
		}
		if p := inc.multi[it.Key]; p != nil {
			if p.left--; p.left > 0 {
				continue
			}
			delete(inc.multi, it.Key)
			if err := inc.file.Confirm(it.Key, p.value, p.absent); err != nil {
				return err
			}
			continue
		}
		if err := inc.file.Confirm(it.Key, state.ValueOf(it.Key, *it), it.Remove); err != nil {
			return err
		}
	}
	if time.Since(inc.flushed) >= flushEvery {
		inc.flushed = time.Now()
		return inc.file.Flush()
	}
	return nil
}

// unknown records that the API may hold anything for key: an item of it
// was rejected, or split into its rows.
func (inc *incremental) unknown(key string) {
	inc.mu.Lock()
	defer inc.mu.Unlock()
	inc.poisoned[key] = true
	delete(inc.multi, key)
	_ = inc.file.Reject(key) // buffered; an error shows again at Commit
}

// expect notes a key whose net effect is several items.
func (inc *incremental) expect(key string, units []talon.Item, v state.Value) {
	inc.mu.Lock()
	defer inc.mu.Unlock()
	inc.multi[key] = &pendingKey{left: len(units), value: v, absent: units[len(units)-1].Remove}
}

// sawBulk notes a PATCH_MANY or REMOVE_MANY and makes every value
// unknown, before it is sent.
func (inc *incremental) sawBulk() error {
	inc.mu.Lock()
	inc.bulk = true
	inc.mu.Unlock()
	if inc.o.DryRun {
		return nil
	}
	if err := inc.file.InvalidateAll(); err != nil {
		return err
	}
	return inc.pushed()
}

// finish runs the removal phase after a complete run with --prune or
// --mirror (see prune.go), and commits the state. It returns the run's
// error.
func (inc *incremental) finish(ctx context.Context, runErr error, cfg batch.Config) error {
	if inc == nil {
		return runErr
	}
	if runErr == nil && inc.o.pruning() {
		runErr = inc.removeStale(ctx, cfg)
	}
	return runErr
}
