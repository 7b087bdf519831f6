package emulator

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeNow is a settable clock for the rate limit.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeNow) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeNow) add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// startLimited starts an emulator whose rate limit runs on a fake clock.
func startLimited(t *testing.T, opts Options) (*Server, *fakeNow) {
	t.Helper()
	clock := &fakeNow{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, err := New(opts)
	require.NoError(t, err)
	s.now = clock.now
	s.applyLimits(opts.Faults) // again, on the fake clock
	require.NoError(t, s.start())
	t.Cleanup(func() { _ = s.Close() })
	return s, clock
}

func profileRequest(t *testing.T, s *Server, id string) answer {
	t.Helper()
	return do(t, s, http.MethodPut, profilesPath, profilesBody(profile(id)))
}

func TestRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name           string
		faults         Faults
		wantRetryAfter string
	}{
		{"retry-after", Faults{RateLimit: 2, Burst: 3}, "1"},
		{"slow limit", Faults{RateLimit: 0.25, Burst: 3}, "4"},
		{"no retry-after", Faults{RateLimit: 2, Burst: 3, NoRetryAfter: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, clock := startLimited(t, Options{Faults: tc.faults, Discard: true})
			for i := range 3 {
				assert.Equal(t, 204, profileRequest(t, s, fmt.Sprint("p", i)).status, "the burst passes")
			}
			a := profileRequest(t, s, "p3")
			assert.Equal(t, 429, a.status)
			assert.Equal(t, tc.wantRetryAfter, a.header.Get("Retry-After"))
			body := decodeError(t, a)
			assert.Equal(t, "rate limit exceeded", body.Message)

			// One token comes after 1/rate.
			clock.add(time.Duration(float64(time.Second) / tc.faults.RateLimit))
			assert.Equal(t, 204, profileRequest(t, s, "p4").status)
			assert.Equal(t, 429, profileRequest(t, s, "p5").status)

			st := s.Stats()
			assert.Equal(t, int64(2), st.RateLimited)
			assert.Equal(t, int64(2), st.Requests[429])
			assert.Equal(t, int64(4), st.ItemsApplied, "a limited request is not applied")
		})
	}
}

// TestRateLimitRetryAfterCountsDown: the Retry-After is the time until the
// next token, in whole seconds rounded up.
func TestRateLimitRetryAfterCountsDown(t *testing.T) {
	s, clock := startLimited(t, Options{Faults: Faults{RateLimit: 0.2}}) // a token per 5 s
	require.Equal(t, 204, profileRequest(t, s, "a").status)
	for _, step := range []struct {
		after time.Duration
		want  string
	}{
		{0, "5"},
		{time.Second, "4"},
		{1500 * time.Millisecond, "3"}, // 2.5 s to go
		{time.Second, "2"},
		{time.Second, "1"}, // 0.5 s to go
	} {
		clock.add(step.after)
		a := profileRequest(t, s, "b")
		require.Equal(t, 429, a.status)
		assert.Equal(t, step.want, a.header.Get("Retry-After"))
	}
	clock.add(500 * time.Millisecond)
	assert.Equal(t, 204, profileRequest(t, s, "b").status)
	assert.Len(t, s.State().Profiles, 2)
}

// TestRateLimitChangedAtRuntime: SetFaults changes the limit at once and
// keeps the bucket's tokens; turning it off lets everything through.
func TestRateLimitChangedAtRuntime(t *testing.T) {
	s, clock := startLimited(t, Options{Faults: Faults{RateLimit: 10, Burst: 5}, Discard: true})
	for i := range 5 {
		require.Equal(t, 204, profileRequest(t, s, fmt.Sprint("a", i)).status)
	}
	require.Equal(t, 429, profileRequest(t, s, "x").status)
	s.SetFaults(Faults{RateLimit: 1, Burst: 5})
	clock.add(500 * time.Millisecond) // half a token at 1/s
	assert.Equal(t, 429, profileRequest(t, s, "x").status)
	assert.Equal(t, "1", profileRequest(t, s, "x").header.Get("Retry-After"))
	clock.add(500 * time.Millisecond)
	assert.Equal(t, 204, profileRequest(t, s, "x").status)
	s.SetFaults(Faults{})
	for i := range 20 {
		assert.Equal(t, 204, profileRequest(t, s, fmt.Sprint("b", i)).status)
	}
	s.SetFaults(Faults{RateLimit: 1, Burst: 2})
	for i := range 2 {
		assert.Equal(t, 204, profileRequest(t, s, fmt.Sprint("c", i)).status, "switched on with a full bucket")
	}
	assert.Equal(t, 429, profileRequest(t, s, "c2").status)
}

