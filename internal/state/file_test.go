package state

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

// clock is a settable clock for Options.Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var testID = Identity{BaseURL: "https://x.talon.one", Entity: "catalog", CatalogID: 1}

func openW(t *testing.T, path string, c *clock) *File {
	t.Helper()
	f, err := OpenFile(path, Options{Now: c.now})
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func val(key, v string) Value {
	return ValueOf(key, talon.Item{Type: talon.ActionAdd, JSON: []byte(v)})
}

// dump returns what Each yields, by key.
func dump(t *testing.T, f *File) map[string]KeyInfo {
	t.Helper()
	out := map[string]KeyInfo{}
	var last Key
	first := true
	require.NoError(t, f.Each(func(ki KeyInfo) error {
		k := KeyOf(ki.Key)
		require.True(t, first || last.less(k), "Each yields keys in Key order")
		last, first = k, false
		out[ki.Key] = ki
		return nil
	}))
	return out
}

func TestRunCycle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	f := openW(t, path, c)
	require.NoError(t, f.Bind(testID))
	run, err := f.Begin()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), run)
	for i := range 100 {
		key := fmt.Sprintf("SKU-%03d", i)
		require.Equal(t, KeyNew, f.Compare(key, val(key, "a"), time.Time{}))
		require.NoError(t, f.Invalidate(key)) // nothing to invalidate: no sync, no record
		require.NoError(t, f.Confirm(key, val(key, "a"), i%10 == 0))
	}
	require.NoError(t, f.Commit(RunInfo{Run: run, Complete: true, Read: 100}, true))
	require.NoError(t, f.Close())
	_, err = os.Stat(journalPath(path))
	assert.ErrorIs(t, err, os.ErrNotExist, "Commit removes the journal")

	// The second run sees what the first confirmed.
	c.t = c.t.Add(48 * time.Hour)
	f = openW(t, path, c)
	require.NoError(t, f.Bind(testID))
	assert.Equal(t, 100, f.Len())
	info, ok := f.LastRun()
	require.True(t, ok)
	assert.Equal(t, int64(100), info.Read)
	_, err = f.Begin()
	require.NoError(t, err)
	horizon := c.t.Add(-24 * time.Hour)
	assert.Equal(t, KeyUnchanged, f.Compare("SKU-001", val("SKU-001", "a"), time.Time{}))
	assert.Equal(t, KeyRefresh, f.Compare("SKU-002", val("SKU-002", "a"), horizon), "confirmed 48 h ago, horizon 24 h")
	assert.Equal(t, KeyUnchanged, f.Compare("SKU-003", val("SKU-003", "a"), c.t.Add(-72*time.Hour)))
	assert.Equal(t, KeyChanged, f.Compare("SKU-004", val("SKU-004", "b"), time.Time{}))
	assert.Equal(t, KeyChanged, f.Compare("SKU-005", val("SKU-001", "a"), time.Time{}), "a Value covers its key")
	assert.Equal(t, KeyNew, f.Compare("SKU-999", val("SKU-999", "a"), time.Time{}))
	require.NoError(t, f.Invalidate("SKU-004", "SKU-999"))
	require.NoError(t, f.Confirm("SKU-004", val("SKU-004", "b"), false))
	require.NoError(t, f.Confirm("SKU-002", val("SKU-002", "a"), false))
	require.NoError(t, f.Commit(RunInfo{Run: 2}, false))

	// Begin reloads the rewritten snapshot.
	_, err = f.Begin()
	require.NoError(t, err)
	assert.Equal(t, KeyUnchanged, f.Compare("SKU-004", val("SKU-004", "b"), time.Time{}))
	assert.Equal(t, KeyUnchanged, f.Compare("SKU-002", val("SKU-002", "a"), horizon), "the refresh renewed the confirmation")
	assert.Equal(t, KeyRefresh, f.Compare("SKU-006", val("SKU-006", "a"), horizon))
	require.NoError(t, f.Commit(RunInfo{Run: 3}, false))
	got := dump(t, f)
	assert.Len(t, got, 100)
	assert.Equal(t, c.t.Truncate(time.Minute), got["SKU-004"].Confirmed)
	assert.True(t, got["SKU-010"].Absent)
	assert.False(t, got["SKU-011"].Absent)
}

