package batch

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// gatedSender holds every request until the test releases it, by the lane
// of its first item.
type gatedSender struct {
	lanes int
	mu    sync.Mutex
	gates map[int]chan struct{}
	begun chan int // the lane of each request begun
}

func (s *gatedSender) Send(ctx context.Context, b talon.Batch) error {
	lane := int(hashKey(b.Items[0].Key) % uint64(s.lanes))
	s.mu.Lock()
	gate := s.gates[lane]
	s.mu.Unlock()
	s.begun <- lane
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release lets every request of lane go, from now on.
func (s *gatedSender) release(lane int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.gates[lane])
}

// TestNextBatchWaitsWhileRequestsAreInFlight: the queue budget counts the
// batches waiting for their lane, not those in flight. With more lanes
// than the budget's spare places, every lane still has its next batch
// queued while its request is in flight, so a lane whose request ends
// sends again at once instead of waiting for the chunker (which a budget
// full of requests in flight held back: 3.3 s instead of 2.7 s for 104
// requests at 200 ms over 8 lanes).
func TestNextBatchWaitsWhileRequestsAreInFlight(t *testing.T) {
	// 12 lanes of 2 batches of 32 rows: 768 rows, three whole blocks of the
	// reader, so every row reaches the chunker before the input blocks.
	const lanes, size = 12, 32
	// Two full batches per lane, the second ones in lane order after all
	// the first ones: the last lane's second batch is the last one formed.
	perLane := make([][]string, lanes)
	for i := 0; !full(perLane, 2*size); i++ {
		k := fmt.Sprintf("k%d", i)
		l := int(hashKey(k) % lanes)
		if len(perLane[l]) < 2*size {
			perLane[l] = append(perLane[l], k)
		}
	}
	var rows []readers.Row
	for round := range 2 {
		for l := range lanes {
			for _, k := range perLane[l][round*size : (round+1)*size] {
				rows = append(rows, readers.Row{Seq: int64(len(rows)), Line: int64(len(rows) + 2),
					Item: talon.Item{Key: k, JSON: fmt.Appendf(nil, `{"integrationId":%q}`, k)}})
			}
		}
	}
	require.Zero(t, len(rows)%blockSize)

	s := &gatedSender{lanes: lanes, gates: map[int]chan struct{}{}, begun: make(chan int, 4*lanes)}
	for l := range lanes {
		s.gates[l] = make(chan struct{})
	}
	done := make(chan error, 1)
	src := &blockingSource{sliceSource: sliceSource{rows: rows}, hold: make(chan struct{})}
	go func() {
		_, err := Run(t.Context(), src, Config{Endpoint: talon.EndpointProfiles, Lanes: lanes, BatchSize: size,
			Retry:  RetryPolicy{MaxRetries: 1, Base: time.Millisecond, Max: time.Millisecond},
			Sender: s, Rejects: newRejects(t), Stats: &Stats{}})
		done <- err
	}()
	for range lanes {
		<-s.begun // every lane's first request is in flight
	}
	last := lanes - 1
	s.release(last)
	select {
	case l := <-s.begun:
		assert.Equal(t, last, l, "the released lane sends its queued batch")
	case <-time.After(10 * time.Second):
		t.Fatal("the lane whose request ended got no next batch while the others are in flight")
	}
	for l := range last {
		s.release(l)
	}
	close(src.hold)
	require.NoError(t, <-done)
}

func full(perLane [][]string, n int) bool {
	for _, ks := range perLane {
		if len(ks) < n {
			return false
		}
	}
	return true
}

// blockingSource yields its rows, then blocks until hold is closed before
// it ends: the input has not ended, so no batch is flushed early.
type blockingSource struct {
	sliceSource
	hold chan struct{}
}

func (s *blockingSource) Next() (readers.Row, error) {
	if s.i == len(s.rows) {
		<-s.hold
	}
	return s.sliceSource.Next()
}
