package emulator

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRouting(t *testing.T) {
	s := start(t, Options{})
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantAllow  string
		wantParam  string
	}{
		{name: "unknown path", method: http.MethodPut, path: "/v2/customer_profile", wantStatus: 404},
		{name: "root", method: http.MethodGet, path: "/", wantStatus: 404},
		{name: "catalog without id", method: http.MethodPut, path: "/v1/catalogs//sync", wantStatus: 404},
		{name: "catalog nested path", method: http.MethodPut, path: "/v1/catalogs/1/2/sync", wantStatus: 404},
		{name: "profiles with POST", method: http.MethodPost, path: profilesPath, wantStatus: 405, wantAllow: "PUT"},
		{name: "audiences with PUT", method: http.MethodPut, path: audiencesPath, wantStatus: 405, wantAllow: "POST"},
		{name: "catalog with POST", method: http.MethodPost, path: catalog1Path, wantStatus: 405, wantAllow: "PUT"},
		{name: "catalog id not an integer", method: http.MethodPut, path: "/v1/catalogs/abc/sync", wantStatus: 400, wantParam: "catalogId"},
		{name: "catalog id zero", method: http.MethodPut, path: "/v1/catalogs/0/sync", wantStatus: 400, wantParam: "catalogId"},
		{name: "unknown catalog", method: http.MethodPut, path: "/v1/catalogs/99/sync", wantStatus: 404, wantParam: "catalogId"},
		{name: "unknown silent value", method: http.MethodPut, path: profilesPath + "?silent=maybe", wantStatus: 400, wantParam: "silent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, s, tc.method, tc.path, profilesBody(profile("p")))
			require.Equal(t, tc.wantStatus, a.status, "body %s", a.body)
			e := decodeError(t, a)
			assert.Equal(t, tc.wantAllow, a.header.Get("Allow"))
			if tc.wantStatus == 404 {
				assert.Equal(t, 404, e.StatusCode)
			}
			if tc.wantParam != "" {
				require.Len(t, e.Errors, 1)
				require.NotNil(t, e.Errors[0].Source)
				assert.Equal(t, tc.wantParam, e.Errors[0].Source.Parameter)
			}
		})
	}
	t.Run("unknown catalog message", func(t *testing.T) {
		a := do(t, s, http.MethodPut, "/v1/catalogs/99/sync", actionsBody(`{"type":"REMOVE","payload":{"sku":"a"}}`))
		assert.Equal(t, "catalog not found", decodeError(t, a).Message)
	})
}

func TestAuth(t *testing.T) {
	s := start(t, Options{APIKey: "secret"})
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{name: "missing", header: "", want: 401},
		{name: "wrong key", header: "ApiKey-v1 emulator-key", want: 401},
		{name: "wrong scheme", header: "Bearer secret", want: 401},
		{name: "scheme case", header: "apikey-v1 secret", want: 401},
		{name: "trailing text", header: "ApiKey-v1 secret x", want: 401},
		{name: "right key", header: "ApiKey-v1 secret", want: 204},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, s, http.MethodPut, profilesPath, profilesBody(profile("p")), "Authorization", tc.header)
			require.Equal(t, tc.want, a.status, "body %s", a.body)
			if tc.want == 401 {
				e := decodeError(t, a)
				assert.Equal(t, 401, e.StatusCode)
				assert.NotEmpty(t, e.Errors)
			}
		})
	}
	assert.Len(t, s.State().Profiles, 1, "only the authorized request is applied")
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{name: "catalog id zero", opts: Options{Catalogs: []int64{0}}},
		{name: "negative audience", opts: Options{Audiences: []int64{-1}}},
		{name: "space in key", opts: Options{APIKey: "a b"}},
		{name: "unknown schema entity", opts: Options{Schema: Schema{"sessions": nil}}},
		{name: "unknown schema type", opts: Options{Schema: Schema{"profiles": {"Age": "integer"}}}},
		{name: "bad schema name", opts: Options{Schema: Schema{"catalog": {"1st": "string"}}}},
		{name: "share above 1", opts: Options{Faults: Faults{Fail429: 1.5}}},
		{name: "shares add above 1", opts: Options{Faults: Faults{Fail429: 0.6, Fail5xx: 0.6}}},
		{name: "negative latency", opts: Options{Faults: Faults{Latency: -time.Second}}},
		{name: "unreadable state file", opts: Options{StateFile: schemaPath}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			assert.Error(t, err)
		})
	}
	s, err := New(Options{})
	require.NoError(t, err)
	assert.Equal(t, State{
		Catalogs:  map[int64]map[string]CatalogItem{1: {}},
		Profiles:  map[string]Profile{},
		Audiences: map[int64][]string{1: {}, 2: {}, 3: {}},
	}, s.State(), "defaults: catalog 1, audiences 1-3, empty")
	assert.Empty(t, s.URL(), "no URL before listening")
	assert.NoError(t, s.Close(), "closing a server that never listened")
}

func TestServe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s, err := New(Options{StateFile: path})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, "127.0.0.1:0", func(url string) { urls <- url }) }()
	url := <-urls
	assert.Equal(t, url, s.URL())
	a, err := send(t, http.DefaultClient, url, http.MethodPut, profilesPath, profilesBody(profile("p")))
	require.NoError(t, err)
	require.Equal(t, 204, a.status)
	cancel()
	require.NoError(t, <-errc)

	loaded, err := New(Options{StateFile: path})
	require.NoError(t, err)
	assert.Contains(t, loaded.State().Profiles, "p", "Serve saved the state on shutdown")
}

func TestCloseTwice(t *testing.T) {
	s, err := Start(Options{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err = http.Get(s.URL() + "/emulator/stats")
	assert.Error(t, err, "the listener is closed")
}
