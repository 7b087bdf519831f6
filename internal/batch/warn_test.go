package batch

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// closedURL is a loopback address where nothing listens.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

// TestRunUnreachableStopsSoon: when no request of the run ever reaches the
// API, the run stops after Config.Unreachable with an error naming the host
// and the cause, however many retries the policy allows.
func TestRunUnreachableStopsSoon(t *testing.T) {
	base := closedURL(t)
	client, err := talon.New(talon.Config{BaseURL: base, APIKey: "k"})
	require.NoError(t, err)
	rf := newRejects(t)
	start := time.Now()
	res, err := Run(t.Context(), &sliceSource{rows: profileRows(500)}, Config{
		Endpoint: talon.EndpointProfiles, Lanes: 2, BatchSize: 100, Sender: client, Rejects: rf,
		Retry: RetryPolicy{MaxRetries: 50, Base: 100 * time.Millisecond}, Unreachable: 400 * time.Millisecond,
	})
	var ue *UnreachableError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, base, ue.Host)
	assert.Contains(t, ue.Error(), "connection refused")
	assert.Less(t, time.Since(start), 5*time.Second, "50 retries with backoff would take minutes")
	assert.Equal(t, int64(200), res.Failed(), "the rows of the two requests tried")
	assert.Equal(t, int64(300), res.NotAttempted())
}

// TestRunOutageAfterSuccessIsRetried: once a request got an answer, a
// failure to connect is an outage, retried up to the policy's limit.
func TestRunOutageAfterSuccessIsRetried(t *testing.T) {
	var n atomic.Int64
	base := closedURL(t)
	down, err := talon.New(talon.Config{BaseURL: base, APIKey: "k"})
	require.NoError(t, err)
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	res := runAgainst(t, up, profileRows(300), func(c *Config) {
		c.Lanes, c.BatchSize = 1, 100
		c.Retry = RetryPolicy{MaxRetries: 3, Base: time.Millisecond}
		c.Unreachable = time.Millisecond
		ok := c.Sender
		c.Sender = senderFunc(func(b talon.Batch) error {
			if n.Add(1) == 1 {
				return ok.Send(t.Context(), b)
			}
			return down.Send(t.Context(), b)
		})
	})
	assert.ErrorIs(t, res.err, ErrRetriesExhausted, "after a success the policy's retries apply")
	assert.Equal(t, int64(1+4), res.stats.Requests.Load())
	assert.Equal(t, int64(100), res.stats.Delivered.Load())
}

type senderFunc func(b talon.Batch) error

func (f senderFunc) Send(_ context.Context, b talon.Batch) error { return f(b) }

// TestRetryWarningsAreRateLimited: every retry is logged at debug level; a
// warning at most every WarnEvery counts the retries since the last one.
func TestRetryWarningsAreRateLimited(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	r := &run{cfg: Config{Endpoint: talon.EndpointProfiles, WarnEvery: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(&buf, nil)), Now: func() time.Time { return now }}}
	for i := range 10 {
		r.warnRetry(i+1, time.Second, fmt.Errorf("503 service unavailable"))
		now = now.Add(time.Second)
	}
	warnings := strings.Count(buf.String(), "level=WARN")
	assert.Equal(t, 2, warnings, buf.String())
	assert.Contains(t, buf.String(), "and 4 more retries since the last warning")
}

// TestUnknownAudienceStopsTheRun: a 400 that names an item's audienceId
// means the audience does not exist; the run stops instead of rejecting
// every row of it.
func TestUnknownAudienceStopsTheRun(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		fmt.Fprint(w, `{"message":"bad request","errors":[{"title":"unknown audience","details":"no audience with id 7","source":{"pointer":"/data/0/audienceId"}}]}`)
	})
	rows := make([]readers.Row, 50)
	for i := range rows {
		id := fmt.Sprintf("m%d", i)
		idJSON, _ := talon.AppendString(nil, id)
		rows[i] = readers.Row{Seq: int64(i), Line: int64(i + 2), Item: talon.Item{
			Key: talon.MembershipKey(7, id), JSON: talon.AppendAudienceAction(nil, idJSON, 7, false)}}
	}
	res := runAgainst(t, h, rows, func(c *Config) { c.Endpoint, c.Lanes = talon.EndpointAudiences, 1 })
	var ue *UnknownAudienceError
	require.ErrorAs(t, res.err, &ue)
	assert.Equal(t, "7", ue.AudienceID)
	assert.Zero(t, res.stats.Rejected.Load(), "no row is rejected for it")
	assert.Equal(t, int64(1), res.stats.Requests.Load())
}

// newRejects opens a rejects file in a temp dir, closed at the end.
func newRejects(t *testing.T) *checkpoint.RejectsFile {
	t.Helper()
	rf, err := checkpoint.OpenRejects(filepath.Join(t.TempDir(), "rejects.jsonl"), 0)
	require.NoError(t, err)
	t.Cleanup(func() { rf.Close(false) })
	return rf
}
