package pace

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestLimiter(t *testing.T, cfg LimiterConfig) (*Limiter, *simClock) {
	t.Helper()
	clock := &simClock{now: simEpoch}
	cfg.Clock = clock
	l, err := NewLimiter(cfg)
	require.NoError(t, err)
	return l, clock
}

// round sends n requests at once (n must not exceed the free slots), lets
// latency pass and releases them all with o; it returns the limit after.
func round(t *testing.T, l *Limiter, clock *simClock, n int, latency time.Duration, o Outcome) int {
	t.Helper()
	tickets := make([]Ticket, n)
	for i := range tickets {
		require.Nil(t, l.enqueue(), "request %d of %d finds a free slot", i+1, n)
		tickets[i] = l.begin(clock.Now())
	}
	clock.now = clock.now.Add(latency)
	for _, tk := range tickets {
		l.Release(tk, o)
	}
	return l.Stats().Limit
}

// fill sends a round the size of the limit.
func fill(t *testing.T, l *Limiter, clock *simClock, latency time.Duration, o Outcome) int {
	t.Helper()
	return round(t, l, clock, l.Stats().Limit, latency, o)
}

func TestLimiterSlowStart(t *testing.T) {
	l, clock := newTestLimiter(t, LimiterConfig{})
	assert.Equal(t, DefaultInitialLimit, l.Stats().Limit)
	var got []int
	for range 4 {
		got = append(got, fill(t, l, clock, 100*time.Millisecond, OK))
	}
	assert.Equal(t, []int{18, 32, 32, 32}, got, "tripling per round trip up to Max")
	fill(t, l, clock, 100*time.Millisecond, Throttled)
	st := l.Stats()
	assert.Equal(t, 28, st.Limit)
	assert.Equal(t, 32, st.MaxLimit)
}

func TestLimiterGrowsOnlyWhenFull(t *testing.T) {
	l, clock := newTestLimiter(t, LimiterConfig{})
	for range 10 {
		round(t, l, clock, 3, 100*time.Millisecond, OK) // half the limit in use
	}
	assert.Equal(t, DefaultInitialLimit, l.Stats().Limit)
}

func TestLimiterBackoff(t *testing.T) {
	for _, o := range []Outcome{Throttled, Failed} {
		t.Run(o.String(), func(t *testing.T) {
			l, clock := newTestLimiter(t, LimiterConfig{Initial: 20})
			// Five requests sent before the decrease, still in flight.
			var old []Ticket
			for range 5 {
				require.Nil(t, l.enqueue())
				old = append(old, l.begin(clock.Now()))
			}
			for range 20 { // a window of answers, one at a time
				round(t, l, clock, 1, 100*time.Millisecond, o)
			}
			assert.Equal(t, 18, l.Stats().Limit, "times Backoff, once")
			for _, tk := range old {
				l.Release(tk, o)
			}
			assert.Equal(t, 18, l.Stats().Limit, "answers to requests sent before the decrease do not decrease again")
			assert.Equal(t, 16, fill(t, l, clock, 100*time.Millisecond, o))
			// Out of slow start: growth is by one per round now.
			assert.Equal(t, 17, fill(t, l, clock, 100*time.Millisecond, OK))
			assert.Equal(t, 18, fill(t, l, clock, 100*time.Millisecond, OK))
		})
	}
}

