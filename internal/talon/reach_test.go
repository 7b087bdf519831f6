package talon_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

// TestUnreachable: the failures that mean the API cannot be reached at all
// are recognised, with a cause a user can act on; answers and timeouts are
// not among them.
func TestUnreachable(t *testing.T) {
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	t.Cleanup(tlsSrv.Close)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	t.Cleanup(plain.Close)
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	t.Cleanup(unavailable.Close)
	slowSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client leave
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slowSrv.Close)
	noSuchHost := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.DNSError{Err: "no such host", Name: "acme.example.invalid", IsNotFound: true}
	}}}

	tests := []struct {
		name  string
		base  string
		hc    *http.Client
		cause string // "" for reachable
	}{
		{name: "connection refused", base: closed, cause: "connection refused"},
		{name: "host does not resolve", base: "https://acme.example.invalid", hc: noSuchHost, cause: "does not resolve"},
		{name: "untrusted certificate", base: tlsSrv.URL, cause: "certificate"},
		{name: "plain http on an https URL", base: strings.Replace(plain.URL, "http://", "https://", 1), cause: "HTTP"},
		{name: "an answer: 503", base: unavailable.URL},
		{name: "a timeout", base: slowSrv.URL, hc: &http.Client{Timeout: 50 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hc := tc.hc
			if hc == nil {
				hc = &http.Client{Timeout: 5 * time.Second}
			}
			c, err := talon.New(talon.Config{BaseURL: tc.base, APIKey: "k", HTTPClient: hc})
			require.NoError(t, err)
			err = updateProfiles(t.Context(), c, []talon.Item{profileItem("c1", "")}, true)
			require.Error(t, err)
			cause, ok := talon.Unreachable(err)
			if tc.cause == "" {
				assert.False(t, ok, "%v is not a failure to reach the API (%s)", err, cause)
				return
			}
			require.True(t, ok, "%v", err)
			assert.Contains(t, cause, tc.cause)
			host := strings.TrimSuffix(tc.base, "/")
			assert.Equal(t, host, talon.HostOf(err))
		})
	}
}
