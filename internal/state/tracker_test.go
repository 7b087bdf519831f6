package state

import (
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

func catalogRow(line int64, typ talon.ActionType, sku, price string) readers.Row {
	js := `{"type":"` + string(typ) + `","payload":{"sku":"` + sku + `","price":` + price + `}}`
	it := talon.Item{Key: sku, Type: typ, Remove: typ == talon.ActionRemove, JSON: []byte(js)}
	return readers.Row{Seq: line - 2, Line: line, Item: it}
}

// sliceSource yields rows, then io.EOF.
type sliceSource struct{ rows []readers.Row }

func (s *sliceSource) Next() (readers.Row, error) {
	if len(s.rows) == 0 {
		return readers.Row{}, io.EOF
	}
	r := s.rows[0]
	s.rows = s.rows[1:]
	return r, nil
}

func TestTrackerUnchanged(t *testing.T) {
	add := talon.ActionAdd
	tests := []struct {
		name  string
		state []readers.Row // delivered in an earlier run
		rows  []readers.Row
		skip  []bool
	}{
		{
			name:  "unchanged rows are skipped, changed and new ones are not",
			state: []readers.Row{catalogRow(2, add, "A", "1"), catalogRow(3, add, "B", "1")},
			rows:  []readers.Row{catalogRow(2, add, "A", "1"), catalogRow(3, add, "B", "2"), catalogRow(4, add, "C", "1")},
			skip:  []bool{true, false, false},
		},
		{
			// State A=2; the file sets A=1 then A=2: skipping the second
			// row would leave A at 1.
			name:  "a key passed on earlier in the run is never skipped",
			state: []readers.Row{catalogRow(2, add, "A", "2")},
			rows:  []readers.Row{catalogRow(2, add, "A", "1"), catalogRow(3, add, "A", "2")},
			skip:  []bool{false, false},
		},
		{
			name:  "the first of two equal rows is skipped, and so is the second",
			state: []readers.Row{catalogRow(2, add, "A", "2")},
			rows:  []readers.Row{catalogRow(2, add, "A", "2"), catalogRow(3, add, "A", "2")},
			skip:  []bool{true, true},
		},
		{
			name:  "a PATCH with the same payload as the recorded ADD is sent",
			state: []readers.Row{catalogRow(2, add, "A", "1")},
			rows:  []readers.Row{catalogRow(2, talon.ActionPatch, "A", "1")},
			skip:  []bool{false},
		},
		{
			name:  "removals are always sent",
			state: []readers.Row{catalogRow(2, talon.ActionRemove, "A", "1")},
			rows:  []readers.Row{catalogRow(2, talon.ActionRemove, "A", "1")},
			skip:  []bool{false},
		},
		{
			name:  "nothing after a bulk action is skipped",
			state: []readers.Row{catalogRow(2, add, "A", "1")},
			rows: []readers.Row{
				{Line: 2, Item: talon.Item{Type: talon.ActionRemoveMany, JSON: []byte(`{"type":"REMOVE_MANY","payload":{}}`)}},
				catalogRow(3, add, "A", "1"),
			},
			skip: []bool{false, false},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTemp(t)
			require.NoError(t, NewTracker(s, 1, readers.EntityCatalog).Delivered(tc.state))
			tr := NewTracker(s, 2, readers.EntityCatalog)
			for i := range tc.rows {
				assert.Equal(t, tc.skip[i], tr.Unchanged(&tc.rows[i]), "row %d", i)
			}
		})
	}
}

func TestTrackerDelivered(t *testing.T) {
	s, _ := openTemp(t)
	tr := NewTracker(s, 1, readers.EntityCatalog)
	a := catalogRow(2, talon.ActionAdd, "A", "1")
	require.NoError(t, tr.Delivered([]readers.Row{a, catalogRow(3, talon.ActionAdd, "B", "1")}))
	h, ok, err := s.lookup("A")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, HashItem(&a.Item), h)

	require.NoError(t, tr.Delivered([]readers.Row{catalogRow(4, talon.ActionRemove, "B", "0")}))
	_, ok, _ = s.lookup("B")
	assert.False(t, ok, "REMOVE deletes the key")

	require.NoError(t, tr.Delivered([]readers.Row{{Item: talon.Item{Type: talon.ActionPatchMany}}}))
	assert.Zero(t, countKeys(t, s), "a bulk action clears the state")

	// Audiences: add records, delete removes.
	as, _ := openTemp(t)
	at := NewTracker(as, 1, readers.EntityAudiences)
	mk := func(action string) readers.Row {
		js := `{"action":"` + action + `","profileIntegrationId":"p1","audienceId":7}`
		return readers.Row{Item: talon.Item{Key: "7/p1", Remove: action == talon.AudienceDelete, JSON: []byte(js)}}
	}
	require.NoError(t, at.Delivered([]readers.Row{mk("add")}))
	_, ok, _ = as.lookup("7/p1")
	assert.True(t, ok)
	require.NoError(t, at.Delivered([]readers.Row{mk("delete")}))
	_, ok, _ = as.lookup("7/p1")
	assert.False(t, ok)
}

func TestTrackerSeenAndRemovals(t *testing.T) {
	s, _ := openTemp(t)
	var known []readers.Row
	for _, k := range []string{"A", "B", "C", "D"} {
		known = append(known, catalogRow(2, talon.ActionAdd, k, "1"))
	}
	require.NoError(t, NewTracker(s, 1, readers.EntityCatalog).Delivered(known))

	tr := NewTracker(s, 2, readers.EntityCatalog)
	src := tr.Seen(&sliceSource{rows: []readers.Row{
		catalogRow(2, talon.ActionAdd, "B", "1"),
		catalogRow(3, talon.ActionRemove, "C", "0"), // a removal does not keep C
		catalogRow(4, talon.ActionAdd, "E", "1"),    // new: not in the state
	}})
	ok, _ := tr.Complete()
	assert.False(t, ok, "not complete before EOF")
	for {
		_, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
	}
	ok, why := tr.Complete()
	assert.True(t, ok, why)
	stale, total, err := tr.Stale()
	require.NoError(t, err)
	assert.Equal(t, [2]int64{3, 4}, [2]int64{stale, total})

	var removed []string
	rm := tr.Removals()
	for {
		row, err := rm.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		assert.Equal(t, talon.ActionRemove, row.Item.Type)
		assert.True(t, row.Item.Remove)
		assert.Zero(t, row.Line, "line 0 marks a generated removal")
		removed = append(removed, row.Item.Key)
	}
	assert.Equal(t, []string{"A", "C", "D"}, removed)

	// A row that did not parse makes the feed incomplete.
	tr3 := NewTracker(s, 3, readers.EntityCatalog)
	src = tr3.Seen(&sliceSource{rows: []readers.Row{{Line: 2, Err: errors.New("bad price")}}})
	for {
		if _, err := src.Next(); err != nil {
			break
		}
	}
	ok, why = tr3.Complete()
	assert.False(t, ok)
	assert.Contains(t, why, "1 rows could not be read")
}