// TestLimiterLatencyInflation: a round whose latency exceeds Tolerance
// times the baseline cuts the limit to GrowBelow times what the server
// holds by Little's law; between GrowBelow and Tolerance it holds.
func TestLimiterLatencyInflation(t *testing.T) {
	l, clock := newTestLimiter(t, LimiterConfig{Initial: 16})
	// Requests spread out, 100 ms each: baseline 100 ms.
	spread := func(n int, latency time.Duration) int {
		for range n {
			require.Nil(t, l.enqueue())
			tk := l.begin(clock.Now())
			clock.now = clock.now.Add(latency)
			l.Release(tk, OK)
		}
		return l.Stats().Limit
	}
	require.Equal(t, 16, spread(16, 100*time.Millisecond))
	require.Equal(t, 100*time.Millisecond, l.Stats().Baseline)
	assert.Equal(t, 16, spread(16, 140*time.Millisecond), "1.4x: hold")
	// 16 answers at 300 ms, one every 300 ms: about 3.3/s, which at the
	// 100 ms baseline is 0.33 requests in the server; the cut is to half
	// at most.
	assert.Equal(t, 8, spread(16, 300*time.Millisecond))

	// Little's law when the server still answers fast but latency grew: 16
	// in flight answered at 40/s with 400 ms latency: 40 * 0.1 * 1.25 = 5,
	// raised to half the limit; at 60/s: 7.5.
	l, clock = newTestLimiter(t, LimiterConfig{Initial: 16})
	require.Equal(t, 16, spread(16, 100*time.Millisecond))
	tickets := make([]Ticket, 16)
	for i := range tickets {
		require.Nil(t, l.enqueue())
		tickets[i] = l.begin(clock.Now())
	}
	clock.now = clock.now.Add(200 * time.Millisecond)
	for _, tk := range tickets {
		clock.now = clock.now.Add(time.Second / 120)
		l.Release(tk, OK)
	}
	// 15 gaps in 125 ms: 120/s; 120 * 0.1 * 1.25 = 15, but at least a 10% cut.
	assert.Equal(t, 14, l.Stats().Limit)
}

// TestLimiterProbe: latency held between GrowBelow and Tolerance times the
// baseline (a queue the limit keeps up) for two thirds of History halves
// the limit for one window, which measures the baseline afresh.
func TestLimiterProbe(t *testing.T) {
	l, clock := newTestLimiter(t, LimiterConfig{Initial: 16, Max: 16, History: 9 * time.Second})
	require.Equal(t, 16, fill(t, l, clock, 100*time.Millisecond, OK))
	require.Equal(t, 100*time.Millisecond, l.Stats().Baseline)
	const limit = 16
	probed := false
	for range 60 { // queueing: 140 ms
		n := fill(t, l, clock, 140*time.Millisecond, OK)
		if n < limit {
			probed = true
			assert.Equal(t, limit/2, n)
			assert.GreaterOrEqual(t, clock.Now().Sub(simEpoch), 6*time.Second, "not before 2/3 of History")
			// The probe window, at no queue: 100 ms.
			assert.Equal(t, limit, fill(t, l, clock, 100*time.Millisecond, OK), "restored after one window")
			break
		}
	}
	assert.True(t, probed)
	assert.Equal(t, 100*time.Millisecond, l.Stats().Baseline)
}

func TestLimiterFixed(t *testing.T) {
	l, clock := newTestLimiter(t, LimiterConfig{Fixed: 3})
	for range 5 {
		assert.Equal(t, 3, fill(t, l, clock, time.Second, Throttled))
	}
	st := l.Stats()
	assert.Equal(t, int64(15), st.Throttled)
	assert.Zero(t, st.InFlight)
}

// TestLimiterGate: the limit holds, waiters are served in order, and a
// waiter whose context ends leaves the queue holding nothing.
func TestLimiterGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := NewLimiter(LimiterConfig{Fixed: 2})
		require.NoError(t, err)
		ctx := context.Background()
		a, err := l.Acquire(ctx)
		require.NoError(t, err)
		_, err = l.Acquire(ctx)
		require.NoError(t, err)

		var order []int
		var mu sync.Mutex
		var wg sync.WaitGroup
		cancelled, cancel := context.WithCancel(ctx)
		errs := make(chan error, 1)
		wg.Go(func() {
			_, err := l.Acquire(cancelled)
			errs <- err
		})
		synctest.Wait()
		for i := 1; i <= 3; i++ {
			wg.Go(func() {
				tk, err := l.Acquire(ctx)
				if err != nil {
					return
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				time.Sleep(time.Millisecond)
				l.Release(tk, OK)
			})
			synctest.Wait() // queued in order 1, 2, 3
		}
		assert.Equal(t, 4, l.Stats().Waiting)
		cancel()
		assert.ErrorIs(t, <-errs, context.Canceled)
		assert.Equal(t, 3, l.Stats().Waiting)
		assert.Equal(t, 2, l.Stats().InFlight)

		l.Release(a, OK)
		wg.Wait()
		assert.Equal(t, []int{1, 2, 3}, order)
		assert.Equal(t, 1, l.Stats().InFlight)
	})
}

