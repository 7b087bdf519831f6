package batch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// ErrRetriesExhausted is matched (errors.Is) by the error a lane returns when
// a batch still fails after every retry.
var ErrRetriesExhausted = errors.New("retries exhausted")

// RetryPolicy says how transient failures are retried: exponential backoff
// with jitter, and a Retry-After from the server as the floor.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt. Default 8.
	// A negative value means none.
	MaxRetries int
	// Base is the first backoff; it doubles on each retry. Default 500ms.
	Base time.Duration
	// Max caps one backoff, Retry-After included. Default 60s.
	Max time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	switch {
	case p.MaxRetries == 0:
		p.MaxRetries = 8
	case p.MaxRetries < 0:
		p.MaxRetries = 0
	}
	if p.Base <= 0 {
		p.Base = 500 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 60 * time.Second
	}
	return p
}

// Backoff returns the wait before retry number attempt (1-based): an
// exponential step with "equal jitter" (half fixed, half random), raised to
// retryAfter when the server asked for longer, and capped at Max.
func (p RetryPolicy) Backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := p.Base
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	d = d/2 + rand.N(d/2+1)
	if retryAfter > d {
		d = retryAfter
	}
	return min(d, p.Max)
}

// RetryError is returned when a batch failed on every attempt.
type RetryError struct {
	Attempts int
	Err      error
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("retries exhausted after %d attempts: %v", e.Attempts, e.Err)
}

// Unwrap returns the last failure.
func (e *RetryError) Unwrap() error { return e.Err }

// Is matches ErrRetriesExhausted.
func (e *RetryError) Is(target error) bool { return target == ErrRetriesExhausted }

// sleep waits for d or the end of ctx.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