func TestKillKeepsInvalidations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	c := &clock{t: time.Now()}
	f := openW(t, path, c)
	_, err := f.Begin()
	require.NoError(t, err)
	for _, k := range []string{"A", "B", "C"} {
		require.NoError(t, f.Confirm(k, val(k, "1"), false))
	}
	require.NoError(t, f.Commit(RunInfo{}, true))
	_, err = f.Begin()
	require.NoError(t, err)
	require.Equal(t, KeyChanged, f.Compare("A", val("A", "2"), time.Time{}))
	require.Equal(t, KeyChanged, f.Compare("B", val("B", "2"), time.Time{}))
	require.NoError(t, f.Invalidate("A", "B"))
	require.NoError(t, f.Confirm("B", val("B", "2"), false))
	require.NoError(t, f.Flush())
	require.NoError(t, f.Confirm("C", val("C", "9"), false)) // buffered: lost
	// A kill: no Commit, no flush. The next writer replays the journal.
	f.j.f.Close()
	f.j = nil
	require.NoError(t, f.Close())

	f = openW(t, path, c)
	got := dump(t, f)
	assert.Equal(t, Value(0), got["A"].Value, "A was invalidated and not confirmed: its value is unknown")
	assert.Equal(t, val("B", "2"), got["B"].Value, "B's confirmation survived")
	assert.Equal(t, val("C", "1"), got["C"].Value)
	_, err = os.Stat(journalPath(path))
	assert.ErrorIs(t, err, os.ErrNotExist, "the replayed journal is gone")
	_, err = f.Begin()
	require.NoError(t, err)
	assert.Equal(t, KeyChanged, f.Compare("A", val("A", "1"), time.Time{}), "a file that reverts A to its old value is sent")
}

func TestCloseWithoutCommitIsReplayed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	c := &clock{t: time.Now()}
	f := openW(t, path, c)
	require.NoError(t, f.Bind(testID))
	_, err := f.Begin()
	require.NoError(t, err)
	require.NoError(t, f.Confirm("A", val("A", "1"), false))
	require.NoError(t, f.Close()) // flushes the journal, commits nothing

	f = openW(t, path, c)
	id, ok := f.Identity()
	require.True(t, ok, "the journal carries the identity of a first run")
	assert.Equal(t, testID, id)
	assert.Equal(t, 1, f.Len())
	_, err = f.Begin()
	require.NoError(t, err)
	assert.Equal(t, KeyUnchanged, f.Compare("A", val("A", "1"), time.Time{}))
	run, _ := f.Begin()
	assert.Zero(t, run, "Begin twice fails")
}

func TestStaleAndDrops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	c := &clock{t: time.Now()}
	f := openW(t, path, c)
	_, err := f.Begin()
	require.NoError(t, err)
	require.NoError(t, f.Confirm("present-1", val("present-1", "x"), false))
	require.NoError(t, f.Confirm("present-2", val("present-2", "x"), false))
	require.NoError(t, f.Confirm("removed-1", val("removed-1", "rm"), true))
	require.NoError(t, f.Confirm("removed-2", val("removed-2", "rm"), true))
	require.NoError(t, f.Commit(RunInfo{}, true))

	// A feed that holds present-1 and removed-1 only.
	_, err = f.Begin()
	require.NoError(t, err)
	f.Compare("present-1", val("present-1", "x"), time.Time{})
	f.Compare("removed-1", val("removed-1", "rm"), time.Time{})
	stale, total := f.CountStale()
	assert.Equal(t, 1, stale)
	assert.Equal(t, 2, total, "removed keys are not items the API holds")
	var keys []string
	require.NoError(t, f.StaleKeys(func(k string) error { keys = append(keys, k); return nil }))
	assert.Equal(t, []string{"present-2"}, keys)

	// Incomplete: nothing is forgotten.
	require.NoError(t, f.Commit(RunInfo{}, false))
	assert.Len(t, dump(t, f), 4)

	// Complete: removed-2 (not in the feed, removed) is forgotten; a pruned
	// key, invalidated then confirmed absent, too.
	_, err = f.Begin()
	require.NoError(t, err)
	f.Compare("present-1", val("present-1", "x"), time.Time{})
	f.Compare("removed-1", val("removed-1", "rm"), time.Time{})
	require.NoError(t, f.Invalidate("present-2"))
	require.NoError(t, f.Confirm("present-2", val("present-2", "REMOVE"), true))
	require.NoError(t, f.Commit(RunInfo{}, true))
	f2, err := OpenFile(path, Options{ReadOnly: true})
	require.NoError(t, err)
	defer f2.Close()
	got := dump(t, f2)
	assert.Len(t, got, 2)
	assert.Contains(t, got, "present-1")
	assert.Contains(t, got, "removed-1", "the feed still removes it: a rerun sends nothing")
}

