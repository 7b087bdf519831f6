// Package pace decides how fast talonsync sends: a Rate that learns the
// request rate the API accepts and spaces requests evenly, and a Limiter
// that learns how many requests may be in flight at once. A Pacer combines
// the two behind one Acquire and one Done per request.
//
// Talon.One publishes no rate limit for the Integration API, so neither is
// configured with one. The Rate follows CUBIC (RFC 9438), as the AWS SDKs'
// adaptive retry mode does: a 429 cuts the rate to β = 0.7 of the rate in
// use, once per round, and while requests succeed the rate climbs back
// along a cubic curve, fast at first, level near the rate that was
// throttled, then probing above it. The Limiter is a gradient limiter in
// the manner of Netflix's concurrency-limits: it compares each window's mean
// latency with the lowest of the recent windows, grows while the requests
// sent fill the limit and latency stays flat, and shrinks on 429s, 5xx
// answers and latency inflation, using Little's law for how far.
//
// Every type takes a Clock, so tests run on simulated time, and is safe for
// concurrent use by any number of goroutines. sim_test.go drives a Pacer
// through a deterministic simulation of lanes against a modelled server
// (token bucket, latency, capacity); scenarios_test.go checks issue 13's
// targets on it.
package pace

import (
	"context"
	"time"
)

// Outcome is what the server made of one request, as far as pacing cares.
type Outcome uint8

const (
	// OK: the server processed the request (a 2xx answer, or a 4xx about
	// its content). Its latency is a sample of the server's speed.
	OK Outcome = iota + 1
	// Throttled: a 429 answer. The Rate cuts its rate; the Limiter its limit.
	Throttled
	// Failed: a 5xx or 408 answer, or a timeout: the server may be
	// overloaded. The Limiter shrinks; the Rate is not changed.
	Failed
	// Ignored: the answer says nothing about the server's load (the request
	// was cancelled, the connection was cut, a 401 or 409). Only the slot
	// is given back.
	Ignored
)

// String returns "ok", "throttled", "failed", "ignored" or "unknown".
func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Throttled:
		return "throttled"
	case Failed:
		return "failed"
	case Ignored:
		return "ignored"
	}
	return "unknown"
}

// Clock is the time source of a Rate, a Limiter and a Pacer.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d, or returns ctx.Err() as soon as ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits for d with a timer, or until ctx is done.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
