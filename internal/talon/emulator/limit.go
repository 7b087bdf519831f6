package emulator

import (
	"context"
	"math"
	"sync"
	"time"
)

// tokenBucket is the emulator's rate limit, as an API gateway's: a bucket
// of burst tokens that refills at rate per second; a request takes one or
// is answered 429. A rate of 0 lets everything through. It is safe for
// concurrent use.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

// set changes the limit at now. The tokens saved so far are kept (up to the
// new burst), as a gateway reconfigured in place would.
func (b *tokenBucket) set(now time.Time, rate float64, burst int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refillLocked(now)
	wasOff := b.rate <= 0
	b.rate, b.burst = rate, float64(max(burst, 1))
	if wasOff {
		b.tokens = b.burst // a limit switched on starts with a full bucket
	}
	b.tokens = min(b.tokens, b.burst)
}

func (b *tokenBucket) refillLocked(now time.Time) {
	if b.rate > 0 && now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+b.rate*now.Sub(b.last).Seconds())
	}
	b.last = now
}

// tokenEpsilon absorbs the rounding of many small refills.
const tokenEpsilon = 1e-9

// take takes a token at now. Without one it returns false and the whole
// seconds until the next token comes (at least 1), the Retry-After a
// gateway sends.
func (b *tokenBucket) take(now time.Time) (bool, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate <= 0 {
		return true, 0
	}
	b.refillLocked(now)
	if b.tokens >= 1-tokenEpsilon {
		b.tokens = max(b.tokens-1, 0)
		return true, 0
	}
	wait := (1 - b.tokens) / b.rate
	return false, max(1, int(math.Ceil(wait-1e-9)))
}

// capacityGate admits at most cap requests into processing at once; the
// others wait in arrival order. A cap of 0 admits every request. It is safe
// for concurrent use.
type capacityGate struct {
	mu       sync.Mutex
	cap      int
	busy     int
	queue    []chan struct{}
	maxQueue int
}

// setCap changes the capacity; waiters are admitted at once if it grew.
func (g *capacityGate) setCap(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cap = n
	g.admitLocked()
}

// enter waits for a place in processing. It returns false, holding none, if
// ctx ends first. A true return must be followed by leave.
func (g *capacityGate) enter(ctx context.Context) bool {
	g.mu.Lock()
	if g.cap <= 0 || (g.busy < g.cap && len(g.queue) == 0) {
		g.busy++
		g.mu.Unlock()
		return true
	}
	ch := make(chan struct{})
	g.queue = append(g.queue, ch)
	g.maxQueue = max(g.maxQueue, len(g.queue))
	g.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, q := range g.queue {
		if q == ch {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			return false
		}
	}
	// Admitted as ctx ended: give the place on.
	g.busy--
	g.admitLocked()
	return false
}

// leave gives a place in processing back.
func (g *capacityGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy--
	g.admitLocked()
}

func (g *capacityGate) admitLocked() {
	for len(g.queue) > 0 && (g.cap <= 0 || g.busy < g.cap) {
		close(g.queue[0])
		g.queue[0] = nil
		g.queue = g.queue[1:]
		g.busy++
	}
}

// limited reports whether a capacity is set.
func (g *capacityGate) limited() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cap > 0
}

// queued returns the number waiting now and the most that ever waited.
func (g *capacityGate) queued() (int, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue), g.maxQueue
}

func (g *capacityGate) resetMax() {
	g.mu.Lock()
	g.maxQueue = len(g.queue)
	g.mu.Unlock()
}