func TestInvalidateAll(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	c := &clock{t: time.Now()}
	f := openW(t, path, c)
	_, err := f.Begin()
	require.NoError(t, err)
	require.NoError(t, f.Confirm("A", val("A", "1"), false))
	require.NoError(t, f.Confirm("B", val("B", "1"), true))
	require.NoError(t, f.Commit(RunInfo{}, true))

	_, err = f.Begin()
	require.NoError(t, err)
	require.Equal(t, KeyUnchanged, f.Compare("A", val("A", "1"), time.Time{}))
	require.NoError(t, f.Confirm("C", val("C", "1"), false)) // before the bulk action
	require.NoError(t, f.InvalidateAll())
	assert.Equal(t, KeyChanged, f.Compare("A", val("A", "1"), time.Time{}), "after a bulk action no value is known")
	assert.Equal(t, KeyNew, f.Compare("E", val("E", "1"), time.Time{}))
	require.NoError(t, f.Invalidate("A"))                    // nothing left to invalidate: no record, no sync
	require.NoError(t, f.Confirm("A", val("A", "2"), false)) // after it
	require.NoError(t, f.Confirm("D", val("D", "1"), false))
	require.NoError(t, f.Commit(RunInfo{}, false))
	got := dump(t, f)
	assert.Equal(t, val("A", "2"), got["A"].Value)
	assert.Equal(t, KeyInfo{Key: "B", Confirmed: got["B"].Confirmed}, got["B"], "B's removal may be undone: unknown, not absent")
	assert.Equal(t, Value(0), got["C"].Value, "confirmed before the bulk action")
	assert.Equal(t, val("D", "1"), got["D"].Value)
}

func TestUnchangedRunKeepsSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	c := &clock{t: time.Now()}
	f := openW(t, path, c)
	require.NoError(t, f.Bind(testID))
	_, err := f.Begin()
	require.NoError(t, err)
	require.NoError(t, f.Confirm("A", val("A", "1"), false))
	require.NoError(t, f.Commit(RunInfo{Read: 1}, true))
	before, err := os.Stat(path)
	require.NoError(t, err)

	_, err = f.Begin()
	require.NoError(t, err)
	require.Equal(t, KeyUnchanged, f.Compare("A", val("A", "1"), time.Time{}))
	require.NoError(t, f.Commit(RunInfo{Read: 7}, true))
	after, err := os.Stat(path)
	require.NoError(t, err)
	assert.True(t, os.SameFile(before, after), "a run that changed nothing does not rewrite the snapshot")
	require.NoError(t, f.Close())

	f = openW(t, path, c)
	info, ok := f.LastRun()
	require.True(t, ok)
	assert.Equal(t, int64(7), info.Read, "but records the run")
	run, err := f.Begin()
	require.NoError(t, err)
	assert.Equal(t, uint64(3), run)
}

