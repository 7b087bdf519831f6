package pace

import (
	"context"
	"time"
)

// Config configures a Pacer: its Rate and its Limiter. The Clock fields of
// both are replaced by Clock.
type Config struct {
	Rate    RateConfig
	Limiter LimiterConfig
	// Clock is the time source of both. Default SystemClock.
	Clock Clock
}

// Pacer paces requests with a Rate and a Limiter: a request first takes a
// Limiter slot, then waits for its Rate slot, then is sent, and its Permit
// is given back with the outcome. Taking the concurrency slot first means a
// request that waits for a free slot does not hold a rate slot it cannot
// use; the Limiter tells the requests waiting for the Rate from those sent,
// and grows only when the sent ones fill the limit, so a rate-bound run
// does not raise its concurrency for nothing.
//
// A Pacer is safe for concurrent use.
type Pacer struct {
	clock  Clock
	rate   *Rate
	lim    *Limiter
	start  time.Time
	counts counts
}

// New returns a Pacer, or an error matching ErrInvalidConfig.
func New(cfg Config) (*Pacer, error) {
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	cfg.Rate.Clock, cfg.Limiter.Clock = cfg.Clock, cfg.Clock
	r, err := NewRate(cfg.Rate)
	if err != nil {
		return nil, err
	}
	l, err := NewLimiter(cfg.Limiter)
	if err != nil {
		return nil, err
	}
	return &Pacer{clock: cfg.Clock, rate: r, lim: l, start: cfg.Clock.Now()}, nil
}

// Permit is one request's permission to be sent, from Acquire. Give it back
// exactly once with Done.
type Permit struct {
	p      *Pacer
	slot   Slot
	ticket Ticket
}

// Acquire waits until a request may be sent: for a concurrency slot, then
// for a rate slot. It returns ctx.Err() if ctx ends first, holding nothing
// then.
func (p *Pacer) Acquire(ctx context.Context) (*Permit, error) {
	if err := p.lim.acquire(ctx); err != nil {
		return nil, err
	}
	for {
		now := p.clock.Now()
		at, slot := p.rate.reserve(now)
		if d := at.Sub(now); d > 0 {
			if err := p.clock.Sleep(ctx, d); err != nil {
				p.lim.release(p.clock.Now(), Ticket{}, Ignored)
				return nil, err
			}
			now = p.clock.Now()
		}
		if p.rate.claim(now, slot) {
			return &Permit{p: p, slot: slot, ticket: p.lim.begin(now)}, nil
		}
	}
}

// Done gives the permit back with the outcome of its request; its latency
// is measured from the end of Acquire to now. Call it once per Permit, as
// soon as the answer is in and before waiting out a retry's backoff, so
// the wait holds no slot; the retry takes a new Permit.
func (pm *Permit) Done(o Outcome) {
	now := pm.p.clock.Now()
	pm.p.done(now, pm, o)
}

func (p *Pacer) done(now time.Time, pm *Permit, o Outcome) {
	p.rate.done(now, pm.slot, o)
	p.lim.release(now, pm.ticket, o)
	p.counts.add(o)
}

// Rate returns the Pacer's Rate.
func (p *Pacer) Rate() *Rate { return p.rate }

// Limiter returns the Pacer's Limiter.
func (p *Pacer) Limiter() *Limiter { return p.lim }

// Stats are a Pacer's figures at one moment, for status lines and the
// report.
type Stats struct {
	// Achieved is the requests/s answered OK over the Rate's window (one
	// second by default).
	Achieved float64
	// Sent is the requests/s sent over the same window.
	Sent float64
	// Learned is the learned rate; 0 until the first 429 (no pacing
	// beyond the cap).
	Learned float64
	// Cap is the hard cap (--rate), 0 for none.
	Cap float64
	// Limit is the concurrency limit, MaxLimit the highest so far,
	// InFlight the requests sent and not yet answered.
	Limit, MaxLimit, InFlight int
	// Latency is the mean latency of the last window of answers.
	Latency time.Duration
	// Requests counts the permits given back; Throttled the 429s among
	// them, Failed the failures.
	Requests, Throttled, Failed int64
	// Elapsed is the time since New.
	Elapsed time.Duration
}

// Stats returns the Pacer's figures now.
func (p *Pacer) Stats() Stats {
	rs, ls := p.rate.Stats(), p.lim.Stats()
	c := p.counts.load()
	return Stats{
		Achieved:  rs.Succeeded,
		Sent:      rs.Sent,
		Learned:   rs.Learned,
		Cap:       rs.Cap,
		Limit:     ls.Limit,
		MaxLimit:  ls.MaxLimit,
		InFlight:  ls.Sending,
		Latency:   ls.Latency,
		Requests:  c.requests,
		Throttled: c.throttled,
		Failed:    c.failed,
		Elapsed:   p.clock.Now().Sub(p.start),
	}
}
