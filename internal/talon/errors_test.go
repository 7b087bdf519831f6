package talon_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

func TestStatusClasses(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		wantClass  talon.Class
		wantMsg    string
		wantIdx    []int
		wantField  string
		wantRetry  time.Duration
		wantErrStr string
	}{
		{name: "200", status: 200, body: `{"id":1}`},
		{name: "204", status: 204},
		{name: "400 with pointers", status: 400,
			body: `{"message":"Invalid request","errors":[
				{"title":"bad type","details":"Age must be a number","source":{"pointer":"/customerProfiles/7/attributes/Age"}},
				{"title":"bad type","details":"x","source":{"pointer":"/customerProfiles/3/attributes/Age"}},
				{"title":"dup","source":{"pointer":"/customerProfiles/7/integrationId"}}]}`,
			wantClass: talon.ClassItem, wantMsg: "Invalid request", wantIdx: []int{3, 7}, wantField: "attributes/Age",
			wantErrStr: "updateCustomerProfilesV2: 400 bad request: Invalid request (items 3, 7)"},
		{name: "400 without pointers", status: 400,
			body:      `{"message":"Invalid request","errors":[{"title":"unknown attribute","details":"attribute Foo does not exist","source":{"parameter":"body"}}]}`,
			wantClass: talon.ClassItem, wantMsg: "Invalid request",
			wantErrStr: "updateCustomerProfilesV2: 400 bad request: Invalid request: attribute Foo does not exist"},
		{name: "401", status: 401, body: `{"message":"unauthorized - check your API key","StatusCode":401}`,
			wantClass: talon.ClassFatal, wantMsg: "unauthorized - check your API key"},
		{name: "403", status: 403, wantClass: talon.ClassFatal, wantMsg: "forbidden",
			wantErrStr: "updateCustomerProfilesV2: 403 forbidden"},
		{name: "404", status: 404, body: `{"message":"not found","StatusCode":404}`, wantClass: talon.ClassFatal, wantMsg: "not found"},
		{name: "409", status: 409, body: `{"message":"conflict"}`, wantClass: talon.ClassRetryable, wantMsg: "conflict"},
		{name: "413", status: 413, body: "request entity too large", wantClass: talon.ClassItem, wantMsg: "request entity too large"},
		{name: "422", status: 422, body: `{}`, wantClass: talon.ClassItem, wantMsg: "unprocessable entity"},
		{name: "429 retry-after seconds", status: 429, header: map[string]string{"Retry-After": "7"},
			wantClass: talon.ClassRetryable, wantMsg: "too many requests", wantRetry: 7 * time.Second},
		{name: "429 retry-after http-date", status: 429,
			header:    map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)},
			wantClass: talon.ClassRetryable, wantMsg: "too many requests", wantRetry: 90 * time.Second},
		{name: "429 retry-after in the past", status: 429,
			header:    map[string]string{"Retry-After": now.Add(-time.Hour).Format(http.TimeFormat)},
			wantClass: talon.ClassRetryable, wantMsg: "too many requests"},
		{name: "429 retry-after garbage", status: 429, header: map[string]string{"Retry-After": "soon"},
			wantClass: talon.ClassRetryable, wantMsg: "too many requests"},
		{name: "500", status: 500, body: `{"message":"internal error"}`, wantClass: talon.ClassRetryable, wantMsg: "internal error"},
		{name: "502 html", status: 502, body: "<html>\n  <body>Bad   Gateway</body>\n</html>\n",
			wantClass: talon.ClassRetryable, wantMsg: "<html> <body>Bad Gateway</body> </html>"},
		{name: "503 truncated json", status: 503, header: map[string]string{"Retry-After": "2"}, body: `{"message":"down for maint`,
			wantClass: talon.ClassRetryable, wantMsg: `{"message":"down for maint`, wantRetry: 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			c := newClient(t, srv.URL, func(cfg *talon.Config) { cfg.Now = func() time.Time { return now } })
			err := c.Send(context.Background(), talon.Batch{Endpoint: talon.EndpointProfiles, Items: slices.Repeat([]talon.Item{profileItem("", "")}, 10)})
			if tc.wantClass == 0 {
				require.NoError(t, err)
				return
			}
			var apiErr *talon.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.Status)
			assert.Equal(t, talon.EndpointProfiles, apiErr.Endpoint)
			assert.Equal(t, tc.wantClass, apiErr.Class)
			assert.Equal(t, tc.wantClass, talon.ClassOf(err))
			assert.Equal(t, tc.wantMsg, apiErr.Message)
			assert.Equal(t, tc.wantIdx, apiErr.ItemIndexes())
			assert.Equal(t, tc.wantRetry, apiErr.RetryAfter)
			if tc.wantField != "" {
				assert.Equal(t, tc.wantField, apiErr.Details[0].Field)
			}
			if tc.wantErrStr != "" {
				assert.Equal(t, tc.wantErrStr, err.Error())
			}
		})
	}
}

