package batch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/pace"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// ErrInterrupted is returned by Run when its context was cancelled before
// every row was done: a graceful stop.
var ErrInterrupted = errors.New("interrupted")

// Config configures Run. Zero values get the defaults documented per field.
type Config struct {
	Endpoint  talon.Endpoint
	CatalogID int64
	// Silent is passed to profile requests (nil: the API default, yes).
	Silent *bool
	// RunID identifies the run, and stays the same when a checkpointed run
	// resumes; it salts the Idempotency-Key of profile requests.
	RunID string
	// Lanes is the number of lanes, each with one worker. Default 4.
	Lanes int
	// BatchSize is the most rows in one request, at most 1000. Default 1000.
	BatchSize int
	// MaxOpen is the most open batches a lane keeps for repeated keys. Default 64.
	MaxOpen int
	// MaxHeld is the most rows a lane holds in open batches. Default
	// 2*BatchSize; with Merge, at least mergeWindow/Lanes, so that the
	// rows not yet sent, into which later rows of their keys merge, are
	// some 32 batches' worth across the lanes.
	MaxHeld int
	// Retry is the policy for transient failures.
	Retry RetryPolicy
	// Merge, when set, merges a repeated key's row into the item of its
	// earlier row while that item is not yet sent (profiles, audiences),
	// instead of sending the row in a later batch. Nil: no merging
	// (the catalog, whose rows keep their order as they are).
	Merge MergeFunc
	// Pacer paces the requests of every lane: how many are in flight at
	// once and how many are sent per second (package pace learns both from
	// the API's answers). Default: at most Lanes in flight, no rate limit.
	Pacer *pace.Pacer
	// Grace bounds how long a stop waits for the requests in flight before
	// it cancels them. Default 30s.
	Grace time.Duration
	// Unreachable bounds how long a run whose requests have all failed to
	// reach the API (the host does not resolve, the connection is refused,
	// TLS fails) keeps trying before it stops with an *UnreachableError.
	// Once a request got an answer, such failures are retried like any
	// other. Default 8s.
	Unreachable time.Duration
	// WarnEvery is the least time between two warnings about retries; the
	// ones in between are counted in the next. Default 5s.
	WarnEvery time.Duration
	// Sender sends requests; nil makes a dry run that sends nothing.
	Sender Sender
	// Rejects receives the rejected rows; required. Run syncs it at the
	// end; the caller closes it.
	Rejects *checkpoint.RejectsFile
	// Checkpoint, when set, makes the run resumable.
	Checkpoint *Checkpointing
	// Skip reports rows an earlier run finished; nil skips nothing. It is
	// called for every row, in order, on the reader goroutine.
	Skip func(line int64) bool
	// Unchanged, when set, is called on the reader goroutine for each row
	// that parsed and is not skipped. When it returns true the API already
	// holds the row's item: the row is not sent and counts as unchanged.
	Unchanged func(row *readers.Row) bool
	// OnDelivered, when set, is called by a worker with rows the API
	// confirmed, before they count as done (so before any checkpoint can
	// say so). An error stops the run and leaves the rows unconfirmed. Not
	// called in a dry run (nil Sender).
	OnDelivered func(rows []readers.Row) error
	// OnRejected, when set, is called by a worker with a row the API
	// rejected (the item it sent is row.Item), after it was written to the
	// rejects file.
	OnRejected func(row *readers.Row)
	// OnSplit, when set, is called by a worker with the row of an item that
	// stood for several rows when a 400 made the worker send those rows
	// one by one instead: their OnDelivered and OnRejected calls follow,
	// each with the row's own item.
	OnSplit func(row *readers.Row)
	// Stats receives the live counters, for a progress display. Default: a
	// fresh Stats.
	Stats *Stats
	// Logger receives debug and warning lines. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Checkpointing configures the checkpoint of a resumable run.
type Checkpointing struct {
	// Path is the checkpoint file.
	Path string
	// Record is what the checkpoint holds at the start of this run: its
	// identity (run ID, input, settings, rejects path, runs), and for a
	// resumed run the progress to start from and the counts and elapsed
	// time of the earlier runs. Each write fills in the progress, counts
	// and times.
	Record checkpoint.Record
	// Complete marks the checkpoint completed when the run ends with every
	// row done. A caller with more to do afterwards (a prune phase) leaves
	// it false and calls checkpoint.MarkCompleted itself.
	Complete bool
	// Interval is the period of timer writes, which record rows rejected
	// while reading. Default 1s.
	Interval time.Duration
	// Fill, when set, is called with each record once the ledger's progress
	// and the counts are in it, just before it is written, so the caller can
	// add what it tracks beside the pipeline (the hash of the input bytes
	// read so far, which by then covers every row the progress names).
	Fill func(*checkpoint.Record)
	// Write, when set, stores each encoded checkpoint instead of the
	// atomic write of the file at Path: a checkpoint in object storage is
	// kept in memory and uploaded on the caller's own schedule. Lanes wait
	// for it at every commit, so it must not wait for the network.
	Write func(data []byte) error
}

func (c Config) withDefaults() (Config, error) {
	if c.Rejects == nil {
		return c, errors.New("batch: Config.Rejects is required")
	}
	if c.Lanes < 1 {
		c.Lanes = 4
	}
	if c.BatchSize < 1 || c.BatchSize > talon.MaxItems {
		c.BatchSize = talon.MaxItems
	}
	if c.MaxOpen < 1 {
		c.MaxOpen = 64
	}
	if c.MaxHeld < 1 {
		c.MaxHeld = 2 * c.BatchSize
		if c.Merge != nil {
			c.MaxHeld = max(c.MaxHeld, mergeWindow*c.BatchSize/c.Lanes)
		}
	}
	c.Retry = c.Retry.withDefaults()
	if c.Grace <= 0 {
		c.Grace = 30 * time.Second
	}
	if c.Unreachable <= 0 {
		c.Unreachable = 8 * time.Second
	}
	if c.WarnEvery <= 0 {
		c.WarnEvery = 5 * time.Second
	}
	if c.Stats == nil {
		c.Stats = &Stats{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// Result is what a run did. Every row read is counted once:
// Read = Delivered + Rejected + Unchanged + WouldSend + Failed() + NotAttempted().
type Result struct {
	// Counts are this run's counts (not those of earlier runs of a
	// checkpoint).
	checkpoint.Counts
	// Attempted counts the rows of batches of which a request was sent.
	Attempted int64
	// APIRejected counts the rows the API rejected, a subset of Rejected
	// (the others were rejected while reading).
	APIRejected int64
	// WouldSend counts the rows a dry run validated and would have sent.
	WouldSend int64
	// Merged counts the rows that went out merged into the item of an
	// earlier row of their key.
	Merged int64
	// Skipped counts the rows an earlier run had finished.
	Skipped int64
	// GraceExpired reports that a stop cancelled requests still in flight
	// when Config.Grace ran out; their rows are not confirmed.
	GraceExpired bool
}

// Failed counts the rows that were sent and have no outcome: their
// request failed (retries exhausted, a fatal answer, a cut the run did
// not outlive) or was cancelled.
func (r Result) Failed() int64 { return r.Attempted - r.Delivered - r.APIRejected }

// NotAttempted counts the rows read that no request carried: the run
// stopped before their batch was sent.
func (r Result) NotAttempted() int64 {
	return r.Read - r.Delivered - r.Rejected - r.Unchanged - r.WouldSend - r.Failed()
}

// Run reads src to the end, sends every accepted row in batches over
// cfg.Lanes lanes, and accounts for every row: delivered, rejected (written
// to cfg.Rejects), unchanged, or not done. With cfg.Checkpoint it runs the
// checkpointer and writes a final checkpoint before it returns.
//
// It returns nil when every row read is done; ErrInterrupted when ctx was
// cancelled first (a graceful stop: no new request is sent, and requests in
// flight get cfg.Grace to finish before they are cancelled); otherwise the
// error that stopped the run: an API error of class fatal, a *RetryError, a
// fatal input error (after the rows read before it were sent), or an error
// writing the rejects file or the checkpoint.
func Run(ctx context.Context, src Source, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	_, unitMode := src.(UnitSource)
	if unitMode && cfg.Checkpoint != nil {
		return Result{}, errors.New("batch: a UnitSource's rows come in key order; a checkpoint needs file order")
	}
	r := &run{cfg: cfg, unitMode: unitMode}
	var start checkpoint.Progress
	if cp := cfg.Checkpoint; cp != nil {
		start = cp.Record.Progress
	}
	r.ledger = newLedger(cfg.Stats, cfg.Rejects, cfg.Checkpoint != nil, start)
	if r.pacer = cfg.Pacer; r.pacer == nil {
		if r.pacer, err = pace.New(pace.Config{Limiter: pace.LimiterConfig{Fixed: cfg.Lanes}, Rate: pace.RateConfig{Static: true}}); err != nil {
			return Result{}, err
		}
	}
	err = r.runWithCheckpoints(ctx, src)
	st := cfg.Stats
	return Result{
		Counts: st.Snapshot(), Attempted: st.Attempted.Load(), APIRejected: st.APIRejected.Load(),
		WouldSend: st.WouldSend.Load(), Merged: st.Merged.Load(), Skipped: st.Skipped.Load(), GraceExpired: r.graceExpired.Load(),
	}, err
}

// run is the state of one Run call.
type run struct {
	cfg    Config
	ledger *ledger
	pacer  *pace.Pacer
	// queued holds a token for every batch handed to a lane and not yet
	// taken by its worker.
	queued chan struct{}
	// With a UnitSource (unitMode), units holds the rows of the units of
	// several rows between the reader and the chunker, by the Seq of their
	// item.
	unitMode bool
	umu      sync.Mutex
	units    map[int64]*mergedRows
	// readErr is the fatal input error that ended reading; it fails the
	// run once the rows read before it are done. Written by the reader
	// goroutine before it returns, read after the errgroup's Wait.
	readErr      error
	graceExpired atomic.Bool
	// reached is set once any request got an answer from the API.
	reached atomic.Bool
	warns   warnings
}

// runWithCheckpoints runs the pipeline beside the checkpointer goroutine,
// then writes the final checkpoint and syncs the rejects file.
func (r *run) runWithCheckpoints(ctx context.Context, src Source) error {
	cp := r.cfg.Checkpoint
	if cp == nil {
		err := r.pipeline(ctx, src, nil)
		if serr := r.ledger.sync(); err == nil {
			err = serr
		}
		return err
	}
	ck := newCheckpointer(cp, r.ledger, r.cfg.Stats, r.cfg.Now)
	ckCtx, stopCk := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { ck.run(ckCtx) })
	err := r.pipeline(ctx, src, ck.commit)
	stopCk()
	wg.Wait()
	if werr := ck.write(err == nil && cp.Complete); werr != nil && err == nil {
		err = werr
	}
	return err
}

// pipeline runs the reader, the chunker and the lane workers until src is
// exhausted and every batch is done, or until a stop. A stop comes from ctx
// or from the first goroutine that fails: waits end at once, no new request
// is sent, and the requests in flight get the grace period.
func (r *run) pipeline(ctx context.Context, src Source, commit func(context.Context) error) error {
	g, stopCtx := errgroup.WithContext(ctx)
	sendCtx, cancelSend := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSend()
	var grace *time.Timer
	var gmu sync.Mutex
	stopWatch := context.AfterFunc(stopCtx, func() {
		gmu.Lock()
		defer gmu.Unlock()
		grace = time.AfterFunc(r.cfg.Grace, func() {
			r.graceExpired.Store(true)
			cancelSend()
		})
	})
	defer func() {
		stopWatch()
		gmu.Lock()
		if grace != nil {
			grace.Stop()
		}
		gmu.Unlock()
	}()

	blocks := make(chan []readers.Row, 4)
	free := make(chan []readers.Row, 6)
	// The batches handed to the lanes and not yet taken by their workers
	// share one budget instead of a few places per lane: a lane waiting
	// out a Retry-After or a backoff takes its batches from the budget
	// while the others keep sending, and memory stays bounded by the
	// budget and the one batch in flight per lane. A request in flight
	// holds no place, so every lane can have its next batch waiting when
	// its request ends. Each lane's channel can hold the whole budget and
	// a fence, so sending to it never blocks.
	r.queued = make(chan struct{}, queueBudget(r.cfg.Lanes))
	lanes := make([]chan *batch, r.cfg.Lanes)
	for i := range lanes {
		lanes[i] = make(chan *batch, cap(r.queued)+1)
	}
	g.Go(func() error {
		defer close(blocks)
		return r.read(stopCtx, src, blocks, free)
	})
	g.Go(func() error {
		defer func() {
			for _, ch := range lanes {
				close(ch)
			}
		}()
		return r.chunk(stopCtx, sendCtx, blocks, free, lanes, commit)
	})
	for _, ch := range lanes {
		w := r.newWorker()
		g.Go(func() error { return r.work(stopCtx, sendCtx, w, ch, commit) })
	}
	err := g.Wait()
	switch {
	case err != nil:
		return err
	case ctx.Err() != nil:
		return ErrInterrupted
	}
	return r.readErr
}

// work runs one lane: it delivers the lane's batches in order and makes each
// outcome durable before the next. After a stop it drains the lane.
func (r *run) work(ctx, sendCtx context.Context, w *worker, ch <-chan *batch, commit func(context.Context) error) error {
	for b := range ch {
		if b.fence != nil {
			b.fence <- struct{}{}
			continue
		}
		<-r.queued
		if ctx.Err() != nil {
			recycle(b)
			continue
		}
		err := r.finish(ctx, sendCtx, w, b, commit)
		recycle(b)
		if err != nil {
			return err
		}
	}
	return nil
}

// finish delivers one batch and makes its outcome durable. A stop is not an
// error: the rows not confirmed by then stay not done.
func (r *run) finish(ctx, sendCtx context.Context, w *worker, b *batch, commit func(context.Context) error) error {
	err := w.deliver(ctx, sendCtx, b)
	if err == nil && commit != nil {
		err = commit(ctx)
	}
	if err != nil && ctx.Err() != nil && isContextErr(err) {
		return nil
	}
	return err
}

// mergeWindow is, in batches, how many rows not yet sent the lanes hold
// together when rows merge.
const mergeWindow = 32

// queueBudget is how many batches may wait for their lanes at once: one
// per lane, and some to spare, so that the others go on while a lane waits.
func queueBudget(lanes int) int { return lanes + 8 }

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
