package emulator

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// held reports whether any request has keys registered.
func (f *inflight) held() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.items) > 0 || len(f.whole) > 0
}

func TestConcurrentSameKey(t *testing.T) {
	type req struct {
		method, path, body string
		n                  int
	}
	profiles := func(ids ...string) req {
		elems := make([]string, len(ids))
		for i, id := range ids {
			elems[i] = profile(id)
		}
		return req{http.MethodPut, profilesPath, profilesBody(elems...), len(ids)}
	}
	catalog := func(path string, elems ...string) req {
		return req{http.MethodPut, path, actionsBody(elems...), len(elems)}
	}
	audiences := func(elems ...string) req { return req{http.MethodPost, audiencesPath, dataBody(elems...), len(elems)} }
	const patchAll = `{"type":"PATCH_MANY","payload":{"attributes":{"x":1}}}`
	tests := []struct {
		name          string
		first, second req
		conflict      bool
	}{
		{name: "same profile", first: profiles("a", "b"), second: profiles("c", "b"), conflict: true},
		{name: "different profiles", first: profiles("a"), second: profiles("b")},
		{name: "same SKU", first: catalog(catalog1Path, add("a")), second: catalog(catalog1Path, `{"type":"REMOVE","payload":{"sku":"a"}}`), conflict: true},
		{name: "same SKU in another catalog", first: catalog(catalog1Path, add("a")), second: catalog("/v1/catalogs/2/sync", add("a"))},
		{name: "PATCH_MANY after an item", first: catalog(catalog1Path, add("a")), second: catalog(catalog1Path, patchAll), conflict: true},
		{name: "an item after REMOVE_MANY", first: catalog(catalog1Path, `{"type":"REMOVE_MANY","payload":{}}`), second: catalog(catalog1Path, add("z")), conflict: true},
		{name: "PATCH_MANY in another catalog", first: catalog(catalog1Path, add("a")), second: catalog("/v1/catalogs/2/sync", patchAll)},
		{name: "same membership", first: audiences(member("add", 1, "a")), second: audiences(member("delete", 1, "a")), conflict: true},
		{name: "same profile in another audience", first: audiences(member("add", 1, "a")), second: audiences(member("add", 2, "a"))},
		{name: "profile and its membership are separate", first: profiles("a"), second: audiences(member("add", 1, "a"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Options{Catalogs: []int64{1, 2}})
			require.NoError(t, err)
			// The first request stays between key registration and apply
			// until the second one is answered.
			hold := make(chan struct{})
			var held atomic.Bool
			s.hookBeforeApply = func() {
				if held.CompareAndSwap(false, true) {
					<-hold
				}
			}
			srv := httptest.NewServer(s)
			defer srv.Close()

			var wg sync.WaitGroup
			var first answer
			var firstErr error
			wg.Add(1)
			go func() {
				defer wg.Done()
				first, firstErr = send(t, http.DefaultClient, srv.URL, tc.first.method, tc.first.path, tc.first.body)
			}()
			require.Eventually(t, s.inflight.held, 10*time.Second, time.Millisecond, "the first request is in flight")
			second, err := send(t, http.DefaultClient, srv.URL, tc.second.method, tc.second.path, tc.second.body)
			require.NoError(t, err)
			close(hold)
			wg.Wait()
			require.NoError(t, firstErr)

			assert.Less(t, first.status, 300, "first: %s", first.body)
			if !tc.conflict {
				assert.Less(t, second.status, 300, "second: %s", second.body)
				assert.Zero(t, s.Stats().Conflicts)
				return
			}
			require.Equal(t, http.StatusConflict, second.status, "second: %s", second.body)
			assert.Contains(t, decodeError(t, second).Message, "concurrent modification")
			st := s.Stats()
			assert.Equal(t, int64(1), st.Conflicts)
			assert.Equal(t, int64(1), st.Requests[http.StatusConflict])
			assert.Equal(t, int64(tc.first.n+tc.second.n), st.ItemsReceived)
			assert.Equal(t, int64(tc.first.n), st.ItemsApplied, "the 409 request is not applied")
		})
	}
}

// TestConflictDuringLatency shows that the in-flight window includes the
// injected latency: the keys are registered before the sleep.
func TestConflictDuringLatency(t *testing.T) {
	s := start(t, Options{Faults: Faults{Latency: time.Second}})
	var wg sync.WaitGroup
	var first answer
	wg.Add(1)
	go func() {
		defer wg.Done()
		first = do(t, s, http.MethodPut, profilesPath, profilesBody(profile("a")))
	}()
	require.Eventually(t, s.inflight.held, 10*time.Second, time.Millisecond)
	begin := time.Now()
	second := do(t, s, http.MethodPut, profilesPath, profilesBody(profile("a")))
	wg.Wait()
	assert.Equal(t, http.StatusNoContent, first.status)
	if time.Since(begin) < 900*time.Millisecond { // else the machine stalled past the window
		assert.Equal(t, http.StatusConflict, second.status)
		assert.Less(t, time.Since(begin), 900*time.Millisecond, "a 409 is answered without the latency")
	}
}

func TestSequentialSameKeyNeverConflicts(t *testing.T) {
	s := start(t, Options{})
	for range 200 {
		a := do(t, s, http.MethodPut, profilesPath, profilesBody(profile("a")))
		require.Equal(t, http.StatusNoContent, a.status, "body %s", a.body)
	}
	assert.Zero(t, s.Stats().Conflicts)
}

func TestInflightKeys(t *testing.T) {
	f := newInflight()
	a1 := lockKey{"catalog/1", "a"}
	whole1 := lockKey{"catalog/1", ""}
	b2 := lockKey{"catalog/2", "b"}

	_, ok := f.acquire([]lockKey{a1, b2})
	require.True(t, ok)
	k, ok := f.acquire([]lockKey{{"catalog/1", "c"}, a1})
	assert.False(t, ok)
	assert.Equal(t, a1, k)
	_, ok = f.acquire([]lockKey{{"catalog/1", "c"}})
	assert.True(t, ok, "a failed acquire registers nothing; c is free")
	_, ok = f.acquire([]lockKey{whole1})
	assert.False(t, ok, "items of catalog 1 are held")
	f.release([]lockKey{a1, b2})
	f.release([]lockKey{{"catalog/1", "c"}})
	_, ok = f.acquire([]lockKey{whole1})
	assert.True(t, ok)
	_, ok = f.acquire([]lockKey{a1})
	assert.False(t, ok, "catalog 1 is held whole")
	_, ok = f.acquire([]lockKey{b2})
	assert.True(t, ok)
	f.release([]lockKey{whole1})
	f.release([]lockKey{b2})
	assert.False(t, f.held())
}
