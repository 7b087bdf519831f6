package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// sliceSource serves rows from memory.
type sliceSource struct {
	rows []readers.Row
	i    int
}

func (s *sliceSource) Next() (readers.Row, error) {
	if s.i >= len(s.rows) {
		return readers.Row{}, io.EOF
	}
	s.i++
	return s.rows[s.i-1], nil
}

func profileRows(n int) []readers.Row {
	rows := make([]readers.Row, n)
	for i := range rows {
		id := fmt.Sprintf("p%d", i)
		rows[i] = readers.Row{
			Seq: int64(i), Line: int64(i + 2),
			Item: talon.Item{Key: id, JSON: []byte(fmt.Sprintf(`{"integrationId":%q}`, id))},
		}
	}
	return rows
}

type testRun struct {
	stats   *Stats
	rejects string
	res     Result
	err     error
}

// runAgainst runs the pipeline over rows against a real HTTP server.
func runAgainst(t *testing.T, h http.Handler, rows []readers.Row, mutate func(*Config)) testRun {
	t.Helper()
	return runAgainstCtx(t.Context(), t, h, rows, mutate)
}

// runAgainstCtx is runAgainst with the run's context.
func runAgainstCtx(ctx context.Context, t *testing.T, h http.Handler, rows []readers.Row, mutate func(*Config)) testRun {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	client, err := talon.New(talon.Config{BaseURL: srv.URL, APIKey: "k", HTTPClient: srv.Client()})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "rejects.jsonl")
	rf, err := checkpoint.OpenRejects(path, 0)
	require.NoError(t, err)
	stats := &Stats{}
	cfg := Config{
		Endpoint: talon.EndpointProfiles, Lanes: 2, BatchSize: 1000,
		Retry:  RetryPolicy{MaxRetries: 5, Base: time.Millisecond, Max: 50 * time.Millisecond},
		Sender: client, Rejects: rf, Stats: stats,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	res, err := Run(ctx, &sliceSource{rows: rows}, cfg)
	require.NoError(t, rf.Close(false))
	return testRun{stats: stats, rejects: path, res: res, err: err}
}

// decodeIDs returns the integrationIds of a profiles request body.
func decodeIDs(t *testing.T, r *http.Request) []string {
	var body struct {
		CustomerProfiles []talon.CustomerProfile `json:"customerProfiles"`
	}
	require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
	ids := make([]string, len(body.CustomerProfiles))
	for i, p := range body.CustomerProfiles {
		ids[i] = p.IntegrationID
	}
	return ids
}

func TestIsolateRejectedRows(t *testing.T) {
	bad := map[string]bool{"p7": true, "p500": true, "p999": true}
	tests := []struct {
		name     string
		pointers bool
		// maxRequests bounds the requests isolation may cost.
		maxRequests int64
	}{
		{name: "pointers name the rows", pointers: true, maxRequests: 2 + 1},
		{name: "no pointer: halve until alone", pointers: false, maxRequests: 3 * 2 * 11},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			delivered := map[string]bool{}
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ids := decodeIDs(t, r)
				var errs []string
				for i, id := range ids {
					if bad[id] {
						ptr := ""
						if tc.pointers {
							ptr = fmt.Sprintf(`,"source":{"pointer":"/customerProfiles/%d/attributes/Age"}`, i)
						}
						errs = append(errs, `{"title":"bad Age","details":"not a number"`+ptr+`}`)
					}
				}
				if len(errs) > 0 {
					w.WriteHeader(400)
					fmt.Fprintf(w, `{"message":"invalid request","errors":[%s]}`, strings.Join(errs, ","))
					return
				}
				mu.Lock()
				for _, id := range ids {
					delivered[id] = true
				}
				mu.Unlock()
				w.WriteHeader(204)
			})
			res := runAgainst(t, h, profileRows(1000), func(c *Config) { c.Lanes = 1 })
			require.NoError(t, res.err)
			assert.Len(t, delivered, 997, "a bad row never costs its neighbours")
			for id := range bad {
				assert.False(t, delivered[id])
			}
			assert.Equal(t, int64(3), res.stats.Rejected.Load())
			assert.LessOrEqual(t, res.stats.Requests.Load(), tc.maxRequests)
			var lines []float64
			for _, line := range strings.Split(strings.TrimSpace(readFile(t, res.rejects)), "\n") {
				var rej map[string]any
				require.NoError(t, json.Unmarshal([]byte(line), &rej))
				lines = append(lines, rej["line"].(float64))
				assert.Contains(t, rej["error"], "400")
				assert.NotNil(t, rej["record"])
			}
			assert.ElementsMatch(t, []float64{9, 502, 1001}, lines, "rejects carry the input line (row seq + 2)")
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestRetryTransientThenDeliver(t *testing.T) {
	var calls atomic.Int64
	statuses := []int{429, 503, 409, 500}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if int(n) <= len(statuses) {
			if statuses[n-1] == 429 {
				w.Header().Set("Retry-After", "0")
			}
			w.WriteHeader(statuses[n-1])
			fmt.Fprint(w, `{"message":"try later"}`)
			return
		}
		w.WriteHeader(204)
	})
	res := runAgainst(t, h, profileRows(10), func(c *Config) { c.Lanes = 1 })
	require.NoError(t, res.err)
	assert.Equal(t, int64(10), res.stats.Delivered.Load())
	assert.Equal(t, int64(4), res.stats.Retries.Load())
	assert.Equal(t, int64(5), res.stats.Requests.Load())
}

