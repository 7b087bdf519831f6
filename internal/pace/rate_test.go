package pace

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestRate returns a Rate on a simulated clock whose Sleep advances it.
func newTestRate(t *testing.T, cfg RateConfig) (*Rate, *simClock) {
	t.Helper()
	clock := &simClock{now: simEpoch}
	cfg.Clock = clock
	r, err := NewRate(cfg)
	require.NoError(t, err)
	return r, clock
}

// waitN takes n slots and returns the times they were taken at.
func waitN(t *testing.T, r *Rate, clock *simClock, n int) []time.Time {
	t.Helper()
	at := make([]time.Time, n)
	for i := range at {
		_, err := r.Wait(context.Background())
		require.NoError(t, err)
		at[i] = clock.Now()
	}
	return at
}

func gaps(at []time.Time) []time.Duration {
	g := make([]time.Duration, len(at)-1)
	for i := range g {
		g[i] = at[i+1].Sub(at[i])
	}
	return g
}

func TestRateNoPacingBeforeThrottle(t *testing.T) {
	r, clock := newTestRate(t, RateConfig{})
	waitN(t, r, clock, 1000)
	assert.Equal(t, simEpoch, clock.Now(), "no slot waited")
	assert.Zero(t, r.Stats().Learned)
}

func TestRateCapPacesEvenly(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  RateConfig
	}{
		{"learning", RateConfig{Cap: 10}},
		{"static", RateConfig{Cap: 10, Static: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, clock := newTestRate(t, tc.cfg)
			assert.Equal(t, []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}, gaps(waitN(t, r, clock, 4)))
			// Idle for a while: no saved-up slots, so no burst after it.
			clock.now = clock.now.Add(5 * time.Second)
			assert.Equal(t, []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}, gaps(waitN(t, r, clock, 3)))
		})
	}
}

// sendAt takes slots at the given rate for d, answering each OK, and
// returns the last slot.
func sendAt(t *testing.T, r *Rate, clock *simClock, rate float64, d time.Duration) Slot {
	t.Helper()
	gap := time.Duration(float64(time.Second) / rate)
	var s Slot
	for end := clock.Now().Add(d); clock.Now().Before(end); {
		var err error
		s, err = r.Wait(context.Background())
		require.NoError(t, err)
		r.Done(s, OK)
		clock.now = clock.now.Add(gap)
	}
	return s
}

func TestRateCutOncePerRound(t *testing.T) {
	r, clock := newTestRate(t, RateConfig{})
	stale := sendAt(t, r, clock, 50, time.Second)
	inFlight, err := r.Wait(context.Background()) // sent before the cut too
	require.NoError(t, err)

	r.Done(stale, Throttled)
	st := r.Stats()
	assert.Equal(t, int64(1), st.Cuts)
	assert.InDelta(t, 0.7*50, st.Learned, 0.7*50*0.2, "cut to beta times the rate in use")

	r.Done(inFlight, Throttled)
	st = r.Stats()
	assert.Equal(t, int64(1), st.Cuts, "a 429 to a request sent before the cut does not cut again")
	assert.Equal(t, int64(2), st.Throttled)

	fresh, err := r.Wait(context.Background())
	require.NoError(t, err)
	r.Done(fresh, Throttled)
	assert.Equal(t, int64(2), r.Stats().Cuts, "a 429 to a request sent after the cut cuts")
}

func TestRateCutVoidsBookedSlots(t *testing.T) {
	r, clock := newTestRate(t, RateConfig{})
	r.Done(sendAt(t, r, clock, 100, time.Second), Throttled) // about 70/s
	last, err := r.Wait(context.Background())
	require.NoError(t, err)
	// Ten lanes book slots ahead at the learned rate.
	var booked []Slot
	for range 10 {
		_, b := r.reserve(clock.Now())
		booked = append(booked, b)
	}
	r.Done(last, Throttled)
	learned := r.Stats().Learned
	require.Less(t, learned, 60.0)
	for _, b := range booked {
		assert.False(t, r.claim(clock.Now(), b), "a slot booked at the old spacing is void")
	}
	// Booking again follows the new spacing from the last slot claimed.
	at, _ := r.reserve(clock.Now())
	assert.InDelta(t, float64(time.Second)/learned, float64(at.Sub(clock.Now())), float64(time.Millisecond))
}

