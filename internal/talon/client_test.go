package talon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

func TestRequestShapes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		send         func(*talon.Client) error
		method, path string
		query        string
		fixture      string
		idempotent   bool
	}{
		{"catalog add", func(c *talon.Client) error { return syncCatalog(ctx, c, 7, addItems) },
			http.MethodPut, "/v1/catalogs/7/sync", "", "catalog_add.json", false},
		{"catalog patch", func(c *talon.Client) error { return syncCatalog(ctx, c, 7, patchItems) },
			http.MethodPut, "/v1/catalogs/7/sync", "", "catalog_patch.json", false},
		{"catalog remove", func(c *talon.Client) error { return syncCatalog(ctx, c, 12345678901, removeItems) },
			http.MethodPut, "/v1/catalogs/12345678901/sync", "", "catalog_remove.json", false},
		{"catalog patch many", func(c *talon.Client) error { return syncCatalog(ctx, c, 7, patchManyItems) },
			http.MethodPut, "/v1/catalogs/7/sync", "", "catalog_patch_many.json", false},
		{"profiles silent", func(c *talon.Client) error { return updateProfiles(ctx, c, profiles, true) },
			http.MethodPut, "/v2/customer_profiles", "silent=yes", "profiles.json", true},
		{"profiles not silent", func(c *talon.Client) error { return updateProfiles(ctx, c, profiles, false) },
			http.MethodPut, "/v2/customer_profiles", "silent=no", "profiles.json", true},
		{"profiles batch with nil silent", func(c *talon.Client) error {
			return c.Send(ctx, talon.Batch{Endpoint: talon.EndpointProfiles, Items: profiles})
		}, http.MethodPut, "/v2/customer_profiles", "silent=yes", "profiles.json", true},
		{"audiences", func(c *talon.Client) error { return updateAudiences(ctx, c, audiences) },
			http.MethodPost, "/v2/customer_audiences", "", "audiences.json", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, http.StatusOK, `{"id":7}`)
			require.NoError(t, tc.send(newClient(t, rec.URL)))
			reqs := rec.requests()
			require.Len(t, reqs, 1)
			got := reqs[0]
			assert.Equal(t, tc.method, got.Method)
			assert.Equal(t, tc.path, got.Path)
			assert.Equal(t, tc.query, got.Query)
			assert.JSONEq(t, fixture(t, tc.fixture), string(got.Body))
			assert.Equal(t, "ApiKey-v1 tk-SECRET-123", got.Header.Get("Authorization"))
			assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
			assert.Equal(t, "application/json", got.Header.Get("Accept"))
			assert.Equal(t, "talonsync/"+talon.Version, got.Header.Get("User-Agent"))
			assert.Equal(t, strconv.Itoa(len(got.Body)), got.Header.Get("Content-Length"))
			if tc.idempotent {
				assert.Equal(t, talon.IdempotencyKey(got.Body), got.Header.Get("Idempotency-Key"))
			} else {
				assert.NotContains(t, got.Header, "Idempotency-Key")
			}
		})
	}
}

func TestIdempotencyKeyHeader(t *testing.T) {
	rec := newRecorder(t, http.StatusNoContent, "")
	c := newClient(t, rec.URL)
	ctx := context.Background()
	require.NoError(t, updateProfiles(ctx, c, profiles, true))
	require.NoError(t, updateProfiles(ctx, c, profiles, true))
	require.NoError(t, updateProfiles(ctx, c, profiles[1:], true))
	reqs := rec.requests()
	require.Len(t, reqs, 3)
	k0, k1, k2 := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key"), reqs[2].Header.Get("Idempotency-Key")
	assert.NotEmpty(t, k0)
	assert.LessOrEqual(t, len(k0), 255)
	assert.Equal(t, k0, k1, "same batch, same key")
	assert.NotEqual(t, k0, k2, "different content, different key")
}

func TestBaseURLForms(t *testing.T) {
	tests := []struct {
		name, suffix, wantPath string
	}{
		{"bare", "", "/v2/customer_audiences"},
		{"trailing slash", "/", "/v2/customer_audiences"},
		{"path prefix", "/proxy/talon/", "/proxy/talon/v2/customer_audiences"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, http.StatusNoContent, "")
			c := newClient(t, rec.URL+tc.suffix, func(cfg *talon.Config) { cfg.UserAgent = "custom/1" })
			require.NoError(t, updateAudiences(context.Background(), c, audiences))
			reqs := rec.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, tc.wantPath, reqs[0].Path)
			assert.Equal(t, "custom/1", reqs[0].Header.Get("User-Agent"))
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		baseURL   string
		key       talon.Secret
		allowHTTP bool
		wantErr   error // nil: no error; errAny: some error
	}{
		{"https", "https://acme.europe-west1.talon.one", testKey, false, nil},
		{"https trailing slash", "https://acme.europe-west1.talon.one/", testKey, false, nil},
		{"http loopback ip", "http://127.0.0.1:8080", testKey, false, nil},
		{"http loopback 127/8", "http://127.1.2.3", testKey, false, nil},
		{"http localhost", "http://localhost:9000", testKey, false, nil},
		{"http localhost upper case", "http://LOCALHOST", testKey, false, nil},
		{"http ipv6 loopback", "http://[::1]:9000", testKey, false, nil},
		{"http remote refused", "http://acme.talon.one", testKey, false, talon.ErrInsecureURL},
		{"http private ip refused", "http://10.0.0.1", testKey, false, talon.ErrInsecureURL},
		{"http localhost lookalike refused", "http://localhost.evil.example", testKey, false, talon.ErrInsecureURL},
		{"http remote allowed", "http://acme.talon.one", testKey, true, nil},
		{"empty key", "https://acme.talon.one", "", false, errAny},
		{"no scheme", "acme.talon.one", testKey, false, errAny},
		{"ftp scheme", "ftp://acme.talon.one", testKey, false, errAny},
		{"no host", "https://", testKey, false, errAny},
		{"unparsable", "https://acme talon.one:x", testKey, false, errAny},
		{"credentials", "https://user:pw@acme.talon.one", testKey, false, errAny},
		{"query", "https://acme.talon.one?x=1", testKey, false, errAny},
		{"empty", "", testKey, false, errAny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := talon.New(talon.Config{BaseURL: tc.baseURL, APIKey: tc.key, AllowInsecureHTTP: tc.allowHTTP})
			switch tc.wantErr {
			case nil:
				require.NoError(t, err)
				assert.NotNil(t, c)
			case errAny:
				require.Error(t, err)
				assert.Nil(t, c)
			default:
				assert.ErrorIs(t, err, tc.wantErr)
			}
			if err != nil {
				assert.NotContains(t, err.Error(), string(testKey))
			}
		})
	}
}