// TestLimiterConcurrent: many goroutines never have more requests in flight
// than the limit, adaptive or fixed. Run with -race.
func TestLimiterConcurrent(t *testing.T) {
	for _, cfg := range []LimiterConfig{{Fixed: 5}, {Max: 8}} {
		synctest.Test(t, func(t *testing.T) {
			l, err := NewLimiter(cfg)
			require.NoError(t, err)
			var inFlight, peak atomic.Int64
			var wg sync.WaitGroup
			for g := range 40 {
				wg.Go(func() {
					for i := range 50 {
						tk, err := l.Acquire(context.Background())
						if !assert.NoError(t, err) {
							return
						}
						n := inFlight.Add(1)
						for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
						}
						time.Sleep(time.Duration(1+(g+i)%7) * time.Millisecond)
						inFlight.Add(-1)
						o := OK
						if (g+i)%13 == 0 {
							o = Throttled
						}
						l.Release(tk, o)
					}
				})
			}
			wg.Wait()
			max := cfg.Fixed
			if max == 0 {
				max = cfg.Max
			}
			assert.LessOrEqual(t, peak.Load(), int64(max))
			st := l.Stats()
			assert.Zero(t, st.InFlight)
			assert.Zero(t, st.Waiting)
		})
	}
}

func TestLimiterConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  LimiterConfig
	}{
		{"negative fixed", LimiterConfig{Fixed: -1}},
		{"max below min", LimiterConfig{Min: 5, Max: 4}},
		{"initial above max", LimiterConfig{Max: 4, Initial: 5}},
		{"tolerance below grow-below", LimiterConfig{GrowBelow: 2, Tolerance: 1.5}},
		{"grow-below below 1", LimiterConfig{GrowBelow: 0.5}},
		{"backoff 1", LimiterConfig{Backoff: 1}},
		{"short history", LimiterConfig{History: time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewLimiter(tc.cfg)
			assert.ErrorIs(t, err, ErrInvalidConfig)
		})
	}
}

// TestLimiterCancelRacesGrant: a waiter granted a slot just as its context
// ends either takes the slot or hands it on; it never leaks it.
func TestLimiterCancelRacesGrant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := NewLimiter(LimiterConfig{Fixed: 1})
		require.NoError(t, err)
		held, err := l.Acquire(context.Background())
		require.NoError(t, err)
		var took, gaveBack int
		for i := range 200 {
			ctx, cancel := context.WithCancel(context.Background())
			res := make(chan error, 1)
			var tk Ticket
			go func() {
				var err error
				tk, err = l.Acquire(ctx)
				res <- err
			}()
			synctest.Wait() // queued
			if i%2 == 0 {
				l.Release(held, OK) // granted first: it takes the slot
				cancel()
			} else {
				cancel() // cancelled first, and most often granted before it locks
				l.Release(held, OK)
			}
			err := <-res
			if err == nil {
				took++
				held = tk
			} else {
				gaveBack++
				require.Equal(t, 0, l.Stats().InFlight, "the granted slot was handed on")
				held, err = l.Acquire(context.Background())
				require.NoError(t, err)
			}
			require.Equal(t, 1, l.Stats().InFlight)
		}
		assert.Positive(t, took)
		assert.Positive(t, gaveBack)
	})
}

// TestLimiterSlackForFastAnswers: answers in a millisecond or two do not
// mean a queue when they take three times as long on a busy machine;
// growth of more than Slack over the baseline does.
func TestLimiterSlackForFastAnswers(t *testing.T) {
	l, clock := newTestLimiter(t, LimiterConfig{Fixed: 0, Max: 32, Initial: 8})
	fill(t, l, clock, time.Millisecond, Throttled) // ends slow start
	start := l.Stats().Limit
	for range 10 {
		fill(t, l, clock, time.Millisecond, OK)
	}
	for range 10 {
		fill(t, l, clock, 3*time.Millisecond, OK)
	}
	assert.GreaterOrEqual(t, l.Stats().Limit, start, "3 ms after 1 ms is no queue")

	l, clock = newTestLimiter(t, LimiterConfig{Fixed: 0, Max: 32, Initial: 8})
	fill(t, l, clock, 10*time.Millisecond, Throttled)
	for range 10 {
		fill(t, l, clock, 10*time.Millisecond, OK)
	}
	before := l.Stats().Limit
	fill(t, l, clock, 100*time.Millisecond, OK)
	assert.Less(t, l.Stats().Limit, before, "100 ms after 10 ms is a queue")
}
