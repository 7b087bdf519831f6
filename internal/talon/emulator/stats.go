package emulator

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Stats is a snapshot of the API request counters. Inspection requests
// (/emulator/...) are not counted.
type Stats struct {
	// Requests counts answers by HTTP status. Cut connections count under 0,
	// requests whose client went away during the latency under 499.
	Requests map[int]int64 `json:"requests"`
	// RequestsTotal counts every API request, answered or not.
	RequestsTotal int64 `json:"requests_total"`
	// ItemsReceived counts the items of requests whose array could be read.
	ItemsReceived int64 `json:"items_received"`
	// ItemsApplied counts the items of applied requests, including requests
	// applied and then cut.
	ItemsApplied int64 `json:"items_applied"`
	// MaxInFlight is the largest number of API requests served at once.
	MaxInFlight int64 `json:"max_in_flight"`
	// Conflicts counts 409 answers.
	Conflicts int64 `json:"conflicts"`
	// CutConnections counts connections closed after apply without an answer.
	CutConnections int64 `json:"cut_connections"`
	// IdempotentReplays counts answers replayed for a known Idempotency-Key.
	IdempotentReplays int64 `json:"idempotent_replays"`
	// RateLimited counts the 429s of the rate limit (Faults.RateLimit);
	// Requests[429] also holds Fail429's.
	RateLimited int64 `json:"rate_limited"`
	// Queued is the number of requests waiting for a place in processing
	// now (Faults.Capacity); MaxQueued the most that waited at once.
	Queued    int64 `json:"queued"`
	MaxQueued int64 `json:"max_queued"`
}

// counters are the live counters behind Stats.
type counters struct {
	mu       sync.Mutex
	byStatus map[int]int64

	total, received, applied, conflicts, cuts, replays, rateLimited atomic.Int64
	inFlight, maxInFlight                                           atomic.Int64
}

func (c *counters) reset() {
	c.mu.Lock()
	c.byStatus = make(map[int]int64)
	c.mu.Unlock()
	for _, v := range []*atomic.Int64{&c.total, &c.received, &c.applied, &c.conflicts, &c.cuts, &c.replays, &c.rateLimited, &c.maxInFlight} {
		v.Store(0)
	}
}

// begin counts an API request entering the server.
func (c *counters) begin() {
	c.total.Add(1)
	n := c.inFlight.Add(1)
	for {
		m := c.maxInFlight.Load()
		if n <= m || c.maxInFlight.CompareAndSwap(m, n) {
			return
		}
	}
}

// end counts an API request leaving the server.
func (c *counters) end() { c.inFlight.Add(-1) }

// record counts one answer with status (0 for a cut connection).
func (c *counters) record(status int) {
	c.mu.Lock()
	c.byStatus[status]++
	c.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	c.mu.Lock()
	byStatus := maps.Clone(c.byStatus)
	c.mu.Unlock()
	queued, maxQueued := s.capacity.queued()
	return Stats{
		Requests:          byStatus,
		RequestsTotal:     c.total.Load(),
		ItemsReceived:     c.received.Load(),
		ItemsApplied:      c.applied.Load(),
		MaxInFlight:       c.maxInFlight.Load(),
		Conflicts:         c.conflicts.Load(),
		CutConnections:    c.cuts.Load(),
		IdempotentReplays: c.replays.Load(),
		RateLimited:       c.rateLimited.Load(),
		Queued:            int64(queued),
		MaxQueued:         int64(maxQueued),
	}
}
