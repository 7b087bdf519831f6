package emulator

import (
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLatency(t *testing.T) {
	s := start(t, Options{Faults: Faults{Latency: 60 * time.Millisecond, Jitter: 20 * time.Millisecond}})
	for _, tc := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"applied", http.MethodPut, profilesPath, profilesBody(profile("a")), 204},
		{"rejected", http.MethodPut, profilesPath, profilesBody(), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			begin := time.Now()
			a := do(t, s, tc.method, tc.path, tc.body)
			assert.Equal(t, tc.want, a.status)
			assert.GreaterOrEqual(t, time.Since(begin), 60*time.Millisecond)
		})
	}
}

func TestFaultAnswers(t *testing.T) {
	tests := []struct {
		name           string
		faults         Faults
		wantStatus     []int
		wantRetryAfter string
	}{
		{name: "429 with the default Retry-After", faults: Faults{Fail429: 1}, wantStatus: []int{429}, wantRetryAfter: "1"},
		{name: "429 Retry-After rounded up", faults: Faults{Fail429: 1, RetryAfter: 2500 * time.Millisecond}, wantStatus: []int{429}, wantRetryAfter: "3"},
		{name: "429 without Retry-After", faults: Faults{Fail429: 1, RetryAfter: time.Second, NoRetryAfter: true}, wantStatus: []int{429}},
		{name: "5xx", faults: Faults{Fail5xx: 1}, wantStatus: []int{500, 502, 503}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Options{Faults: tc.faults, Seed: 1})
			for range 10 {
				a := do(t, s, http.MethodPut, profilesPath, profilesBody(profile("a")))
				assert.Contains(t, tc.wantStatus, a.status)
				assert.Equal(t, tc.wantRetryAfter, a.header.Get("Retry-After"))
				decodeError(t, a)
			}
			a := do(t, s, http.MethodPost, audiencesPath, dataBody(member("add", 1, "b")))
			assert.Contains(t, tc.wantStatus, a.status)
			a = do(t, s, http.MethodPut, catalog1Path, actionsBody(add("c")))
			assert.Contains(t, tc.wantStatus, a.status)

			st := s.State()
			assert.Empty(t, st.Profiles, "a fault answer is not applied")
			assert.Empty(t, st.Catalogs[1])
			assert.Zero(t, s.Stats().ItemsApplied)
			assert.Equal(t, int64(12), s.Stats().ItemsReceived)
		})
	}
}

func TestCutAfterApply(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		applied                  func(State) bool
	}{
		{"profiles", http.MethodPut, profilesPath, profilesBody(profile("a"), profile("b")), func(st State) bool { return len(st.Profiles) == 2 }},
		{"audiences", http.MethodPost, audiencesPath, dataBody(member("add", 2, "a")), func(st State) bool { return len(st.Audiences[2]) == 1 }},
		{"catalog", http.MethodPut, catalog1Path, actionsBody(add("a")), func(st State) bool { return len(st.Catalogs[1]) == 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Options{Faults: Faults{CutAfterApply: 1}})
			// A fresh connection, so net/http does not silently retry on it.
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			_, err := send(t, client, s.URL(), tc.method, tc.path, tc.body)
			require.Error(t, err)
			assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET), "got %v", err)
			var ne net.Error
			assert.False(t, errors.As(err, &ne) && ne.Timeout(), "not a timeout")

			assert.True(t, tc.applied(s.State()), "the request was applied before the cut")
			st := s.Stats()
			assert.Equal(t, int64(1), st.CutConnections)
			assert.Equal(t, int64(1), st.Requests[0])
			assert.Equal(t, st.ItemsReceived, st.ItemsApplied)
		})
	}
}

func TestCutThenIdempotentRetry(t *testing.T) {
	s := start(t, Options{Faults: Faults{CutAfterApply: 1}, History: true})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	_, err := send(t, client, s.URL(), http.MethodPut, profilesPath, profilesBody(profile("a")), "Idempotency-Key", "batch-1")
	require.Error(t, err)
	s.SetFaults(Faults{})
	a, err := send(t, client, s.URL(), http.MethodPut, profilesPath, profilesBody(profile("a")), "Idempotency-Key", "batch-1")
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, a.status)
	assert.Len(t, s.History(ProfileKey("a")), 1, "applied once")
	assert.Equal(t, int64(1), s.Stats().IdempotentReplays)
}

func TestSetFaultsMidRun(t *testing.T) {
	s := start(t, Options{})
	statuses := func() []int {
		var out []int
		for range 3 {
			out = append(out, do(t, s, http.MethodPut, profilesPath, profilesBody(profile("a"))).status)
		}
		return out
	}
	assert.Equal(t, []int{204, 204, 204}, statuses())
	s.SetFaults(Faults{Fail429: 1})
	assert.Equal(t, []int{429, 429, 429}, statuses())
	s.SetFaults(Faults{Fail429: 7, Fail5xx: -1}) // clamped to a 429 storm
	assert.Equal(t, []int{429, 429, 429}, statuses())
	s.SetFaults(Faults{})
	assert.Equal(t, []int{204, 204, 204}, statuses())
}

func TestSeededFaultsRepeat(t *testing.T) {
	run := func(seed int64) []int {
		s := start(t, Options{Seed: seed, Faults: Faults{Fail429: 0.3, Fail5xx: 0.3}})
		var out []int
		for range 40 {
			out = append(out, do(t, s, http.MethodPut, profilesPath, profilesBody(profile("a"))).status)
		}
		return out
	}
	first := run(42)
	assert.Equal(t, first, run(42), "the same seed gives the same faults")
	assert.Contains(t, first, 204)
	assert.Contains(t, first, 429)
}

func TestFaultPlanShares(t *testing.T) {
	var fs faultState
	fs.init(Faults{Fail429: 0.2, Fail5xx: 0.1, CutAfterApply: 0.5}, 7)
	counts := map[string]int{}
	const n = 20000
	for range n {
		p := fs.plan()
		switch {
		case p.status == 429:
			counts["429"]++
		case p.status >= 500:
			counts["5xx"]++
		case p.cut:
			counts["cut"]++
		}
	}
	assert.InDelta(t, 0.2, float64(counts["429"])/n, 0.02)
	assert.InDelta(t, 0.1, float64(counts["5xx"])/n, 0.02)
	assert.InDelta(t, 0.35, float64(counts["cut"])/n, 0.02, "half of the 70%% applied")
}

// net/http retries a request that carries an Idempotency-Key when a reused
// connection fails (see http.Transport), so on a keep-alive connection a cut
// profiles batch is re-sent at once and answered from the idempotency cache.
// Client code never sees the cut.
func TestCutOnReusedConnectionIsRetriedByNetHTTP(t *testing.T) {
	s := start(t, Options{History: true})
	client := &http.Client{Transport: &http.Transport{}}
	a, err := send(t, client, s.URL(), http.MethodPut, profilesPath, profilesBody(profile("warm-up")))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, a.status)

	s.SetFaults(Faults{CutAfterApply: 1})
	a, err = send(t, client, s.URL(), http.MethodPut, profilesPath, profilesBody(profile("a")), "Idempotency-Key", "k")
	require.NoError(t, err, "net/http retried on a new connection")
	assert.Equal(t, http.StatusNoContent, a.status)
	assert.Len(t, s.History(ProfileKey("a")), 1, "applied once")
	st := s.Stats()
	assert.Equal(t, int64(1), st.CutConnections)
	assert.Equal(t, int64(1), st.IdempotentReplays)
}