var errAny = fmt.Errorf("any error")

func TestRedirects(t *testing.T) {
	other := newRecorder(t, http.StatusNoContent, "")
	var hops int
	var mu sync.Mutex
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hops++
		mu.Unlock()
		switch r.URL.Path {
		case "/cross/v2/customer_profiles":
			http.Redirect(w, r, other.URL+"/v2/customer_profiles?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
		case "/same/v2/customer_profiles":
			http.Redirect(w, r, "/final", http.StatusPermanentRedirect)
		case "/final":
			b, _ := io.ReadAll(r.Body)
			if r.Header.Get("Authorization") != "ApiKey-v1 tk-SECRET-123" || len(b) == 0 {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default: // loop
			http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
		}
	}))
	t.Cleanup(origin.Close)
	ctx := context.Background()

	t.Run("another host gets no authorization", func(t *testing.T) {
		c := newClient(t, origin.URL+"/cross")
		require.NoError(t, updateProfiles(ctx, c, profiles, true))
		reqs := other.requests()
		require.Len(t, reqs, 1)
		assert.Empty(t, reqs[0].Header.Get("Authorization"))
		assert.NotEmpty(t, reqs[0].Header.Get("Idempotency-Key"))
		assert.JSONEq(t, fixture(t, "profiles.json"), string(reqs[0].Body), "body re-sent through GetBody")
		assert.Equal(t, "silent=yes", reqs[0].Query)
	})
	t.Run("same host keeps authorization and body", func(t *testing.T) {
		c := newClient(t, origin.URL+"/same")
		assert.NoError(t, updateProfiles(ctx, c, profiles, true))
	})
	t.Run("stops after 5 redirects", func(t *testing.T) {
		mu.Lock()
		hops = 0
		mu.Unlock()
		c := newClient(t, origin.URL+"/loop")
		err := updateProfiles(ctx, c, profiles, true)
		var apiErr *talon.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusTemporaryRedirect, apiErr.Status)
		assert.Equal(t, talon.ClassFatal, apiErr.Class)
		mu.Lock()
		assert.Equal(t, 6, hops, "the first request and 5 redirects")
		mu.Unlock()
	})
	t.Run("caller's CheckRedirect still runs", func(t *testing.T) {
		called := false
		c := newClient(t, origin.URL+"/same", func(cfg *talon.Config) {
			cfg.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
				called = true
				return nil
			}}
		})
		require.NoError(t, updateProfiles(ctx, c, profiles, true))
		assert.True(t, called)
	})
}

// TestConcurrentSends checks that pooled body buffers are never shared by
// two requests in flight: each body must match the key computed from it.
func TestConcurrentSends(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Idempotency-Key") != talon.IdempotencyKey(b) || !json.Valid(b) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 20 {
				p := []talon.Item{profileItem(fmt.Sprintf("g%d-i%d", g, i), "")}
				assert.NoError(t, updateProfiles(context.Background(), c, p, true))
			}
		})
	}
	wg.Wait()
}

func TestSendInvalidBatch(t *testing.T) {
	rec := newRecorder(t, http.StatusOK, "")
	c := newClient(t, rec.URL)
	item := talon.Item{JSON: []byte(`{"sku":"a"}`)}
	tests := []struct {
		name string
		b    talon.Batch
	}{
		{"unknown endpoint", talon.Batch{Items: []talon.Item{item}}},
		{"no items", talon.Batch{Endpoint: talon.EndpointAudiences}},
		{"too many items", talon.Batch{Endpoint: talon.EndpointAudiences, Items: make([]talon.Item, talon.MaxItems+1)}},
		{"empty item", talon.Batch{Endpoint: talon.EndpointAudiences, Items: []talon.Item{{}}}},
		{"no catalog id", talon.Batch{Endpoint: talon.EndpointCatalog, Items: []talon.Item{item}}},
		{"mixed action types", talon.Batch{Endpoint: talon.EndpointCatalog, CatalogID: 1, Items: []talon.Item{
			{Type: talon.ActionAdd, JSON: item.JSON}, {Type: talon.ActionRemove, JSON: item.JSON}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Send(context.Background(), tc.b)
			assert.ErrorIs(t, err, talon.ErrInvalidBatch)
			assert.Equal(t, talon.ClassFatal, talon.ClassOf(err))
		})
	}
	assert.Empty(t, rec.requests())
}
