package pace

import (
	"container/heap"
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// This file is a deterministic discrete-event simulation of talonsync's
// lanes against a modelled server, on simulated time. It drives a real
// Pacer through the same steps Acquire and Done take (enqueue, reserve,
// begin, done), one event at a time on one goroutine, so a run is exactly
// reproducible and takes milliseconds however long it lasts in simulated
// time.

// simEpoch is the simulated time zero.
var simEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// simClock is a Clock whose time the simulation sets. Sleep is not used by
// the simulation (it schedules events instead) and returns at once.
type simClock struct{ now time.Time }

func (c *simClock) Now() time.Time { return c.now }

func (c *simClock) Sleep(ctx context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return ctx.Err()
}

// event is a function due at a time; seq breaks ties in scheduling order.
type event struct {
	at  time.Time
	seq int
	fn  func()
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// sim is the event loop and its clock.
type sim struct {
	clock *simClock
	q     eventQueue
	seq   int
}

func newSim() *sim { return &sim{clock: &simClock{now: simEpoch}} }

func (s *sim) now() time.Time { return s.clock.now }

func (s *sim) at(t time.Time, fn func()) {
	s.seq++
	heap.Push(&s.q, event{at: t, seq: s.seq, fn: fn})
}

func (s *sim) after(d time.Duration, fn func()) { s.at(s.now().Add(d), fn) }

// run processes events until none is left or the time limit passes.
func (s *sim) run(limit time.Duration) {
	end := simEpoch.Add(limit)
	for s.q.Len() > 0 {
		e := heap.Pop(&s.q).(event)
		if e.at.After(end) {
			return
		}
		if e.at.After(s.clock.now) {
			s.clock.now = e.at
		}
		e.fn()
	}
}

// serverModel is a server with a token-bucket rate limit (Rate per second,
// Burst tokens; 0 Rate means none) that answers 429 at once beyond it, with
// a whole-second Retry-After from when the next token comes unless
// NoRetryAfter; and a processing stage of Latency (plus uniform Jitter)
// per request with at most Capacity requests processed at once (0: any
// number), the rest queued in order.
type serverModel struct {
	Rate         float64
	Burst        float64
	NoRetryAfter bool
	Latency      time.Duration
	Jitter       time.Duration
	Capacity     int
	// LatencyAt, when set, replaces Latency: the processing time of a
	// request starting at t (jitter still added).
	LatencyAt func(t time.Time) time.Duration

	s       *sim
	rng     *rand.Rand
	tokens  float64
	last    time.Time
	busy    int
	queue   []func()
	started bool

	// figures
	accepted, throttled int
	maxBusy, maxQueue   int
}

// answer is the server's answer to one request.
type answer struct {
	status     int
	retryAfter time.Duration
}

// setRate changes the limit from now on; the bucket keeps its tokens.
func (m *serverModel) setRate(r float64) {
	m.refill()
	m.Rate = r
}

func (m *serverModel) refill() {
	now := m.s.now()
	if !m.started {
		m.started, m.tokens, m.last = true, m.Burst, now
		return
	}
	m.tokens = min(m.Burst, m.tokens+m.Rate*now.Sub(m.last).Seconds())
	m.last = now
}

// arrive handles a request arriving now; respond is called (as an event)
// with the answer.
func (m *serverModel) arrive(respond func(answer)) {
	if m.Rate > 0 {
		m.refill()
		if m.tokens < 1 {
			m.throttled++
			a := answer{status: 429}
			if !m.NoRetryAfter {
				secs := math.Ceil((1 - m.tokens) / m.Rate)
				a.retryAfter = time.Duration(max(secs, 1)) * time.Second
			}
			m.s.after(time.Millisecond, func() { respond(a) })
			return
		}
		m.tokens--
	}
	m.accepted++
	work := func() {
		m.busy++
		m.maxBusy = max(m.maxBusy, m.busy)
		d := m.Latency
		if m.LatencyAt != nil {
			d = m.LatencyAt(m.s.now())
		}
		if m.Jitter > 0 {
			d += time.Duration(m.rng.Int64N(int64(m.Jitter)))
		}
		m.s.after(d+time.Millisecond, func() {
			m.busy--
			if len(m.queue) > 0 {
				next := m.queue[0]
				m.queue = m.queue[1:]
				next()
			}
			respond(answer{status: 200})
		})
	}
	if m.Capacity > 0 && m.busy >= m.Capacity {
		m.queue = append(m.queue, work)
		m.maxQueue = max(m.maxQueue, len(m.queue))
		return
	}
	work()
}

// simClient is talonsync's lanes: Batches batches dealt round-robin to Lanes
// lanes (as hash lanes deal unique keys), each lane sending its own in
// order, one at a time, through one Pacer; a 429 is retried after
// the batch package's backoff with the Retry-After as its floor.
type simClient struct {
	Lanes   int
	Batches int
	Pacer   Config
	// Seed seeds the server's jitter and the client's backoff jitter.
	Seed uint64
	// RetryBase is the first backoff (the batch package's 500ms default).
	RetryBase time.Duration

	s   *sim
	p   *Pacer
	srv *serverModel
	rng *rand.Rand

	waiting []*simLane // lanes in Acquire, in order
	done    int
	// figures
	requests, throttled int
	finished            time.Time
	samples             []simSample
}

// simSample is the pacer's state at one moment.
type simSample struct {
	at       time.Duration
	learned  float64
	limit    int
	sending  int
	ok, r429 int // cumulative
}

type simLane struct {
	c       *simClient
	batches int // left to send
	attempt int
	w       *waiter
}

// simResult are a run's figures.
type simResult struct {
	elapsed   time.Duration // until the last batch was answered OK
	batches   int           // answered OK
	requests  int
	throttled int
	maxLimit  int
	srv       *serverModel
	samples   []simSample
	pacer     *Pacer
}

func (r simResult) share429() float64 { return float64(r.throttled) / float64(r.requests) }

// simulate runs client c against server m for at most limit of simulated
// time. setup, when set, schedules extra events (such as a change of the
// server's limit) before the run.
func simulate(c simClient, m serverModel, limit time.Duration, setup func(*sim, *serverModel)) simResult {
	s := newSim()
	m.s, m.rng = s, rand.New(rand.NewPCG(c.Seed, 2))
	c.s, c.srv, c.rng = s, &m, rand.New(rand.NewPCG(c.Seed, 4))
	if c.RetryBase == 0 {
		c.RetryBase = 500 * time.Millisecond
	}
	c.Pacer.Clock = s.clock
	p, err := New(c.Pacer)
	if err != nil {
		panic(err)
	}
	c.p = p
	if setup != nil {
		setup(s, &m)
	}
	for i := range c.Lanes {
		l := &simLane{c: &c, batches: c.Batches / c.Lanes}
		if i < c.Batches%c.Lanes {
			l.batches++
		}
		if l.batches > 0 {
			s.after(0, l.acquire)
		}
	}
	maxLimit := 0
	var sample func()
	sample = func() {
		st := p.Stats()
		rs := p.Rate().Stats()
		maxLimit = max(maxLimit, st.Limit)
		c.samples = append(c.samples, simSample{
			at: s.now().Sub(simEpoch), learned: rs.Learned, limit: st.Limit, sending: st.InFlight,
			ok: c.requests - c.throttled, r429: c.throttled,
		})
		if c.done < c.Batches {
			s.after(50*time.Millisecond, sample)
		}
	}
	s.after(0, sample)
	s.run(limit)
	return simResult{
		elapsed: c.finished.Sub(simEpoch), batches: c.done, requests: c.requests,
		throttled: c.throttled, maxLimit: maxLimit, srv: &m, samples: c.samples, pacer: p,
	}
}

func (l *simLane) acquire() {
	l.w = l.c.p.lim.enqueue()
	if l.w == nil {
		l.reserve()
		return
	}
	l.c.waiting = append(l.c.waiting, l)
}

// grant moves the lanes the limiter granted a slot on.
func (c *simClient) grant() {
	kept := c.waiting[:0]
	var granted []*simLane
	for _, l := range c.waiting {
		if l.w.granted {
			granted = append(granted, l)
		} else {
			kept = append(kept, l)
		}
	}
	c.waiting = kept
	for _, l := range granted {
		l.w = nil
		l.reserve()
	}
}

func (l *simLane) reserve() {
	c := l.c
	at, slot := c.p.rate.reserve(c.s.now())
	c.s.at(at, func() {
		if !c.p.rate.claim(c.s.now(), slot) {
			l.reserve()
			return
		}
		pm := &Permit{p: c.p, slot: slot, ticket: c.p.lim.begin(c.s.now())}
		c.requests++
		c.srv.arrive(func(a answer) { l.answered(pm, a) })
	})
}

func (l *simLane) answered(pm *Permit, a answer) {
	c := l.c
	now := c.s.now()
	if a.status == 429 {
		c.throttled++
		c.p.done(now, pm, Throttled)
		c.grant()
		l.attempt++
		c.s.after(c.backoff(l.attempt, a.retryAfter), l.acquire)
		return
	}
	c.p.done(now, pm, OK)
	c.grant()
	l.attempt = 0
	l.batches--
	c.done++
	if c.done == c.Batches {
		c.finished = now
	}
	if l.batches > 0 {
		l.acquire()
	}
}

// backoff is batch.RetryPolicy.Backoff with its defaults: exponential from
// RetryBase with equal jitter, Retry-After as the floor, 60s at most.
func (c *simClient) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := c.RetryBase
	for i := 1; i < attempt && d < time.Minute; i++ {
		d *= 2
	}
	d = min(d, time.Minute)
	d = d/2 + time.Duration(c.rng.Int64N(int64(d/2)+1))
	return min(max(d, retryAfter), time.Minute)
}
