package batch

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/talon"
)

// TestAnswersByClass: every request is counted once by its answer, retries
// included, and the classes add up to Requests. A request the client
// gives up on has no answer; a 400 that isolates a row is a 4xx.
func TestAnswersByClass(t *testing.T) {
	var calls atomic.Int64
	statuses := []int{429, 503, 500, 409, -1, 400, 204}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		status := 204
		if n <= len(statuses) {
			status = statuses[n-1]
		}
		switch status {
		case -1: // no answer: the client times out
			_, _ = io.Copy(io.Discard, r.Body) // the server notices the client leaving once the body is read
			<-r.Context().Done()
			return
		case 429:
			w.Header().Set("Retry-After", "0")
		case 400:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"message":"bad","errors":[{"title":"bad","source":{"pointer":"/customerProfiles/0/attributes"}}]}`)
			return
		}
		w.WriteHeader(status)
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	hc := srv.Client()
	hc.Timeout = time.Second // long enough for the other answers on a loaded machine
	client, err := talon.New(talon.Config{BaseURL: srv.URL, APIKey: "k", HTTPClient: hc})
	require.NoError(t, err)
	res := runAgainst(t, h, profileRows(10), func(c *Config) { c.Lanes, c.Sender = 1, client })
	require.NoError(t, res.err)
	assert.Equal(t, int64(9), res.stats.Delivered.Load())
	assert.Equal(t, int64(1), res.stats.APIRejected.Load())
	want := checkpoint.Answers{OK: 1, ClientError: 2, RateLimited: 1, ServerError: 2, Transport: 1}
	got := res.res.Answers
	assert.Equal(t, want, got)
	assert.Equal(t, res.res.Requests, got.OK+got.ClientError+got.RateLimited+got.ServerError+got.Transport)
	assert.Equal(t, int64(7), res.res.Requests)
}

func TestCountsAddAnswers(t *testing.T) {
	a := checkpoint.Counts{Requests: 3, Answers: checkpoint.Answers{OK: 1, RateLimited: 2}}
	b := checkpoint.Counts{Requests: 2, Answers: checkpoint.Answers{OK: 1, ClientError: 1, ServerError: 0, Transport: 0}}
	assert.Equal(t, checkpoint.Answers{OK: 2, ClientError: 1, RateLimited: 2}, a.Add(b).Answers)
}
