package pace

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPacerAcquireDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := New(Config{Rate: RateConfig{Cap: 10}, Limiter: LimiterConfig{Fixed: 2}})
		require.NoError(t, err)
		ctx := context.Background()
		start := time.Now()
		var permits []*Permit
		for range 3 {
			pm, err := p.Acquire(ctx)
			require.NoError(t, err)
			permits = append(permits, pm)
			if len(permits) == 2 {
				break
			}
		}
		st := p.Stats()
		assert.Equal(t, 2, st.Limit)
		assert.Equal(t, 2, st.InFlight)
		assert.Equal(t, 100*time.Millisecond, time.Since(start), "the second waited its rate slot")

		time.Sleep(50 * time.Millisecond)
		permits[0].Done(OK)
		permits[1].Done(Throttled)
		st = p.Stats()
		assert.Zero(t, st.InFlight)
		assert.Equal(t, int64(2), st.Requests)
		assert.Equal(t, int64(1), st.Throttled)
		assert.Equal(t, 10.0, st.Cap)
		assert.InDelta(t, 10*0.7, st.Learned, 1, "the 429 cut the learned rate below the cap")
		assert.Equal(t, 150*time.Millisecond, st.Elapsed)
	})
}

// TestPacerCancelWhilePacing: a context that ends while the request waits
// for its rate slot gives the concurrency slot back.
func TestPacerCancelWhilePacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := New(Config{Rate: RateConfig{Cap: 1}, Limiter: LimiterConfig{Fixed: 1}})
		require.NoError(t, err)
		pm, err := p.Acquire(context.Background())
		require.NoError(t, err)
		pm.Done(OK)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err = p.Acquire(ctx) // its slot is 1 s away
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Zero(t, p.Limiter().Stats().InFlight)
		pm, err = p.Acquire(context.Background())
		require.NoError(t, err, "the slot is free again")
		pm.Done(Ignored)
	})
}

// TestPacerConcurrent: lanes share one Pacer; run with -race.
func TestPacerConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := New(Config{Limiter: LimiterConfig{Max: 8}})
		require.NoError(t, err)
		var wg sync.WaitGroup
		for lane := range 32 {
			wg.Go(func() {
				for i := range 20 {
					pm, err := p.Acquire(context.Background())
					if !assert.NoError(t, err) {
						return
					}
					time.Sleep(time.Duration(5+lane%5) * time.Millisecond)
					o := OK
					if (lane*20+i)%17 == 0 {
						o = Throttled
					}
					pm.Done(o)
					_ = p.Stats()
				}
			})
		}
		wg.Wait()
		st := p.Stats()
		assert.Equal(t, int64(32*20), st.Requests)
		assert.Zero(t, st.InFlight)
		assert.Positive(t, st.Learned, "429s were seen")
		assert.LessOrEqual(t, st.Limit, 8)
	})
}

func TestPacerConfigErrors(t *testing.T) {
	_, err := New(Config{Rate: RateConfig{Beta: 2}})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = New(Config{Limiter: LimiterConfig{Fixed: -2}})
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{OK: "ok", Throttled: "throttled", Failed: "failed", Ignored: "ignored", 0: "unknown"} {
		assert.Equal(t, want, o.String())
	}
}
