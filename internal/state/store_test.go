package state

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, path
}

// countKeys returns the number of keys of s.
func countKeys(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	require.NoError(t, s.Each(func(Entry) error { n++; return nil }))
	return n
}

func item(typ talon.ActionType, js string) *talon.Item {
	return &talon.Item{Key: "k", Type: typ, JSON: []byte(js)}
}

func TestHashItem(t *testing.T) {
	base := HashItem(item(talon.ActionAdd, `{"sku":"A","price":1}`))
	tests := []struct {
		name string
		it   *talon.Item
		same bool
	}{
		{"same type and JSON", item(talon.ActionAdd, `{"sku":"A","price":1}`), true},
		{"other JSON", item(talon.ActionAdd, `{"sku":"A","price":2}`), false},
		{"other type", item(talon.ActionPatch, `{"sku":"A","price":1}`), false},
		{"type bytes moved into JSON", item("", `ADD{"sku":"A","price":1}`), false},
		{"key is not hashed", &talon.Item{Key: "other", Type: talon.ActionAdd, JSON: []byte(`{"sku":"A","price":1}`)}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.same, HashItem(tc.it) == base)
		})
	}
	assert.Len(t, base.String(), 32)
}

func TestStoreApplyLookup(t *testing.T) {
	s, _ := openTemp(t)
	ha, hb := HashItem(item("", "a")), HashItem(item("", "b"))
	require.NoError(t, s.apply(1, []change{{Key: "A", Hash: ha}, {Key: "B", Hash: hb}}))

	tests := []struct {
		name    string
		changes []change
		want    map[string]Hash
	}{
		{"recorded", nil, map[string]Hash{"A": ha, "B": hb}},
		{"overwritten", []change{{Key: "A", Hash: hb}}, map[string]Hash{"A": hb, "B": hb}},
		{"deleted", []change{{Key: "B", Delete: true}}, map[string]Hash{"A": hb}},
		{"deleting an unknown key is no error", []change{{Key: "Z", Delete: true}}, map[string]Hash{"A": hb}},
		{"cleared, then recorded in the same transaction", []change{{Clear: true}, {Key: "C", Hash: ha}}, map[string]Hash{"C": ha}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, s.apply(2, tc.changes))
			got := map[string]Hash{}
			require.NoError(t, s.Each(func(e Entry) error { got[e.Key] = e.Hash; return nil }))
			assert.Equal(t, tc.want, got)
			for k, h := range tc.want {
				lh, ok, err := s.lookup(k)
				require.NoError(t, err)
				assert.True(t, ok)
				assert.Equal(t, h, lh)
			}
			_, ok, err := s.lookup("Z")
			require.NoError(t, err)
			assert.False(t, ok)
		})
	}
}

func TestStoreSeenAndStale(t *testing.T) {
	s, _ := openTemp(t)
	h := HashItem(item("", "x"))
	var changes []change
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		changes = append(changes, change{Key: k, Hash: h})
	}
	require.NoError(t, s.apply(1, changes))

	// Run 2 sees b and d, and an unknown key that must not be created.
	require.NoError(t, s.markSeen(2, []string{"d", "zz", "b"}))
	stale, total, err := s.countStale(2)
	require.NoError(t, err)
	assert.Equal(t, int64(3), stale)
	assert.Equal(t, int64(5), total)

	// Pages of two, in key order.
	var got []string
	after := ""
	for {
		page, err := s.stale(2, after, 2)
		require.NoError(t, err)
		got = append(got, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
	}
	assert.Equal(t, []string{"a", "c", "e"}, got)

	seen := map[string]uint64{}
	require.NoError(t, s.Each(func(e Entry) error {
		seen[e.Key] = e.Seen
		assert.Equal(t, h, e.Hash, "markSeen keeps the hash of %s", e.Key)
		return nil
	}))
	assert.Equal(t, map[string]uint64{"a": 1, "b": 2, "c": 1, "d": 2, "e": 1}, seen)

	// A delivery records its run as last seen.
	require.NoError(t, s.apply(2, []change{{Key: "a", Hash: h}}))
	stale, _, err = s.countStale(2)
	require.NoError(t, err)
	assert.Equal(t, int64(2), stale)
}