func TestTransportFailures(t *testing.T) {
	hijack := func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if assert.NoError(t, err) {
			_ = conn.Close()
		}
	}
	halfAnswer := func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if assert.NoError(t, err) {
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Len")
			_ = buf.Flush()
			_ = conn.Close()
		}
	}
	hang := func(w http.ResponseWriter, r *http.Request) { waitForClient(r) }
	tests := []struct {
		name    string
		handler http.HandlerFunc
		timeout time.Duration
	}{
		{"connection cut before answer", hijack, 0},
		{"connection cut inside the status line", halfAnswer, 0},
		{"client timeout", hang, 50 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			c := newClient(t, srv.URL, func(cfg *talon.Config) {
				if tc.timeout > 0 {
					cfg.HTTPClient = &http.Client{Timeout: tc.timeout}
				}
			})
			err := syncCatalog(context.Background(), c, 1, removeItems)
			var te *talon.TransportError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, talon.EndpointCatalog, te.Endpoint)
			assert.Equal(t, talon.ClassRetryable, talon.ClassOf(err))
			assert.True(t, strings.HasPrefix(err.Error(), "syncCatalog: send: "), err.Error())
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		err := syncCatalog(context.Background(), newClient(t, url), 1, removeItems)
		assert.Equal(t, talon.ClassRetryable, talon.ClassOf(err))
	})
}

func TestCallerContext(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		waitForClient(r)
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL)

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-arrived; cancel() }()
		err := syncCatalog(ctx, c, 1, removeItems)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, talon.ClassFatal, talon.ClassOf(err))
		var te *talon.TransportError
		assert.False(t, errors.As(err, &te))
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := syncCatalog(ctx, c, 1, removeItems)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, talon.ClassFatal, talon.ClassOf(err))
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.ErrorIs(t, syncCatalog(ctx, c, 1, removeItems), context.Canceled)
	})
}

// TestHugeErrorBody checks that a 50 MiB error body is neither read whole
// nor waited for.
func TestHugeErrorBody(t *testing.T) {
	const total = 50 << 20
	written := make(chan int, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		n, _ := io.WriteString(w, `{"message":"`)
		chunk := []byte(strings.Repeat("x", 1<<20))
		for n < total {
			m, err := w.Write(chunk)
			n += m
			if err != nil {
				break
			}
		}
		written <- n
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := syncCatalog(context.Background(), c, 1, removeItems)
	runtime.ReadMemStats(&after)

	var apiErr *talon.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, talon.ClassItem, apiErr.Class)
	assert.LessOrEqual(t, len(apiErr.Message), 520)
	assert.True(t, strings.HasPrefix(apiErr.Message, `{"message":"xxx`), apiErr.Message[:20])
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(24<<20), "bytes allocated while sending")
	select {
	case n := <-written:
		assert.Less(t, n, total, "the client stopped reading")
	case <-time.After(30 * time.Second):
		t.Fatal("the server is still writing: the connection was not closed")
	}
}

func TestClassOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want talon.Class
	}{
		{"nil", nil, 0},
		{"api error", &talon.APIError{Class: talon.ClassItem}, talon.ClassItem},
		{"wrapped api error", errors.Join(errors.New("x"), &talon.APIError{Class: talon.ClassRetryable}), talon.ClassRetryable},
		{"transport", &talon.TransportError{Err: io.ErrUnexpectedEOF}, talon.ClassRetryable},
		{"canceled", context.Canceled, talon.ClassFatal},
		{"deadline", context.DeadlineExceeded, talon.ClassFatal},
		{"other", errors.New("x"), talon.ClassFatal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, talon.ClassOf(tc.err))
		})
	}
	assert.Equal(t, "retryable", talon.ClassRetryable.String())
	assert.Equal(t, "fatal", talon.ClassFatal.String())
	assert.Equal(t, "item", talon.ClassItem.String())
}

// waitForClient blocks until the client goes away. The server notices a
// closed connection only once the request body has been read.
func waitForClient(r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}
