package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
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

// holdingServer answers 204 to every request after holding it until
// release is closed; started is signalled once per request received.
func holdingServer(started chan<- struct{}, release <-chan struct{}, requests *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices a client that went away only once the body
		// is read.
		_, _ = io.Copy(io.Discard, r.Body)
		requests.Add(1)
		started <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// TestRunGracefulStop: cancelling the context stops the run: the requests
// in flight finish and count, no new request is sent, and Run returns
// ErrInterrupted with every row accounted for as delivered or not done.
func TestRunGracefulStop(t *testing.T) {
	started := make(chan struct{}, 16)
	release := make(chan struct{})
	var requests atomic.Int64
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan testRun, 1)
	go func() {
		done <- runAgainstCtx(ctx, t, holdingServer(started, release, &requests), profileRows(5000), func(c *Config) {
			c.Lanes, c.BatchSize, c.Grace = 2, 100, 10*time.Second
		})
	}()
	<-started
	<-started // both lanes have a request in flight
	cancel()
	time.Sleep(50 * time.Millisecond) // the stop reaches every lane first
	close(release)
	r := <-done
	res := r.res
	assert.ErrorIs(t, r.err, ErrInterrupted)
	assert.Equal(t, int64(2), requests.Load(), "no request is sent after the stop")
	assert.Equal(t, int64(200), res.Delivered, "the two requests in flight finished and count")
	assert.False(t, res.GraceExpired)
	assert.LessOrEqual(t, res.Read, int64(5000))
}

// TestRunGraceExpires: requests still in flight when the grace period ends
// are cancelled; their rows are not confirmed.
func TestRunGraceExpires(t *testing.T) {
	started := make(chan struct{}, 16)
	release := make(chan struct{}) // never closed: the server holds every request
	var requests atomic.Int64
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan testRun, 1)
	go func() {
		done <- runAgainstCtx(ctx, t, holdingServer(started, release, &requests), profileRows(1000), func(c *Config) {
			c.Lanes, c.BatchSize, c.Grace = 1, 100, 100*time.Millisecond
		})
	}()
	<-started
	stopped := time.Now()
	cancel()
	var r testRun
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the grace period did not end the run")
	}
	res := r.res
	assert.ErrorIs(t, r.err, ErrInterrupted)
	assert.Less(t, time.Since(stopped), 5*time.Second)
	assert.True(t, res.GraceExpired, "the result says the grace ran out")
	assert.Zero(t, res.Delivered)
	assert.Equal(t, int64(1), requests.Load())
}

// TestRunBarrierWaitsForLanes: a bulk batch is sent only after every batch
// before it is done, and every batch after it waits for it.
func TestRunBarrierWaitsForLanes(t *testing.T) {
	var mu sync.Mutex
	var log []string
	inFlight := 0
	var overlapped bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Actions []struct {
				Type    string          `json:"type"`
				Payload json.RawMessage `json:"payload"`
			} `json:"actions"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		mu.Lock()
		inFlight++
		typ := body.Actions[0].Type
		if typ == "PATCH_MANY" && inFlight > 1 {
			overlapped = true
		}
		for _, a := range body.Actions {
			var p struct {
				SKU string `json:"sku"`
			}
			require.NoError(t, json.Unmarshal(a.Payload, &p))
			log = append(log, typ+":"+p.SKU[:min(len(p.SKU), 1)])
		}
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, `{"id":1}`)
	})
	var rows []readers.Row
	add := func(key string, typ talon.ActionType, payload string) {
		rows = append(rows, readers.Row{Seq: int64(len(rows)), Line: int64(len(rows) + 2), Item: talon.Item{
			Key: key, Type: typ, JSON: []byte(`{"type":"` + string(typ) + `","payload":` + payload + `}`)}})
	}
	for i := range 400 {
		add(fmt.Sprintf("s%d", i), talon.ActionAdd, fmt.Sprintf(`{"sku":"s%d"}`, i))
	}
	add("", talon.ActionPatchMany, `{"filters":[{"attr":"a","op":"EQ","value":1}],"price":1}`)
	for i := range 400 {
		add(fmt.Sprintf("t%d", i), talon.ActionAdd, fmt.Sprintf(`{"sku":"t%d"}`, i))
	}
	res := runAgainst(t, h, rows, func(c *Config) {
		c.Endpoint, c.CatalogID, c.Lanes, c.BatchSize = talon.EndpointCatalog, 1, 4, 50
	})
	require.NoError(t, res.err)
	assert.False(t, overlapped, "the bulk request was in flight with another")
	joined := strings.Join(log, " ")
	i := strings.Index(joined, "PATCH_MANY")
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, 400, strings.Count(joined[:i], "ADD:s"), "every earlier row before the barrier")
	assert.Equal(t, 400, strings.Count(joined[i:], "ADD:t"), "every later row after it")
	assert.Equal(t, int64(801), res.stats.Delivered.Load())
}

// TestRunCheckpoints: a checkpointed run writes a final checkpoint that
// covers every row and is marked completed only when asked.
func TestRunCheckpoints(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, complete := range []bool{true, false} {
		t.Run(fmt.Sprint("complete=", complete), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "run.ckpt")
			prior := checkpoint.Counts{Read: 7, Delivered: 7, Requests: 1}
			res := runAgainst(t, ok, profileRows(300), func(c *Config) {
				c.Lanes, c.BatchSize = 1, 100
				c.Checkpoint = &Checkpointing{Path: path, Complete: complete,
					Record: checkpoint.Record{RunID: "r1", Runs: 2, Counts: prior}}
			})
			require.NoError(t, res.err)
			cp, err := checkpoint.Read(path)
			require.NoError(t, err)
			assert.Equal(t, complete, cp.Completed)
			assert.Equal(t, "r1", cp.RunID)
			assert.Equal(t, int64(307), cp.Counts.Delivered, "the earlier runs' counts plus this run's")
			assert.Equal(t, int64(307), cp.Counts.Read)
			assert.Equal(t, int64(1+3), cp.Counts.Requests)
		})
	}
}

// TestRunNeedsRejects: a Config without a rejects file is refused before
// anything starts.
func TestRunNeedsRejects(t *testing.T) {
	_, err := Run(t.Context(), &sliceSource{}, Config{})
	assert.ErrorContains(t, err, "Rejects is required")
}
