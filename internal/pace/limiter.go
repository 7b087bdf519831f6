package pace

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// Defaults of LimiterConfig.
const (
	DefaultMaxLimit     = 32
	DefaultInitialLimit = 6
	DefaultGrowBelow    = 1.25
	DefaultTolerance    = 1.5
	DefaultBackoff      = 0.9
	DefaultMinSamples   = 4
	DefaultHistory      = 30 * time.Second
	DefaultSlack        = 20 * time.Millisecond
)

// LimiterConfig configures a Limiter. Zero values get the defaults named on
// each field.
type LimiterConfig struct {
	// Fixed, when positive, fixes the limit at Fixed (--workers N): the
	// Limiter then only gates and counts.
	Fixed int
	// Max is the highest limit (--max-workers). Default DefaultMaxLimit.
	Max int
	// Min is the lowest limit. Default 1.
	Min int
	// Initial is the limit at the start, and so the largest burst before
	// anything is known. Default DefaultInitialLimit, or Max if lower.
	Initial int
	// GrowBelow: the limit grows only while a window's mean latency is at
	// most GrowBelow times the baseline. Default DefaultGrowBelow.
	GrowBelow float64
	// Tolerance: a window whose mean latency exceeds Tolerance times the
	// baseline shrinks the limit. Default DefaultTolerance (as Netflix's
	// gradient limiters).
	Tolerance float64
	// Slack is latency growth too small to mean a queue, however large a
	// multiple of the baseline it is: a sink that answers in a millisecond
	// takes two when the machine is busy. Latency counts as inflated only
	// when it exceeds the baseline by more than Slack too. Default
	// DefaultSlack.
	Slack time.Duration
	// Backoff is the share of the limit kept after a window with a 429 or
	// a failure. Default DefaultBackoff (as Netflix's AIMD limiter).
	Backoff float64
	// MinSamples is the fewest answers in a window; a window also holds at
	// least as many answers as the limit. Default DefaultMinSamples.
	MinSamples int
	// History is how far back the baseline latency looks: it is the lowest
	// mean latency of the windows closed within History. Default
	// DefaultHistory.
	History time.Duration
	// Clock is the time source. Default SystemClock.
	Clock Clock
}

func (c LimiterConfig) withDefaults() (LimiterConfig, error) {
	if c.Max == 0 {
		c.Max = DefaultMaxLimit
	}
	if c.Min == 0 {
		c.Min = 1
	}
	if c.Initial == 0 {
		c.Initial = min(DefaultInitialLimit, c.Max)
	}
	if c.GrowBelow == 0 {
		c.GrowBelow = DefaultGrowBelow
	}
	if c.Tolerance == 0 {
		c.Tolerance = DefaultTolerance
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MinSamples == 0 {
		c.MinSamples = DefaultMinSamples
	}
	if c.Slack == 0 {
		c.Slack = DefaultSlack
	}
	if c.History == 0 {
		c.History = DefaultHistory
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	bad := func(format string, args ...any) (LimiterConfig, error) {
		return c, errors.Join(ErrInvalidConfig, fmt.Errorf(format, args...))
	}
	switch {
	case c.Fixed < 0:
		return bad("fixed limit %d is negative", c.Fixed)
	case c.Fixed > 0:
		c.Min, c.Max, c.Initial = c.Fixed, c.Fixed, c.Fixed
		return c, nil
	case c.Min < 1 || c.Max < c.Min:
		return bad("limits must satisfy 1 <= min <= max, got min %d, max %d", c.Min, c.Max)
	case c.Initial < c.Min || c.Initial > c.Max:
		return bad("initial limit %d is not within [%d, %d]", c.Initial, c.Min, c.Max)
	case !(c.GrowBelow >= 1) || !(c.Tolerance >= c.GrowBelow) || math.IsInf(c.Tolerance, 0):
		return bad("need 1 <= grow-below <= tolerance, got %v and %v", c.GrowBelow, c.Tolerance)
	case !(c.Backoff > 0 && c.Backoff < 1):
		return bad("backoff %v is not in (0, 1)", c.Backoff)
	case c.MinSamples < 1:
		return bad("min samples %d is not positive", c.MinSamples)
	case c.History < time.Second:
		return bad("history %v is shorter than 1s", c.History)
	}
	return c, nil
}

// Limiter gates how many requests are in flight at once: each request
// takes a slot with Acquire and gives it back with Release and its outcome.
// Waiters are served in order. With LimiterConfig.Fixed the limit stays
// put; otherwise it adapts to the answers' latency and outcomes, between
// Min and Max (see gradient.go for the rules).
//
// A Limiter is safe for concurrent use.
type Limiter struct {
	cfg LimiterConfig

	mu       sync.Mutex
	inflight int // slots taken
	sending  int // slots whose request was sent
	waiters  []*waiter
	maxLimit int // the highest limit applied
	adaptive     // guarded by mu
}

// waiter is a goroutine waiting in Acquire.
type waiter struct {
	ready   chan struct{} // closed when granted
	granted bool
}

// NewLimiter returns a Limiter, or an error matching ErrInvalidConfig.
func NewLimiter(cfg LimiterConfig) (*Limiter, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Limiter{cfg: cfg}
	l.adaptive = adaptive{limit: float64(cfg.Initial), slowStart: cfg.Fixed == 0}
	return l, nil
}

// Ticket is a slot of a Limiter, taken by Acquire and given back by Release.
// The zero Ticket stands for a slot whose request was never sent.
type Ticket struct {
	sent  time.Time
	epoch uint64
	began bool
}

// Acquire takes a slot and starts a request in it, waiting while the limit
// is reached. It returns ctx.Err() if ctx ends first, holding no slot then.
func (l *Limiter) Acquire(ctx context.Context) (Ticket, error) {
	if err := l.acquire(ctx); err != nil {
		return Ticket{}, err
	}
	return l.begin(l.cfg.Clock.Now()), nil
}

// acquire takes a slot without starting a request; begin starts it.
func (l *Limiter) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := l.enqueue()
	if w == nil {
		return nil
	}
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.granted {
		// Granted as ctx ended: hand the slot on.
		l.inflight--
		l.grantLocked()
	} else {
		for i, o := range l.waiters {
			if o == w {
				l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
				break
			}
		}
	}
	return ctx.Err()
}

// enqueue takes a free slot and returns nil, or queues and returns a waiter
// that is granted a slot later.
func (l *Limiter) enqueue() *waiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.waiters) == 0 && l.inflight < l.effLocked() {
		l.inflight++
		return nil
	}
	w := &waiter{ready: make(chan struct{})}
	l.waiters = append(l.waiters, w)
	return w
}

