package batch

import (
	"context"
	"sync"
	"time"
)

// Checkpointer writes the checkpoint of a running sync. Lanes call Commit
// after each batch; concurrent commits share one write (group commit), so
// durability does not cost a write per batch. It also writes on a timer so
// that rows rejected while reading are recorded. Safe for concurrent use.
type Checkpointer struct {
	path   string
	ledger *Ledger
	// base is copied into every write; Progress, Counts and time fields are filled in.
	base     Checkpoint
	prior    Counts
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

// NewCheckpointer returns a Checkpointer for path. base holds the
// fingerprint, settings, rejects path, prior elapsed time and runs; prior
// are the counts of earlier runs. interval is the timer period (default 1s).
func NewCheckpointer(path string, base Checkpoint, prior Counts, ledger *Ledger, stats *Stats, interval time.Duration, now func() time.Time) *Checkpointer {
	if interval <= 0 {
		interval = time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &Checkpointer{
		path: path, base: base, prior: prior, ledger: ledger, stats: stats,
		interval: interval, now: now, started: now(), gather: gatherDelay,
		next: make(chan struct{}), kick: make(chan struct{}, 1),
	}
}

// Commit blocks until a checkpoint that covers every outcome recorded before
// the call is durable, and returns that write's error.
func (c *Checkpointer) Commit(ctx context.Context) error {
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

// Run writes checkpoints when asked by Commit or on the timer, until ctx is
// done. It owns no other goroutine.
func (c *Checkpointer) Run(ctx context.Context) {
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
		err := c.Write(false)
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(ch)
	}
}

// Write takes a snapshot of the ledger and writes the checkpoint now.
// completed marks the input as finished.
func (c *Checkpointer) Write(completed bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	p, err := c.ledger.Snapshot()
	if err != nil {
		return err
	}
	cp := c.base
	cp.Version = CheckpointVersion
	cp.Completed = completed
	cp.Progress = p
	run := c.stats.Snapshot()
	// The checkpoint's Read counts rows done, so that a resumed run that
	// reads the rest adds up to the whole input.
	run.Read = p.Delivered + p.Rejected + p.Unchanged
	run.Delivered, run.Rejected, run.Unchanged = p.Delivered, p.Rejected, p.Unchanged
	cp.Counts = c.prior.Add(run)
	cp.Elapsed = c.base.Elapsed + c.now().Sub(c.started).Seconds()
	cp.UpdatedAt = c.now().UTC()
	return WriteCheckpoint(c.path, &cp)
}

// gatherDelay is how long a write asked for by Commit waits for more
// commits to join it. Measured on the 1M-row profiles run against the
// discard sink: 2.6 s with no window, 2.4 s with 0.5 ms.
const gatherDelay = 500 * time.Microsecond
