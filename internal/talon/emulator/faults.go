package emulator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Faults are the failures and limits the emulator injects. An API request
// with valid credentials first meets the rate limit: beyond RateLimit
// requests per second (a token bucket of Burst) it is answered 429 at once,
// as by a gateway in front of the API. Then it waits for a place among the
// Capacity requests processed at once, in arrival order, so latency grows
// with load. Processing waits Latency plus a uniform random share of
// Jitter; then the request is answered 429 with probability Fail429 or
// 500/502/503 with probability Fail5xx (neither applied); otherwise it is
// applied, and with probability CutAfterApply the connection is then closed
// without an answer. Shares are in [0, 1] and Fail429+Fail5xx must not
// exceed 1. Requests rejected before the apply step (400, 404) get the
// latency but no other fault; a 401 gets the latency only; and a 409 is
// answered at once.
type Faults struct {
	// Latency is added to every API request.
	Latency time.Duration
	// Jitter adds a uniform random delay in [0, Jitter).
	Jitter time.Duration
	// Fail429 is the share of requests answered 429 and not applied.
	Fail429 float64
	// RetryAfter is the Retry-After of 429 answers, rounded up to whole
	// seconds. 0 means 1s.
	RetryAfter time.Duration
	// NoRetryAfter omits the Retry-After header from 429 answers, the
	// rate limit's and Fail429's.
	NoRetryAfter bool
	// RateLimit, when positive, is the rate limit in requests per second.
	// Its 429s carry a whole-second Retry-After: the time until the next
	// token comes, rounded up, at least 1.
	RateLimit float64
	// Burst is the size of the rate limit's bucket: how many requests may
	// come at once after a quiet spell. 0 means 1.
	Burst int
	// Capacity, when positive, is the most requests processed at once; the
	// others queue. 0 means no limit.
	Capacity int
	// Fail5xx is the share of requests answered 500, 502 or 503 and not
	// applied.
	Fail5xx float64
	// CutAfterApply is the share of requests that are applied, after which
	// the TCP connection is closed before any answer.
	CutAfterApply float64
}

func (f Faults) validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"Fail429", f.Fail429}, {"Fail5xx", f.Fail5xx}, {"CutAfterApply", f.CutAfterApply}} {
		if math.IsNaN(p.v) || p.v < 0 || p.v > 1 {
			return fmt.Errorf("faults: %s=%v is not in [0, 1]", p.name, p.v)
		}
	}
	if f.Fail429+f.Fail5xx > 1 {
		return errors.New("faults: Fail429+Fail5xx exceeds 1")
	}
	if f.Latency < 0 || f.Jitter < 0 || f.RetryAfter < 0 {
		return errors.New("faults: negative duration")
	}
	if math.IsNaN(f.RateLimit) || math.IsInf(f.RateLimit, 0) || f.RateLimit < 0 {
		return fmt.Errorf("faults: RateLimit=%v is not a finite number >= 0", f.RateLimit)
	}
	if f.Burst < 0 || f.Capacity < 0 {
		return errors.New("faults: negative Burst or Capacity")
	}
	return nil
}

// clamp makes f valid, for SetFaults, which has no error to return.
func (f Faults) clamp() Faults {
	c := func(v float64) float64 {
		if math.IsNaN(v) || v < 0 {
			return 0
		}
		return math.Min(v, 1)
	}
	f.Fail429, f.Fail5xx, f.CutAfterApply = c(f.Fail429), c(f.Fail5xx), c(f.CutAfterApply)
	f.Fail5xx = math.Min(f.Fail5xx, 1-f.Fail429)
	f.Latency, f.Jitter, f.RetryAfter = max(f.Latency, 0), max(f.Jitter, 0), max(f.RetryAfter, 0)
	if math.IsNaN(f.RateLimit) || math.IsInf(f.RateLimit, 0) || f.RateLimit < 0 {
		f.RateLimit = 0
	}
	f.Burst, f.Capacity = max(f.Burst, 0), max(f.Capacity, 0)
	return f
}

// SetFaults replaces the injected faults; requests already past their
// fault decision are not affected. Invalid values are clamped into range
// (Fail5xx is lowered so that Fail429+Fail5xx <= 1, a bad RateLimit turns
// the limit off). A changed rate limit keeps the tokens its bucket holds;
// a changed Capacity admits queued requests at once if it grew.
func (s *Server) SetFaults(f Faults) {
	f = f.clamp()
	s.faults.set(f)
	s.applyLimits(f)
}

// applyLimits configures the rate limit and the capacity from f.
func (s *Server) applyLimits(f Faults) {
	s.bucket.set(s.now(), f.RateLimit, f.Burst)
	s.capacity.setCap(f.Capacity)
}

// noRetryAfter reports whether 429s go without Retry-After now.
func (fs *faultState) noRetryAfter() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.f.NoRetryAfter
}

// faultState holds the current Faults and the seeded RNG behind them.
type faultState struct {
	mu  sync.Mutex
	f   Faults
	rng *rand.Rand
}

func (fs *faultState) init(f Faults, seed int64) {
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	fs.f = f
	fs.rng = rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
}

func (fs *faultState) set(f Faults) {
	fs.mu.Lock()
	fs.f = f
	fs.mu.Unlock()
}

// faultPlan is what happens to one request.
type faultPlan struct {
	delay      time.Duration
	status     int  // 429, 500, 502, 503, or 0 to apply
	retryAfter int  // seconds; 0 omits the header
	cut        bool // close the connection after applying
}

// plan draws the faults for one request. The draws happen in a fixed order
// so that a seeded server replays the same sequence for the same sequence
// of requests.
func (fs *faultState) plan() faultPlan {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.f
	p := faultPlan{delay: fs.delayLocked()}
	u := fs.rng.Float64()
	switch {
	case u < f.Fail429:
		p.status = http.StatusTooManyRequests
		if !f.NoRetryAfter {
			ra := f.RetryAfter
			if ra == 0 {
				ra = time.Second
			}
			p.retryAfter = int((ra + time.Second - 1) / time.Second)
		}
	case u < f.Fail429+f.Fail5xx:
		p.status = [...]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[fs.rng.IntN(3)]
	default:
		p.cut = f.CutAfterApply > 0 && fs.rng.Float64() < f.CutAfterApply
	}
	return p
}

// delay draws only the latency, for requests rejected before the apply step.
func (fs *faultState) delay() time.Duration {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.delayLocked()
}

func (fs *faultState) delayLocked() time.Duration {
	d := fs.f.Latency
	if fs.f.Jitter > 0 {
		d += time.Duration(fs.rng.Int64N(int64(fs.f.Jitter)))
	}
	return d
}

// sleep waits d or until ctx is done; it reports whether the full d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