// begin marks that the holder of a slot sends its request at now.
func (l *Limiter) begin(now time.Time) Ticket {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sending++
	l.win.maxSending = max(l.win.maxSending, l.sending)
	return Ticket{sent: now, epoch: l.epoch, began: true}
}

// Release gives back the slot of t with the outcome of its request; its
// latency is the time since t was taken. Release each Ticket once.
func (l *Limiter) Release(t Ticket, o Outcome) {
	l.release(l.cfg.Clock.Now(), t, o)
}

func (l *Limiter) release(now time.Time, t Ticket, o Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	if t.began {
		l.sending--
	} else {
		o = Ignored
	}
	switch o {
	case Throttled:
		l.throttled++
	case Failed:
		l.failed++
	}
	if l.cfg.Fixed == 0 {
		l.observeLocked(now, t, o)
	}
	l.maxLimit = max(l.maxLimit, l.effLocked())
	l.grantLocked()
}

// effLocked is the limit the gate applies now.
func (l *Limiter) effLocked() int {
	n := int(l.limit)
	if l.probing {
		n /= 2
	}
	return min(max(n, l.cfg.Min), l.cfg.Max)
}

// grantLocked hands free slots to waiters in order.
func (l *Limiter) grantLocked() {
	for len(l.waiters) > 0 && l.inflight < l.effLocked() {
		w := l.waiters[0]
		l.waiters[0] = nil
		l.waiters = l.waiters[1:]
		l.inflight++
		w.granted = true
		close(w.ready)
	}
}

// LimiterStats are a Limiter's figures at one moment.
type LimiterStats struct {
	// Limit is the current limit on requests in flight; MaxLimit the
	// highest so far.
	Limit, MaxLimit int
	// InFlight is the number of slots taken.
	InFlight int
	// Sending is the number of requests sent and not yet answered.
	Sending int
	// Waiting is the number of callers blocked in Acquire.
	Waiting int
	// Latency is the mean latency of the last window's OK answers.
	Latency time.Duration
	// Baseline is the lowest window mean latency within History.
	Baseline time.Duration
	// Throttled and Failed count the 429s and the failures released.
	Throttled, Failed int64
}

// Stats returns the Limiter's figures now.
func (l *Limiter) Stats() LimiterStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LimiterStats{
		Limit:     l.effLocked(),
		MaxLimit:  max(l.maxLimit, l.effLocked()),
		InFlight:  l.inflight,
		Sending:   l.sending,
		Waiting:   len(l.waiters),
		Latency:   l.lastMean,
		Baseline:  l.baseline,
		Throttled: l.throttled,
		Failed:    l.failed,
	}
}
