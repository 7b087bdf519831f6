package batch

import (
	"context"
	"sync"
	"time"

	"github.com/talonsync/talonsync/internal/checkpoint"
)

// checkpointer writes the checkpoint of a running sync. Lanes call commit
// after each batch; concurrent commits share one write (group commit), so
// durability does not cost a write per batch. It also writes on a timer so
// that rows rejected while reading are recorded. Safe for concurrent use.
type checkpointer struct {
	path   string
	fill   func(*checkpoint.Record)
	store  func([]byte) error
	ledger *ledger
	// base is copied into every write; progress, counts and times are
	// filled in. Its Counts and Elapsed are those of the earlier runs.
	base     checkpoint.Record
	stats    *Stats
	started  time.Time
	interval time.Duration
	gather   time.Duration
	now      func() time.Time

	mu   sync.Mutex
	next chan struct{} // closed when the write that covers current outcomes is done
	err  error
	kick chan struct{}

	wmu sync.Mutex // serialises writes
}

func newCheckpointer(cfg *Checkpointing, l *ledger, stats *Stats, now func() time.Time) *checkpointer {
	interval := cfg.Interval
	if interval <= 0 {
		interval = time.Second
	}
	return &checkpointer{
		path: cfg.Path, fill: cfg.Fill, store: cfg.Write, base: cfg.Record, ledger: l, stats: stats,
		interval: interval, now: now, started: now(), gather: gatherDelay,
		next: make(chan struct{}), kick: make(chan struct{}, 1),
	}
}

// commit blocks until a checkpoint that covers every outcome recorded
// before the call is durable, and returns that write's error, or ctx's.
func (c *checkpointer) commit(ctx context.Context) error {
	c.mu.Lock()
	ch := c.next
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
	select {
	case <-ch:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run writes checkpoints when asked by commit or on the timer, until ctx is
// done.
func (c *checkpointer) run(ctx context.Context) {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
			// Lanes finish their batches at about the same time: a short
			// gathering window lets one write cover several of them.
			time.Sleep(c.gather)
		case <-t.C:
		}
		c.mu.Lock()
		ch := c.next
		c.next = make(chan struct{})
		c.mu.Unlock()
		err := c.write(false)
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(ch)
	}
}

// write takes a snapshot of the ledger and writes the checkpoint now.
// completed marks the input as finished.
func (c *checkpointer) write(completed bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	s, err := c.ledger.snapshot()
	if err != nil {
		return err
	}
	cp := c.base
	cp.Completed = completed
	cp.Progress = s.progress
	run := c.stats.Snapshot()
	// The checkpoint's Read counts rows done, so that a resumed run that
	// reads the rest adds up to the whole input.
	run.Read = s.delivered + s.rejected + s.unchanged
	run.Delivered, run.Rejected, run.Unchanged = s.delivered, s.rejected, s.unchanged
	cp.Counts = c.base.Counts.Add(run)
	cp.Elapsed = c.base.Elapsed + c.now().Sub(c.started).Seconds()
	cp.UpdatedAt = c.now().UTC()
	if c.fill != nil {
		c.fill(&cp)
	}
	if c.store == nil {
		return checkpoint.Write(c.path, &cp)
	}
	b, err := checkpoint.Encode(&cp)
	if err != nil {
		return err
	}
	return c.store(b)
}

// gatherDelay is how long a write asked for by commit waits for more
// commits to join it. Measured on the 1M-row profiles run against the
// discard sink: 2.6 s with no window, 2.4 s with 0.5 ms.
const gatherDelay = 500 * time.Microsecond