func TestRetriesExhaustedStopsTheRun(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	res := runAgainst(t, h, profileRows(3000), func(c *Config) {
		c.Lanes = 1
		c.BatchSize = 100
		c.Retry.MaxRetries = 2
	})
	require.ErrorIs(t, res.err, ErrRetriesExhausted)
	assert.Equal(t, int64(3), res.stats.Requests.Load(), "no later batch of the lane is sent after the retries run out")
	assert.Zero(t, res.stats.Delivered.Load())
}

func TestFatalStopsWithoutRetry(t *testing.T) {
	for _, status := range []int{401, 403, 404} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"message":"no","StatusCode":%d}`, status)
			})
			res := runAgainst(t, h, profileRows(5000), func(c *Config) { c.Lanes = 4; c.BatchSize = 100 })
			var apiErr *talon.APIError
			require.ErrorAs(t, res.err, &apiErr)
			assert.Equal(t, status, apiErr.Status)
			assert.LessOrEqual(t, res.stats.Requests.Load(), int64(4), "at most one request per lane")
			assert.Zero(t, res.stats.Retries.Load())
		})
	}
}

func TestRetryAfterIsTheFloor(t *testing.T) {
	p := RetryPolicy{Base: time.Millisecond, Max: time.Minute}.withDefaults()
	for attempt := 1; attempt < 5; attempt++ {
		d := p.Backoff(attempt, 2*time.Second)
		assert.GreaterOrEqual(t, d, 2*time.Second)
	}
	d := p.Backoff(30, 0)
	assert.LessOrEqual(t, d, time.Minute, "capped")
	d = p.Backoff(3, 0)
	assert.True(t, d >= 2*time.Millisecond && d <= 4*time.Millisecond, "equal jitter around base*2^(n-1): %v", d)
}

// Test429HoldsOnlyItsRequest: a 429's Retry-After is the floor of that
// request's retry; the other lanes go on at the pace the pacer allows
// instead of all stopping for the whole Retry-After.
func Test429HoldsOnlyItsRequest(t *testing.T) {
	var mu sync.Mutex
	var t429 time.Time
	var times []time.Time
	var retriedAt time.Time
	var firstID string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids := decodeIDs(t, r)
		mu.Lock()
		now := time.Now()
		times = append(times, now)
		first := t429.IsZero()
		if first {
			t429, firstID = now, ids[0]
		} else if ids[0] == firstID {
			retriedAt = now
		}
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			return
		}
		time.Sleep(20 * time.Millisecond)
		w.WriteHeader(204)
	})
	res := runAgainst(t, h, profileRows(4000), func(c *Config) {
		c.Lanes = 4
		c.BatchSize = 100
		c.Retry.Max = 5 * time.Second
	})
	require.NoError(t, res.err)
	mu.Lock()
	defer mu.Unlock()
	during := 0
	for _, tm := range times {
		if d := tm.Sub(t429); d > 100*time.Millisecond && d < 900*time.Millisecond {
			during++
		}
	}
	assert.Positive(t, during, "the other lanes sent while the throttled request waited")
	require.False(t, retriedAt.IsZero(), "the throttled request was retried")
	assert.GreaterOrEqual(t, retriedAt.Sub(t429), time.Second, "the throttled request waits its Retry-After")
	assert.Equal(t, int64(4000), res.stats.Delivered.Load())
}

func TestIdempotencyKey(t *testing.T) {
	mk := func(line int64, json string) []readers.Row {
		return []readers.Row{{Line: line, Item: talon.Item{Key: "A", JSON: []byte(json)}}}
	}
	a1 := idempotencyKey("run1", mk(2, `{"integrationId":"A","attributes":{"x":1}}`))
	assert.Equal(t, a1, idempotencyKey("run1", mk(2, `{"integrationId":"A","attributes":{"x":1}}`)), "a retry or a resumed re-send carries the same key")
	assert.NotEqual(t, a1, idempotencyKey("run1", mk(4, `{"integrationId":"A","attributes":{"x":1}}`)),
		"A=1, A=2, A=1: the third request is not answered from the cache of the first")
	assert.NotEqual(t, a1, idempotencyKey("run2", mk(2, `{"integrationId":"A","attributes":{"x":1}}`)), "a new run applies again")
	assert.LessOrEqual(t, len(a1), 255)
}
