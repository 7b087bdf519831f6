package pace

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"
)

// Defaults of RateConfig.
const (
	DefaultBeta       = 0.7
	DefaultRecover    = 3 * time.Second
	DefaultMinRate    = 0.5
	DefaultRateWindow = time.Second
)

// RateConfig configures a Rate. Zero values get the defaults named on each
// field.
type RateConfig struct {
	// Cap is a hard cap in requests per second (--rate); 0 means none. The
	// learned rate never exceeds it.
	Cap float64
	// Static turns learning off: the Rate paces at Cap, or not at all when
	// Cap is 0, and 429s change nothing (today's --rate).
	Static bool
	// Beta is the share of the rate kept after a 429. Default DefaultBeta,
	// CUBIC's (RFC 9438) and the AWS SDKs'.
	Beta float64
	// Recover is how long the rate takes after a cut to climb back to the
	// rate that was throttled (CUBIC's K); it probes beyond that after as
	// long again. Default DefaultRecover.
	Recover time.Duration
	// Min is the lowest learned rate in requests/s. Default DefaultMinRate.
	Min float64
	// Window is the span over which the sending and success rates are
	// measured. Default DefaultRateWindow.
	Window time.Duration
	// Clock is the time source. Default SystemClock.
	Clock Clock
}

// ErrInvalidConfig is matched by the errors of NewRate, NewLimiter and New
// for a configuration out of range.
var ErrInvalidConfig = errors.New("pace: invalid configuration")

func (c RateConfig) withDefaults() (RateConfig, error) {
	if c.Beta == 0 {
		c.Beta = DefaultBeta
	}
	if c.Recover == 0 {
		c.Recover = DefaultRecover
	}
	if c.Min == 0 {
		c.Min = DefaultMinRate
	}
	if c.Window == 0 {
		c.Window = DefaultRateWindow
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	switch {
	case math.IsNaN(c.Cap) || c.Cap < 0 || math.IsInf(c.Cap, 0):
		return c, errors.Join(ErrInvalidConfig, errors.New("rate cap must be a finite number >= 0"))
	case !(c.Beta > 0 && c.Beta < 1):
		return c, errors.Join(ErrInvalidConfig, errors.New("beta must be in (0, 1)"))
	case c.Recover < 100*time.Millisecond:
		return c, errors.Join(ErrInvalidConfig, errors.New("recover time must be at least 100ms"))
	case !(c.Min > 0) || math.IsInf(c.Min, 0):
		return c, errors.Join(ErrInvalidConfig, errors.New("minimum rate must be positive"))
	case c.Window < 10*time.Millisecond:
		return c, errors.Join(ErrInvalidConfig, errors.New("rate window must be at least 10ms"))
	}
	if c.Cap > 0 {
		c.Min = min(c.Min, c.Cap)
	}
	return c, nil
}

// Rate paces requests at a rate it learns from 429 answers. Until the first
// 429 it does not pace at all (only Cap, if set, holds): nothing is known,
// and the Limiter bounds the first burst. From then on it spaces requests
// evenly at its learned rate, never in bursts: an idle Rate does not save
// up slots.
//
// A 429 cuts the rate to Beta times the rate in use (the learned rate, or
// what was actually sent lately if less), at most once per round: a 429 to a request whose
// slot was given out before the last cut says nothing about the new rate
// and is only counted. Slots booked and not yet due are re-spaced. After
// the first cut the rate searches upward fast (doubling within Recover/3):
// the rate in use before any pacing is a poor guess. After later cuts it
// follows CUBIC: back to the rate that was throttled within Recover,
// levelling off there, then probing above it, gently at first and twice as
// high one Recover later. Above the rate last throttled it never exceeds
// twice the rate requests are actually sent at, so a Rate held back by
// something else does not grow without bound.
//
// A 429's Retry-After is not the Rate's business: it is the floor of the
// wait before that request's retry (the caller's retry policy), and it does
// not hold back other requests. A 429 without Retry-After cuts the rate
// the same way.
//
// A Rate is safe for concurrent use.
type Rate struct {
	cfg RateConfig

	mu        sync.Mutex
	learning  bool      // a 429 has been seen: the learned rate applies
	searching bool      // only one cut so far: its rate is a guess, not a limit
	rate      float64   // the learned rate at lastCut (the curve starts here)
	wmax      float64   // the rate in use when the last cut came
	lastCut   time.Time // start of the current CUBIC epoch
	epoch     uint64    // incremented by every cut
	next      time.Time // the earliest time the next slot may be booked for
	last      time.Time // the last slot claimed
	sent      meter     // slots given out
	succeeded meter     // requests answered OK
	throttled int64     // 429s seen
	cuts      int64
}

// NewRate returns a Rate, or an error matching ErrInvalidConfig.
func NewRate(cfg RateConfig) (*Rate, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Rate{cfg: cfg, sent: newMeter(cfg.Window), succeeded: newMeter(cfg.Window)}, nil
}

// Slot is a Rate's permission to send one request, taken by Wait and given
// back, with the request's outcome, to Done.
type Slot struct {
	epoch uint64
}

// Wait blocks until the next slot, which it takes, and returns it. It
// returns ctx.Err() if ctx ends first; no slot is taken then.
func (r *Rate) Wait(ctx context.Context) (Slot, error) {
	for {
		if err := ctx.Err(); err != nil {
			return Slot{}, err
		}
		now := r.cfg.Clock.Now()
		at, s := r.reserve(now)
		if d := at.Sub(now); d > 0 {
			if err := r.cfg.Clock.Sleep(ctx, d); err != nil {
				return Slot{}, err
			}
			now = r.cfg.Clock.Now()
		}
		if r.claim(now, s) {
			return s, nil
		}
	}
}

// reserve books the next slot and returns when it is due (>= now). The
// booking holds until claim, unless a cut comes first.
func (r *Rate) reserve(now time.Time) (time.Time, Slot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at := now
	if lim := r.limitLocked(now); lim > 0 {
		if r.next.After(at) {
			at = r.next
		}
		r.next = at.Add(time.Duration(float64(time.Second) / lim))
	}
	return at, Slot{epoch: r.epoch}
}

// claim takes the slot booked by reserve, due by now. It reports false
// when a cut came in between: the slot was spaced for the old rate, and
// the caller must reserve again.
func (r *Rate) claim(now time.Time, s Slot) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.epoch != r.epoch {
		return false
	}
	r.sent.add(now, 1)
	if now.After(r.last) {
		r.last = now
	}
	return true
}

