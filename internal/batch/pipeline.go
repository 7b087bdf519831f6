package batch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// ErrInterrupted is returned by Run when a graceful stop ended the run early.
var ErrInterrupted = errors.New("interrupted")

// Source yields input rows; *readers.Reader implements it. Next returns
// io.EOF at the end of the input.
type Source interface {
	Next() (readers.Row, error)
}

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
	// MaxHeld is the most rows a lane holds in open batches. Default 2*BatchSize.
	MaxHeld int
	// Retry is the policy for transient failures.
	Retry RetryPolicy
	// Rate caps requests per second across all lanes; 0 means no cap.
	Rate float64
	// Grace bounds how long a graceful stop waits for requests in flight
	// before it cancels them. Default 30s.
	Grace time.Duration
	// Sender sends requests; nil makes a dry run that sends nothing.
	Sender Sender
	// Ledger records outcomes; required.
	Ledger *Ledger
	// Stats receives the counters; required (the Ledger's).
	Stats *Stats
	// Skip reports rows an earlier run finished; nil skips nothing.
	Skip func(line int64) bool
	// Unchanged, when set, is called on the reader goroutine for each row
	// that parsed and is not skipped, after Ledger.Add. When it returns true
	// the API already holds the row's item: the row is not sent, and
	// Ledger.Unchanged marks it done.
	Unchanged func(row *readers.Row) bool
	// OnDelivered, when set, is called by a worker with rows the API
	// confirmed, before Ledger.Delivered marks them done (so before any
	// checkpoint can say so). An error stops the run and leaves the rows
	// unconfirmed. Not called in a dry run (nil Sender).
	OnDelivered func(rows []readers.Row) error
	// Commit, when set, is called after each batch completes and blocks until
	// its outcome is durable (the checkpoint). A lane sends its next batch only
	// after that, so a crash re-sends at most one batch per lane.
	Commit func(ctx context.Context) error
	// Stop, when closed, starts a graceful stop: no new batch is sent, the
	// ones in flight are awaited (up to Grace), and Run returns ErrInterrupted.
	Stop <-chan struct{}
	// Logger receives debug and warning lines. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
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
	}
	c.Retry = c.Retry.withDefaults()
	if c.Grace <= 0 {
		c.Grace = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// run is the state of one Run call.
type run struct {
	cfg      Config
	stopping chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	err      error
	userStop bool
	// readErr is the fatal input error that ended reading; it fails the
	// run once the rows read before it are done.
	readErr error

	// pending counts batches handed to lanes and not yet finished, so a
	// barrier batch can wait until every lane is idle.
	pmu     sync.Mutex
	pcond   *sync.Cond
	pending int
}

// Run reads src to the end, sends every accepted row in batches over
// cfg.Lanes lanes, and records every outcome in cfg.Ledger. It returns nil
// when every row read was delivered or rejected; ErrInterrupted after a
// graceful stop; otherwise the error that stopped the run (an API error of
// class fatal, a *RetryError, an input error, or ctx's error). Cancelling
// ctx aborts requests in flight.
func Run(ctx context.Context, src Source, cfg Config) error {
	cfg = cfg.withDefaults()
	r := &run{cfg: cfg, stopping: make(chan struct{})}
	r.pcond = sync.NewCond(&r.pmu)

	sendCtx, cancelSend := context.WithCancel(ctx)
	defer cancelSend()
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() { // owned by Run: ends when done is closed
		defer close(watched)
		r.watch(done, cancelSend)
	}()
	defer func() { close(done); <-watched }()

	var limiter *rate.Limiter
	if cfg.Rate > 0 {
		limiter = rate.NewLimiter(rate.Limit(cfg.Rate), 1)
	}
	gt := &gate{}
	lanes := make([]chan *Batch, cfg.Lanes)
	var g errgroup.Group
	for i := range lanes {
		// Two queued batches per lane: a lane waiting out a backoff does not
		// stall the chunker (and so the other lanes) at once.
		lanes[i] = make(chan *Batch, 2)
		w := &worker{cfg: &r.cfg, gate: gt, limiter: limiter, stop: r.stopping}
		ch := lanes[i]
		g.Go(func() error { r.work(sendCtx, w, ch); return nil })
	}
	barrier := &worker{cfg: &r.cfg, gate: gt, limiter: limiter, stop: r.stopping}
	g.Go(func() error {
		defer func() {
			for _, ch := range lanes {
				close(ch)
			}
		}()
		r.produce(sendCtx, src, lanes, barrier)
		return nil
	})
	_ = g.Wait()

	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.err != nil:
		return r.err
	case r.readErr != nil:
		return r.readErr
	case r.userStop:
		return ErrInterrupted
	}
	return nil
}

// watch turns a closed cfg.Stop into a graceful stop and, once stopping,
// cancels requests in flight after the grace period.
func (r *run) watch(done <-chan struct{}, cancelSend context.CancelFunc) {
	select {
	case <-r.cfg.Stop:
		r.mu.Lock()
		r.userStop = true
		r.mu.Unlock()
		r.stop()
	case <-r.stopping:
	case <-done:
		return
	}
	t := time.NewTimer(r.cfg.Grace)
	defer t.Stop()
	select {
	case <-t.C:
		cancelSend()
	case <-done:
	}
}

func (r *run) stop() {
	r.stopOnce.Do(func() {
		close(r.stopping)
		r.pmu.Lock()
		r.pcond.Broadcast()
		r.pmu.Unlock()
	})
}

func (r *run) stopped() bool {
	select {
	case <-r.stopping:
		return true
	default:
		return false
	}
}

// fail records the first error that ends the run and starts a graceful stop.
func (r *run) fail(err error) {
	r.mu.Lock()
	if r.err == nil && !errors.Is(err, errStopped) {
		r.err = err
	}
	r.mu.Unlock()
	r.stop()
}

func (r *run) work(ctx context.Context, w *worker, ch <-chan *Batch) {
	for b := range ch {
		if !r.stopped() {
			r.finish(ctx, w, b)
		}
		Recycle(b)
		r.pmu.Lock()
		r.pending--
		r.pcond.Broadcast()
		r.pmu.Unlock()
	}
}

// finish delivers one batch and makes its outcome durable.
func (r *run) finish(ctx context.Context, w *worker, b *Batch) {
	err := w.deliver(ctx, b)
	if err == nil && r.cfg.Commit != nil {
		err = r.cfg.Commit(ctx)
	}
	if err != nil {
		r.fail(err)
	}
}
