package batch

import "sync/atomic"

// Stats are the live counters of one run, safe for concurrent use. A progress
// display reads them while workers update them.
type Stats struct {
	Read      atomic.Int64 // rows read and not already done in an earlier run
	Delivered atomic.Int64 // rows the API confirmed
	Rejected  atomic.Int64 // rows written to the rejects file
	Skipped   atomic.Int64 // rows skipped because an earlier run finished them
	Unchanged atomic.Int64 // rows not sent because the API already holds them
	Batches   atomic.Int64 // batches completed (delivered, partly rejected, or dry-run)
	Requests  atomic.Int64 // HTTP requests sent, retries included
	Retries   atomic.Int64 // requests that were retries
}

// Counts is a plain snapshot of Stats.
type Counts struct {
	Read      int64 `json:"read"`
	Delivered int64 `json:"delivered"`
	Rejected  int64 `json:"rejected"`
	Unchanged int64 `json:"unchanged,omitempty"`
	Batches   int64 `json:"batches"`
	Requests  int64 `json:"requests"`
	Retries   int64 `json:"retries"`
}

// Snapshot returns the counters of this run.
func (s *Stats) Snapshot() Counts {
	return Counts{
		Read:      s.Read.Load(),
		Delivered: s.Delivered.Load(),
		Rejected:  s.Rejected.Load(),
		Unchanged: s.Unchanged.Load(),
		Batches:   s.Batches.Load(),
		Requests:  s.Requests.Load(),
		Retries:   s.Retries.Load(),
	}
}

// Add returns the sum of two snapshots.
func (c Counts) Add(o Counts) Counts {
	return Counts{
		Read:      c.Read + o.Read,
		Delivered: c.Delivered + o.Delivered,
		Rejected:  c.Rejected + o.Rejected,
		Unchanged: c.Unchanged + o.Unchanged,
		Batches:   c.Batches + o.Batches,
		Requests:  c.Requests + o.Requests,
		Retries:   c.Retries + o.Retries,
	}
}
