package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fill applies one request of each kind.
func fill(t *testing.T, s *Server) {
	t.Helper()
	for _, r := range []struct{ method, path, body string }{
		{http.MethodPut, catalog1Path, actionsBody(`{"type":"ADD","payload":{"sku":"s1","price":2.5,"product":{"name":"p"},"attributes":{"color":"red"}}}`, add("s2"))},
		{http.MethodPut, profilesPath, profilesBody(`{"integrationId":"a","attributes":{"Age":3,"Tags":["x"]}}`, profile("b"))},
		{http.MethodPost, audiencesPath, dataBody(member("add", 2, "b"), member("add", 2, "a"), member("add", 1, "c"))},
	} {
		a := do(t, s, r.method, r.path, r.body)
		require.Less(t, a.status, 300, "body %s", a.body)
	}
}

func TestStateFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := start(t, Options{StateFile: path})
	fill(t, s)
	want := s.State()
	require.NoError(t, s.Close())

	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	leftovers, err := filepath.Glob(path + ".tmp-*")
	require.NoError(t, err)
	assert.Empty(t, leftovers, "the temp file was renamed")

	loaded := start(t, Options{StateFile: path})
	assert.Equal(t, want, loaded.State())
}

func TestStateFileFixture(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("testdata/state.json")
	require.NoError(t, err)
	path := filepath.Join(dir, "state.json")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	s := start(t, Options{StateFile: path})
	st := s.State()
	assert.Equal(t, 9.5, *st.Catalogs[1]["SKU-1"].Price)
	assert.Contains(t, st.Catalogs, int64(7), "catalogs in the file become known")
	assert.Equal(t, []string{"alice", "bob"}, st.Audiences[2])
	a := do(t, s, http.MethodPost, audiencesPath, dataBody(member("add", 9, "carol")))
	assert.Equal(t, http.StatusNoContent, a.status, "audiences in the file become known: %s", a.body)
	a = do(t, s, http.MethodPut, "/v1/catalogs/7/sync", actionsBody(add("x")))
	assert.Equal(t, http.StatusOK, a.status, "body %s", a.body)
}

func TestSaveEndpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := start(t, Options{StateFile: path})
	fill(t, s)
	a := do(t, s, http.MethodPost, "/emulator/save", "", "Authorization", "")
	require.Equal(t, http.StatusNoContent, a.status, "body %s", a.body)
	var st State
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &st))
	assert.Equal(t, s.State(), st)

	noFile := start(t, Options{})
	a = do(t, noFile, http.MethodPost, "/emulator/save", "")
	assert.Equal(t, http.StatusConflict, a.status)
}

func TestInspection(t *testing.T) {
	s := start(t, Options{})
	fill(t, s)
	get := func(path string) answer { return do(t, s, http.MethodGet, path, "", "Authorization", "") }

	a := get("/emulator/state")
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, string(a.body), string(get("/emulator/state").body), "deterministic")
	var st State
	require.NoError(t, json.Unmarshal(a.body, &st))
	assert.Equal(t, s.State(), st)
	assert.Equal(t, []string{"a", "b"}, st.Audiences[2], "sorted")

	a = get("/emulator/stats")
	require.Equal(t, http.StatusOK, a.status)
	var stats Stats
	require.NoError(t, json.Unmarshal(a.body, &stats))
	assert.Equal(t, Stats{
		Requests: map[int]int64{200: 1, 204: 2}, RequestsTotal: 3,
		ItemsReceived: 7, ItemsApplied: 7, MaxInFlight: 1,
	}, stats, "inspection requests are not counted")

	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodPost, "/emulator/state", 405},
		{http.MethodGet, "/emulator/reset", 405},
		{http.MethodGet, "/emulator/nope", 404},
	} {
		a := do(t, s, tc.method, tc.path, "")
		assert.Equal(t, tc.want, a.status, tc.path)
		decodeError(t, a)
	}

	a = do(t, s, http.MethodPost, "/emulator/reset", "", "Authorization", "")
	require.Equal(t, http.StatusNoContent, a.status)
	assert.Equal(t, State{
		Catalogs:  map[int64]map[string]CatalogItem{1: {}},
		Profiles:  map[string]Profile{},
		Audiences: map[int64][]string{1: {}, 2: {}, 3: {}},
	}, s.State())
	assert.Equal(t, Stats{Requests: map[int]int64{}}, s.Stats())
}

func TestStatsCounters(t *testing.T) {
	s, err := New(Options{})
	require.NoError(t, err)
	// Each of the four concurrent requests waits for the others before it
	// is applied, so all four are in flight at once.
	var arrived atomic.Int32
	all := make(chan struct{})
	s.hookBeforeApply = func() {
		if arrived.Add(1) == 4 {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(10 * time.Second):
		}
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	s.lmu.Lock()
	s.url = srv.URL
	s.lmu.Unlock()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do(t, s, http.MethodPut, profilesPath, profilesBody(profile(string(rune('a'+i)))))
		}()
	}
	wg.Wait()
	do(t, s, http.MethodPut, profilesPath, profilesBody(profile("x"), profile("")))
	do(t, s, http.MethodPut, profilesPath, profilesBody(profile("y")), "Authorization", "")
	do(t, s, http.MethodGet, "/v9", "")
	st := s.Stats()
	assert.Equal(t, map[int]int64{204: 4, 400: 1, 401: 1, 404: 1}, st.Requests)
	assert.Equal(t, int64(7), st.RequestsTotal)
	assert.Equal(t, int64(6), st.ItemsReceived)
	assert.Equal(t, int64(4), st.ItemsApplied)
	assert.Equal(t, int64(4), st.MaxInFlight)
}

func TestHistory(t *testing.T) {
	s := start(t, Options{History: true})
	fill(t, s)
	a := do(t, s, http.MethodPut, catalog1Path, actionsBody(`{"type":"PATCH_MANY","payload":{"filters":[{"attr":"color","op":"EQ","value":"red"}],"price":1}}`))
	require.Equal(t, http.StatusOK, a.status)
	do(t, s, http.MethodPut, profilesPath, profilesBody(`{"integrationId":"a","attributes":{"Age":4}}`))
	do(t, s, http.MethodPost, audiencesPath, dataBody(member("delete", 2, "a")))

	tests := []struct {
		key  string
		want []string
	}{
		{CatalogKey(1, "s1"), []string{
			`{"type":"ADD","payload":{"sku":"s1","price":2.5,"product":{"name":"p"},"attributes":{"color":"red"}}}`,
			`{"type":"PATCH_MANY","payload":{"filters":[{"attr":"color","op":"EQ","value":"red"}],"price":1}}`}},
		{"catalog/1/s2", []string{add("s2")}},
		{ProfileKey("a"), []string{`{"integrationId":"a","attributes":{"Age":3,"Tags":["x"]}}`, `{"integrationId":"a","attributes":{"Age":4}}`}},
		{"profile/b", []string{profile("b")}},
		{AudienceKey(2, "a"), []string{member("add", 2, "a"), member("delete", 2, "a")}},
		{"audience/1/c", []string{member("add", 1, "c")}},
		{"profile/c", nil},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			got := s.History(tc.key)
			require.Len(t, got, len(tc.want))
			for i := range got {
				assert.JSONEq(t, tc.want[i], string(got[i]))
			}
		})
	}
	off := start(t, Options{})
	fill(t, off)
	assert.Nil(t, off.History(ProfileKey("a")), "no history without Options.History")
}