func TestLocking(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	c := &clock{t: time.Now()}
	f := openW(t, path, c)
	require.NoError(t, f.Bind(testID))
	_, err := f.Begin()
	require.NoError(t, err)
	require.NoError(t, f.Confirm("A", val("A", "1"), false))
	require.NoError(t, f.Invalidate()) // no keys: nothing written

	_, err = OpenFile(path, Options{Timeout: 50 * time.Millisecond})
	assert.ErrorIs(t, err, ErrLocked)
	assert.ErrorIs(t, Reset(path, Options{Timeout: 50 * time.Millisecond}), ErrLocked)

	// A reader works meanwhile and sees the run's journal as far as written.
	require.NoError(t, f.Flush())
	r, err := OpenFile(path, Options{ReadOnly: true})
	require.NoError(t, err)
	id, ok := r.Identity()
	assert.True(t, ok)
	assert.Equal(t, testID, id)
	assert.Contains(t, dump(t, r), "A")
	assert.Error(t, r.Bind(Identity{Entity: "profiles"}))
	_, err = r.Begin()
	assert.Error(t, err)
	require.NoError(t, r.Close())

	require.NoError(t, f.Commit(RunInfo{}, true))
	require.NoError(t, f.Close())
	f = openW(t, path, c)
	assert.ErrorIs(t, f.Bind(Identity{BaseURL: testID.BaseURL, Entity: "catalog", CatalogID: 2}), ErrMismatch)
}

func TestReadOnlyMissing(t *testing.T) {
	_, err := OpenFile(filepath.Join(t.TempDir(), "nope"), Options{ReadOnly: true})
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestNoRun(t *testing.T) {
	f := openW(t, filepath.Join(t.TempDir(), "state"), &clock{t: time.Now()})
	assert.ErrorIs(t, f.Confirm("A", 1, false), errNoRun)
	assert.ErrorIs(t, f.Invalidate("A"), errNoRun)
	assert.ErrorIs(t, f.InvalidateAll(), errNoRun)
	assert.ErrorIs(t, f.Reject("A"), errNoRun)
	assert.ErrorIs(t, f.Flush(), errNoRun)
	assert.ErrorIs(t, f.Commit(RunInfo{}, true), errNoRun)
}

func TestReject(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	f := openW(t, path, &clock{t: time.Now()})
	_, err := f.Begin()
	require.NoError(t, err)
	require.NoError(t, f.Confirm("A", val("A", "1"), false))
	require.NoError(t, f.Commit(RunInfo{}, true))
	_, err = f.Begin()
	require.NoError(t, err)
	require.Equal(t, KeyRefresh, f.Compare("A", val("A", "1"), time.Now().Add(time.Hour)))
	require.NoError(t, f.Reject("A"))   // the refresh was rejected: the API drifted
	require.NoError(t, f.Reject("new")) // unknown key: nothing to do
	require.NoError(t, f.Commit(RunInfo{}, true))
	got := dump(t, f)
	assert.Equal(t, Value(0), got["A"].Value)
	assert.NotContains(t, got, "new")
}

func TestValueOf(t *testing.T) {
	a := talon.Item{Type: talon.ActionAdd, JSON: []byte(`{"x":1}`)}
	b := talon.Item{Type: talon.ActionRemove, JSON: []byte(`{"y":2}`)}
	base := ValueOf("k", a, b)
	tests := []struct {
		name string
		v    Value
		same bool
	}{
		{"same", ValueOf("k", a, b), true},
		{"other key", ValueOf("k2", a, b), false},
		{"order", ValueOf("k", b, a), false},
		{"one item", ValueOf("k", a), false},
		{"type moved into the JSON", ValueOf("k", talon.Item{JSON: []byte(`ADD{"x":1}`)}, b), false},
		{"key moved into the type", ValueOf("", talon.Item{Type: "k" + a.Type, JSON: a.JSON}, b), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.same, tc.v == base)
		})
	}
	assert.NotZero(t, ValueOf(""))
	assert.Equal(t, "00000000000000ff", Value(255).String())
	js, err := json.Marshal(Value(255))
	require.NoError(t, err)
	assert.Equal(t, `"00000000000000ff"`, string(js))
}