// Done records the outcome of the request sent in slot s. Only OK and
// Throttled matter to a Rate.
func (r *Rate) Done(s Slot, o Outcome) {
	r.done(r.cfg.Clock.Now(), s, o)
}

func (r *Rate) done(now time.Time, s Slot, o Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch o {
	case OK:
		r.succeeded.add(now, 1)
	case Throttled:
		r.throttled++
		if r.cfg.Static || s.epoch != r.epoch {
			return
		}
		r.cutLocked(now)
	}
}

// recentBuckets is how many meter buckets the rate in use is measured
// over: 0.3s of a 1s window.
const recentBuckets = 3

// cutLocked starts a new CUBIC epoch after a 429.
func (r *Rate) cutLocked(now time.Time) {
	// The rate in use: the learned one, or less when less was sent lately
	// (nothing was learned yet, or the sender was held back).
	inUse := r.sent.recentRate(now, recentBuckets)
	if r.learning {
		inUse = min(inUse, r.curveLocked(now))
	}
	if r.cfg.Cap > 0 {
		inUse = min(inUse, r.cfg.Cap)
	}
	// No fast convergence (RFC 9438, 4.7): it lowers Wmax to leave room for
	// competing flows, and here it only levels the curve off below the
	// limit.
	r.wmax = max(inUse, r.cfg.Min)
	r.rate = max(inUse*r.cfg.Beta, r.cfg.Min)
	// The first cut comes from a start without pacing, where the rate in
	// use is a burst measured over a few milliseconds, and may be far off
	// either way: search from it rather than level off at it.
	r.searching = !r.learning
	r.lastCut = now
	r.learning = true
	r.epoch++
	r.cuts++
	// Slots booked and not yet claimed are void (their claim fails and they
	// book again); the next one keeps the new spacing from the last sent.
	r.next = r.last.Add(time.Duration(float64(time.Second) / r.rate))
}

// searchSpeedup is how much faster the search after the first cut climbs
// than the probing after later ones: it doubles the rate in Recover/3.
const searchSpeedup = 3

// curveLocked is the rate at now, t after the last cut to W0. After the
// first cut it searches: W0(1 + (3t/K)³). After later ones, below Wmax it
// is CUBIC's concave W(t) = Wmax + (Wmax - W0)(t/K - 1)³, which leaves W0 fast,
// levels off at Wmax after K = Recover, and takes the same time at 5
// requests/s as at 500. Above Wmax it is Wmax(1 + (t/K - 1)³): a few
// percent in the first half of K, so a limit just above is found gently,
// and twice Wmax after another K, so a limit far above (a first estimate
// that was too low, a limit that was raised) is found within seconds.
func (r *Rate) curveLocked(now time.Time) float64 {
	if r.searching {
		x := now.Sub(r.lastCut).Seconds() / (r.cfg.Recover.Seconds() / searchSpeedup)
		return max(r.rate*(1+x*x*x), r.cfg.Min)
	}
	t := now.Sub(r.lastCut).Seconds()/r.cfg.Recover.Seconds() - 1
	c := r.wmax - r.rate
	if t > 0 {
		c = r.wmax
	}
	return max(r.wmax+c*t*t*t, r.cfg.Min)
}

// limitLocked is the pacing rate at now; 0 means no pacing.
func (r *Rate) limitLocked(now time.Time) float64 {
	lim := r.cfg.Cap
	if r.cfg.Static || !r.learning {
		return lim
	}
	learned := r.curveLocked(now)
	// Above the rate last throttled, never more than twice what is actually
	// sent: a sender held back elsewhere (few lanes busy, a slow reader)
	// must not let the probing run away and then burst.
	if floor := r.wmax; learned > floor || r.searching {
		if r.searching {
			floor = r.rate
		}
		learned = max(floor, min(learned, 2*r.sent.rate(now)))
	}
	if lim > 0 {
		return min(lim, learned)
	}
	return learned
}

// RateStats are a Rate's figures at one moment.
type RateStats struct {
	// Learned is the learned rate in requests/s, capped at Cap; 0 until
	// the first 429 (or when Static), meaning the Rate does not pace
	// beyond Cap.
	Learned float64
	// Cap is RateConfig.Cap.
	Cap float64
	// Sent is the rate slots were taken at over the last Window, in
	// requests/s.
	Sent float64
	// Succeeded is the rate of OK answers over the last Window.
	Succeeded float64
	// Throttled counts the 429s seen.
	Throttled int64
	// Cuts counts the 429s that cut the rate (at most one per round).
	Cuts int64
}

// Stats returns the Rate's figures now.
func (r *Rate) Stats() RateStats {
	now := r.cfg.Clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := RateStats{
		Cap:       r.cfg.Cap,
		Sent:      r.sent.rate(now),
		Succeeded: r.succeeded.rate(now),
		Throttled: r.throttled,
		Cuts:      r.cuts,
	}
	if r.learning && !r.cfg.Static {
		s.Learned = r.limitLocked(now)
	}
	return s
}