// TestCapacity: at most Capacity requests are processed at once, the rest
// wait in order, and a larger Capacity set at runtime admits them.
func TestCapacity(t *testing.T) {
	s := start(t, Options{Faults: Faults{Capacity: 2}})
	var inside, peak atomic.Int64
	release := make(chan struct{})
	s.hookBeforeApply = func() {
		n := inside.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		inside.Add(-1)
	}
	var wg sync.WaitGroup
	statuses := make([]int, 5)
	for i := range statuses {
		wg.Go(func() { statuses[i] = profileRequest(t, s, fmt.Sprint("p", i)).status })
	}
	require.Eventually(t, func() bool { return inside.Load() == 2 && s.Stats().Queued == 3 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, int64(2), inside.Load())
	s.SetFaults(Faults{Capacity: 4})
	require.Eventually(t, func() bool { return inside.Load() == 4 && s.Stats().Queued == 1 }, 10*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	assert.Equal(t, []int{204, 204, 204, 204, 204}, statuses)
	st := s.Stats()
	assert.Equal(t, int64(4), peak.Load())
	assert.Equal(t, int64(3), st.MaxQueued)
	assert.Zero(t, st.Queued)
	assert.Len(t, s.State().Profiles, 5)
}

// TestCapacityLatencyGrowsWithLoad: with Capacity 1 and 50 ms of latency,
// four requests at once take four latencies: the queue is in the latency
// the client sees.
func TestCapacityLatencyGrowsWithLoad(t *testing.T) {
	s := start(t, Options{Faults: Faults{Capacity: 1, Latency: 50 * time.Millisecond}, Discard: true})
	begin := time.Now()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { assert.Equal(t, 204, profileRequest(t, s, fmt.Sprint("p", i)).status) })
	}
	wg.Wait()
	assert.GreaterOrEqual(t, time.Since(begin), 200*time.Millisecond)
	assert.Equal(t, int64(3), s.Stats().MaxQueued)
}

// TestCapacityClientGone: a client that gives up while queued leaves the
// queue; the place is not lost.
func TestCapacityClientGone(t *testing.T) {
	s := start(t, Options{Faults: Faults{Capacity: 1}})
	release := make(chan struct{})
	s.hookBeforeApply = func() { <-release }
	first := make(chan int, 1)
	go func() { first <- profileRequest(t, s, "a").status }()
	require.Eventually(t, func() bool { return s.Stats().RequestsTotal == 1 }, 10*time.Second, time.Millisecond)

	client := &http.Client{Timeout: 100 * time.Millisecond}
	_, err := send(t, client, s.URL(), http.MethodPut, profilesPath, profilesBody(profile("b")))
	require.Error(t, err, "gave up while queued")
	require.Eventually(t, func() bool { return s.Stats().Queued == 0 }, 10*time.Second, time.Millisecond)
	close(release)
	assert.Equal(t, 204, <-first)
	assert.Equal(t, 204, profileRequest(t, s, "c").status, "the place was handed on")
	assert.Equal(t, int64(1), s.Stats().Requests[statusClientGone])
}

func TestLimitsValidation(t *testing.T) {
	for _, f := range []Faults{{RateLimit: -1}, {Burst: -1}, {Capacity: -2}} {
		_, err := New(Options{Faults: f})
		assert.Error(t, err, "%+v", f)
	}
}
