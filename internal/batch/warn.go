package batch

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// UnreachableError is returned by Run when no request of the run reached
// the API and the API could not be reached at all for Config.Unreachable:
// the base URL or the network is wrong.
type UnreachableError struct {
	// Host is the scheme and host requests went to.
	Host string
	// Cause says what failed, in a few words.
	Cause string
	Err   error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the API at %s: %s", e.Host, e.Cause)
}

// Unwrap returns the last failure.
func (e *UnreachableError) Unwrap() error { return e.Err }

// warnings rate-limits the warning lines about retries: every retry is
// logged at debug level, and one warning at most every Config.WarnEvery
// says how many retries there were since the last.
type warnings struct {
	mu     sync.Mutex
	last   time.Time
	missed int
}

func (r *run) warnRetry(attempt int, wait time.Duration, err error) {
	log := r.cfg.Logger
	log.Debug("retrying", "endpoint", r.cfg.Endpoint.String(), "attempt", attempt, "wait", wait, "error", err.Error())
	w := &r.warns
	w.mu.Lock()
	now := r.cfg.Now()
	if !w.last.IsZero() && now.Sub(w.last) < r.cfg.WarnEvery {
		w.missed++
		w.mu.Unlock()
		return
	}
	missed := w.missed
	w.last, w.missed = now, 0
	w.mu.Unlock()
	msg := fmt.Sprintf("retrying a request in %v (attempt %d): %v", roundWait(wait), attempt+1, err)
	if missed > 0 {
		msg += fmt.Sprintf(" (and %d more retries since the last warning)", missed)
	}
	log.Warn(msg, slog.Group("retry", "endpoint", r.cfg.Endpoint.String(), "attempt", attempt+1, "wait", wait, "more", missed))
}

func roundWait(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// UnknownAudienceError is returned by Run when the API refused an audience
// action because its audience does not exist. The run stops: every row of
// that audience would be rejected.
type UnknownAudienceError struct {
	// AudienceID is the audience the API does not know.
	AudienceID string
	Err        error
}

func (e *UnknownAudienceError) Error() string {
	return "audience " + e.AudienceID + " does not exist: " + e.Err.Error()
}

// Unwrap returns the API's answer.
func (e *UnknownAudienceError) Unwrap() error { return e.Err }