func TestRateStaticIgnoresThrottling(t *testing.T) {
	r, clock := newTestRate(t, RateConfig{Cap: 10, Static: true})
	s := sendAt(t, r, clock, 10, time.Second)
	r.Done(s, Throttled)
	st := r.Stats()
	assert.Zero(t, st.Cuts)
	assert.Zero(t, st.Learned)
	assert.Equal(t, int64(1), st.Throttled)
	assert.Equal(t, []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}, gaps(waitN(t, r, clock, 3)))
}

func TestRateCapBoundsLearned(t *testing.T) {
	r, clock := newTestRate(t, RateConfig{Cap: 20})
	s := sendAt(t, r, clock, 20, time.Second)
	r.Done(s, Throttled)
	assert.InDelta(t, 14, r.Stats().Learned, 1.5)
	sendAt(t, r, clock, 20, 20*time.Second)
	assert.Equal(t, 20.0, r.Stats().Learned, "the curve climbs, the cap holds")
}

// TestRateCurve checks the curve after a cut: the search after the first,
// CUBIC after later ones.
func TestRateCurve(t *testing.T) {
	r, _ := newTestRate(t, RateConfig{Recover: 3 * time.Second})
	r.learning, r.rate, r.wmax, r.lastCut = true, 7, 10, simEpoch
	at := func(d time.Duration) float64 { return r.curveLocked(simEpoch.Add(d)) }
	tests := []struct {
		name      string
		searching bool
		after     time.Duration
		want      float64
	}{
		{"cut", false, 0, 7},
		{"concave, fast at first", false, 1500 * time.Millisecond, 10 - 3*0.125},
		{"level at the rate throttled", false, 3 * time.Second, 10},
		{"probing gently", false, 4 * time.Second, 10 * (1 + 1.0/27)},
		{"twice the rate throttled after another K", false, 6 * time.Second, 20},
		{"search starts at the cut", true, 0, 7},
		{"search doubles within K/3", true, time.Second, 14},
		{"search keeps climbing", true, 2 * time.Second, 7 * 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r.searching = tc.searching
			assert.InDelta(t, tc.want, at(tc.after), 1e-9)
		})
	}
}

// TestRateAppLimited: above the rate last throttled, the learned rate is
// at most twice the rate actually sent, so a sender held back elsewhere
// does not find a huge rate waiting when it speeds up.
func TestRateAppLimited(t *testing.T) {
	r, clock := newTestRate(t, RateConfig{})
	r.Done(sendAt(t, r, clock, 50, time.Second), Throttled)
	fresh, err := r.Wait(context.Background())
	require.NoError(t, err)
	r.Done(fresh, Throttled) // out of the search: wmax about 35
	wmax := r.wmax
	sendAt(t, r, clock, 5, 30*time.Second) // the curve alone would be far above
	assert.InDelta(t, wmax, r.Stats().Learned, 0.5, "held at wmax while 2x sent is below it")
	sendAt(t, r, clock, 30, 2*time.Second)
	learned := r.Stats().Learned
	assert.Greater(t, learned, wmax)
	assert.LessOrEqual(t, learned, 2*30*1.1)
}

func TestRateWaitCancelled(t *testing.T) {
	r, clock := newTestRate(t, RateConfig{Cap: 1})
	waitN(t, r, clock, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.Wait(ctx)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestRateConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  RateConfig
	}{
		{"negative cap", RateConfig{Cap: -1}},
		{"beta 1", RateConfig{Beta: 1}},
		{"beta negative", RateConfig{Beta: -0.5}},
		{"short recover", RateConfig{Recover: time.Millisecond}},
		{"negative min", RateConfig{Min: -1}},
		{"short window", RateConfig{Window: time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRate(tc.cfg)
			assert.ErrorIs(t, err, ErrInvalidConfig)
		})
	}
}
