package batch

import (
	"errors"
	"sync/atomic"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/talon"
)

// Stats are the live counters of one run, safe for concurrent use. A
// progress display reads them while the workers update them.
type Stats struct {
	Read      atomic.Int64 // rows read and not already done in an earlier run
	Delivered atomic.Int64 // rows the API confirmed
	Rejected  atomic.Int64 // rows written to the rejects file
	Skipped   atomic.Int64 // rows skipped because an earlier run finished them
	Unchanged atomic.Int64 // rows not sent because the API already holds them
	Batches   atomic.Int64 // batches completed (delivered, partly rejected, or dry-run)
	Requests  atomic.Int64 // HTTP requests sent, retries included
	Retries   atomic.Int64 // requests that were retries
	// Attempted counts rows in batches of which a request was sent:
	// delivered, rejected by the API, or failed. The other rows read were
	// never attempted.
	Attempted   atomic.Int64
	APIRejected atomic.Int64 // rows the API rejected (a subset of Rejected)
	WouldSend   atomic.Int64 // rows a dry run would have sent
	// Merged counts the rows merged into the item of an earlier row of
	// their key (Config.Merge); each still counts as delivered, rejected or
	// failed.
	Merged atomic.Int64
	// ReadOffset is the stream offset where the last row read starts.
	ReadOffset atomic.Int64
	// InFlight is the number of requests being sent now.
	InFlight atomic.Int64
	// Requests by answer (see checkpoint.Answers); they add up to
	// Requests once every request sent has returned.
	Requests2xx, Requests4xx, Requests429, Requests5xx, RequestsTransport atomic.Int64
}

// countAnswer counts one request by the error its Send returned.
func (s *Stats) countAnswer(err error) {
	var apiErr *talon.APIError
	switch {
	case err == nil:
		s.Requests2xx.Add(1)
	case !errors.As(err, &apiErr):
		s.RequestsTransport.Add(1)
	case apiErr.Status == 429:
		s.Requests429.Add(1)
	case apiErr.Status >= 500 && apiErr.Status < 600:
		s.Requests5xx.Add(1)
	default:
		s.Requests4xx.Add(1)
	}
}

// Snapshot returns the counters of this run.
func (s *Stats) Snapshot() checkpoint.Counts {
	return checkpoint.Counts{
		Read:      s.Read.Load(),
		Delivered: s.Delivered.Load(),
		Rejected:  s.Rejected.Load(),
		Unchanged: s.Unchanged.Load(),
		Batches:   s.Batches.Load(),
		Requests:  s.Requests.Load(),
		Retries:   s.Retries.Load(),
		Answers: checkpoint.Answers{
			OK: s.Requests2xx.Load(), ClientError: s.Requests4xx.Load(), RateLimited: s.Requests429.Load(),
			ServerError: s.Requests5xx.Load(), Transport: s.RequestsTransport.Load(),
		},
	}
}