func TestStoreBind(t *testing.T) {
	id := Identity{BaseURL: "https://a.talon.one", Entity: "catalog", CatalogID: 1}
	tests := []struct {
		name     string
		other    Identity
		mismatch bool
	}{
		{"same", id, false},
		{"other catalog", Identity{BaseURL: id.BaseURL, Entity: "catalog", CatalogID: 2}, true},
		{"other base URL", Identity{BaseURL: "https://b.talon.one", Entity: "catalog", CatalogID: 1}, true},
		{"other entity", Identity{BaseURL: id.BaseURL, Entity: "audiences"}, true},
		{"other audience", Identity{BaseURL: id.BaseURL, Entity: "catalog", CatalogID: 1, AudienceID: 3}, true},
		{"dry run without base URL", Identity{Entity: "catalog", CatalogID: 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTemp(t)
			require.NoError(t, s.Bind(id))
			err := s.Bind(tc.other)
			if tc.mismatch {
				assert.ErrorIs(t, err, ErrMismatch)
			} else {
				assert.NoError(t, err)
			}
			got, ok, err := s.Identity()
			require.NoError(t, err)
			assert.True(t, ok)
			assert.Equal(t, id, got, "the first identity stays")
		})
	}
}

func TestStoreRunsResetAndReopen(t *testing.T) {
	s, path := openTemp(t)
	require.NoError(t, s.Bind(Identity{Entity: "profiles", BaseURL: "https://a"}))
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	r1, err := s.BeginRun(t0)
	require.NoError(t, err)
	r2, err := s.BeginRun(t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, []uint64{1, 2}, []uint64{r1, r2})
	at, ok, err := s.RunStarted(2)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.True(t, at.Equal(t0.Add(time.Hour)))
	require.NoError(t, s.FinishRun(RunInfo{Run: 2, Input: "in.csv", Read: 7}))
	require.NoError(t, s.apply(r2, []change{{Key: "p1", Hash: HashItem(item("", "1"))}}))

	// A second writer is refused while the file is open.
	_, err = Open(path, Options{timeout: 50 * time.Millisecond})
	assert.ErrorIs(t, err, ErrLocked)

	// Reopened, everything is there.
	require.NoError(t, s.Close())
	s, err = Open(path, Options{ReadOnly: true})
	require.NoError(t, err)
	info, ok, err := s.LastRun()
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, int64(7), info.Read)
	assert.Equal(t, int64(1), countKeys(t, s))
	require.NoError(t, s.Close())

	s, err = Open(path, Options{})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Reset())
	assert.Zero(t, countKeys(t, s))
	_, ok, err = s.Identity()
	require.NoError(t, err)
	assert.False(t, ok, "reset forgets the identity")
	_, ok, err = s.LastRun()
	require.NoError(t, err)
	assert.False(t, ok)
	require.NoError(t, s.Bind(Identity{Entity: "catalog", CatalogID: 9}), "a reset file takes a new target")
	r, err := s.BeginRun(t0)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), r)
}

func TestOpenMissingReadOnly(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "none.db"), Options{ReadOnly: true})
	assert.Error(t, err)
}

func TestRemovalItem(t *testing.T) {
	tests := []struct {
		name   string
		entity readers.Entity
		key    string
		want   talon.Item
	}{
		{"catalog", readers.EntityCatalog, "SKU-1", talon.Item{Key: "SKU-1", Type: talon.ActionRemove, Remove: true,
			JSON: []byte(`{"type":"REMOVE","payload":{"sku":"SKU-1"}}`)}},
		{"catalog sku escaped", readers.EntityCatalog, "a\"b", talon.Item{Key: "a\"b", Type: talon.ActionRemove, Remove: true,
			JSON: []byte(`{"type":"REMOVE","payload":{"sku":"a\"b"}}`)}},
		{"audience", readers.EntityAudiences, talon.MembershipKey(7, "p/1"), talon.Item{Key: "7/p/1", Remove: true,
			JSON: []byte(`{"action":"delete","profileIntegrationId":"p/1","audienceId":7}`)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it, err := removalItem(tc.entity, tc.key)
			require.NoError(t, err)
			assert.Equal(t, tc.want.Key, it.Key)
			assert.Equal(t, tc.want.Type, it.Type)
			assert.Equal(t, tc.want.Remove, it.Remove)
			assert.Equal(t, string(tc.want.JSON), string(it.JSON))
		})
	}
	var a talon.AudienceAction
	it, err := removalItem(readers.EntityAudiences, talon.MembershipKey(7, "p/1"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(it.JSON, &a))
	assert.Equal(t, talon.AudienceAction{Action: "delete", ProfileIntegrationID: "p/1", AudienceID: 7}, a)

	for _, bad := range []struct {
		e   readers.Entity
		key string
	}{{readers.EntityAudiences, "no-audience"}, {readers.EntityAudiences, "x/p1"}, {readers.EntityProfiles, "u1"}} {
		_, err := removalItem(bad.e, bad.key)
		assert.Error(t, err, bad.key)
	}
}
