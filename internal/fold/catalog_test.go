package fold

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon"
)

func cat(typ talon.ActionType, payload string) talon.Item {
	return talon.Item{Key: "S", Type: typ, Remove: typ == talon.ActionRemove,
		JSON: []byte(`{"type":"` + string(typ) + `","payload":{"sku":"S"` + payload + `}}`)}
}

var (
	addR   = func(p string) talon.Item { return cat(talon.ActionAdd, p+`,"replaceIfExists":true`) }
	addN   = func(p string) talon.Item { return cat(talon.ActionAdd, p+`,"replaceIfExists":false`) }
	patchC = func(p string) talon.Item { return cat(talon.ActionPatch, p+`,"createIfNotExists":true`) }
	patchN = func(p string) talon.Item { return cat(talon.ActionPatch, p) }
	remove = cat(talon.ActionRemove, "")
)

// TestCatalogJoins checks the joins the package documents, item for item.
func TestCatalogJoins(t *testing.T) {
	type unit struct {
		json           string
		from, tail, to int
	}
	tests := []struct {
		name string
		rows []talon.Item
		want []unit
	}{
		{
			name: "one row is sent as it was read",
			rows: []talon.Item{patchN(`,"attributes":{ "A" : 1 }`)},
			want: []unit{{`{"type":"PATCH","payload":{"sku":"S","attributes":{ "A" : 1 }}}`, 0, 0, 1}},
		},
		{
			name: "ADD_r then PATCH is one ADD_r: attributes merge, the PATCH's price and product win",
			rows: []talon.Item{addR(`,"price":1,"product":{"name":"P"},"attributes":{"A":1,"B":2}`), patchN(`,"price":2,"attributes":{"B":3,"C":4}`)},
			want: []unit{{`{"type":"ADD","payload":{"sku":"S","price":2,"attributes":{"A":1,"B":3,"C":4},"replaceIfExists":true}}`, 0, 0, 2}},
		},
		{
			name: "ADD_r then PATCH without price keeps the ADD's price",
			rows: []talon.Item{addR(`,"price":1,"attributes":{"A":1}`), patchC(`,"product":{"name":"Q"}`)},
			want: []unit{{`{"type":"ADD","payload":{"sku":"S","price":1,"product":{"name":"Q"},"attributes":{"A":1},"replaceIfExists":true}}`, 0, 0, 2}},
		},
		{
			name: "PATCH_c then PATCH is one PATCH_c",
			rows: []talon.Item{patchC(`,"attributes":{"A":1}`), patchN(`,"price":3,"attributes":{"A":2,"B":1}`)},
			want: []unit{{`{"type":"PATCH","payload":{"sku":"S","price":3,"attributes":{"A":2,"B":1},"createIfNotExists":true}}`, 0, 0, 2}},
		},
		{
			name: "PATCH then PATCH is one PATCH, rejected together for an absent SKU",
			rows: []talon.Item{patchN(`,"price":3,"attributes":{"A":1}`), patchN(`,"attributes":{"B":1}`)},
			want: []unit{{`{"type":"PATCH","payload":{"sku":"S","price":3,"attributes":{"A":1,"B":1}}}`, 0, 0, 2}},
		},
		{
			name: "anything then REMOVE is REMOVE; the earlier rows are superseded",
			rows: []talon.Item{addN(`,"price":1`), patchN(`,"attributes":{"A":1}`), remove},
			want: []unit{{`{"type":"REMOVE","payload":{"sku":"S"}}`, 0, 2, 3}},
		},
		{
			name: "PATCH of a SKU that may be absent, then REMOVE, is one REMOVE",
			rows: []talon.Item{patchN(`,"attributes":{"A":1}`), remove},
			want: []unit{{`{"type":"REMOVE","payload":{"sku":"S"}}`, 0, 1, 2}},
		},
		{
			name: "anything then ADD_r with price is that ADD, but a REMOVE before stays: it drops the price adjustments an ADD keeps",
			rows: []talon.Item{remove, patchN(`,"attributes":{"A":1}`), addR(`,"price":5`)},
			want: []unit{
				{`{"type":"REMOVE","payload":{"sku":"S"}}`, 0, 0, 1},
				{`{"type":"ADD","payload":{"sku":"S","price":5,"replaceIfExists":true}}`, 1, 2, 3},
			},
		},
		{
			name: "REMOVE then ADD_r without price stays two: the ADD would keep a price the REMOVE dropped",
			rows: []talon.Item{remove, addR(`,"attributes":{"A":1}`)},
			want: []unit{
				{`{"type":"REMOVE","payload":{"sku":"S"}}`, 0, 0, 1},
				{`{"type":"ADD","payload":{"sku":"S","attributes":{"A":1},"replaceIfExists":true}}`, 1, 1, 2},
			},
		},
		{
			name: "PATCH then PATCH_c stays two: for an absent SKU the first is rejected and the second creates",
			rows: []talon.Item{patchN(`,"attributes":{"A":1}`), patchC(`,"attributes":{"B":1}`)},
			want: []unit{
				{`{"type":"PATCH","payload":{"sku":"S","attributes":{"A":1}}}`, 0, 0, 1},
				{`{"type":"PATCH","payload":{"sku":"S","attributes":{"B":1},"createIfNotExists":true}}`, 1, 1, 2},
			},
		},
		{
			name: "ADD then ADD without replaceIfExists stays two: the second is rejected",
			rows: []talon.Item{addN(`,"price":1`), addN(`,"price":2`)},
			want: []unit{
				{`{"type":"ADD","payload":{"sku":"S","price":1,"replaceIfExists":false}}`, 0, 0, 1},
				{`{"type":"ADD","payload":{"sku":"S","price":2,"replaceIfExists":false}}`, 1, 1, 2},
			},
		},
		{
			name: "REMOVE, ADD_r without price, then ADD_r with price: the REMOVE, then the last ADD",
			rows: []talon.Item{remove, addR(`,"attributes":{"A":1}`), addR(`,"price":2,"attributes":{"B":1}`)},
			want: []unit{
				{`{"type":"REMOVE","payload":{"sku":"S"}}`, 0, 0, 1},
				{`{"type":"ADD","payload":{"sku":"S","price":2,"attributes":{"B":1},"replaceIfExists":true}}`, 1, 2, 3},
			},
		},
		{
			name: "REMOVE then a rejected PATCH stays two, so the PATCH is rejected",
			rows: []talon.Item{remove, patchN(`,"attributes":{"A":1}`)},
			want: []unit{
				{`{"type":"REMOVE","payload":{"sku":"S"}}`, 0, 0, 1},
				{`{"type":"PATCH","payload":{"sku":"S","attributes":{"A":1}}}`, 1, 1, 2},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			units, err := Fold(talon.EndpointCatalog, tc.rows)
			require.NoError(t, err)
			var got []unit
			for _, u := range units {
				assert.Equal(t, "S", u.Item.Key)
				assert.Equal(t, u.Item.Type == talon.ActionRemove, u.Item.Remove)
				got = append(got, unit{string(u.Item.JSON), u.From, u.Tail, u.To})
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCatalogErrors(t *testing.T) {
	tests := []struct {
		name string
		item talon.Item
		want error
	}{
		{"PATCH_MANY", talon.Item{Type: talon.ActionPatchMany, JSON: []byte(`{"type":"PATCH_MANY","payload":{"filters":[{"attr":"A","op":"EQ","value":1}],"price":1}}`)}, ErrBulk},
		{"REMOVE_MANY", talon.Item{Type: talon.ActionRemoveMany, JSON: []byte(`{"type":"REMOVE_MANY","payload":{}}`)}, ErrBulk},
		{"truncated", talon.Item{Type: talon.ActionAdd, JSON: []byte(`{"type":"ADD","payload":{"sku":"S"`)}, ErrBadItem},
		{"no sku", talon.Item{Type: talon.ActionAdd, JSON: []byte(`{"type":"ADD","payload":{"price":1}}`)}, ErrBadItem},
		{"unknown member", talon.Item{Type: talon.ActionAdd, JSON: []byte(`{"type":"ADD","payload":{"sku":"S","colour":1}}`)}, ErrBadItem},
		{"bad flag", talon.Item{Type: talon.ActionAdd, JSON: []byte(`{"type":"ADD","payload":{"sku":"S","replaceIfExists":1}}`)}, ErrBadItem},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := New(talon.EndpointCatalog)
			require.NoError(t, f.Add(addR(`,"price":1`)))
			assert.ErrorIs(t, f.Add(tc.item), tc.want)
			units := f.Units(nil)
			require.Len(t, units, 1, "a failed Add leaves the folder as it was")
			assert.Equal(t, 1, f.Rows())
		})
	}
}

// TestCatalogModel folds thousands of random sequences and checks, for an
// absent SKU and for random present ones, that sending the units gives the
// state and the per-row outcomes of sending the rows one by one.
func TestCatalogModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sequences, units, rows := 20000, 0, 0
	if testing.Short() {
		sequences = 2000
	}
	for n := range sequences {
		seq := make([]talon.Item, 1+rng.IntN(8))
		for i := range seq {
			seq[i] = genAction(rng, "S")
		}
		got, err := Fold(talon.EndpointCatalog, seq)
		require.NoError(t, err)
		units += len(got)
		rows += len(seq)
		checkCover(t, seq, got)
		rowActions := make([]mAction, len(seq))
		for i, it := range seq {
			rowActions[i] = mDecode(t, it.JSON)
		}
		unitActions := make([]mAction, len(got))
		for i, u := range got {
			unitActions[i] = mDecode(t, u.Item.JSON)
		}
		priors := []mSKU{{}, genPrior(rng), genPrior(rng), genPrior(rng)}
		for _, prior := range priors {
			want, rej := runRows(prior, rowActions)
			s := prior
			for i, u := range got {
				var r bool
				s, r = unitActions[i].apply(s)
				for i := u.Tail; i < u.To; i++ {
					if !assert.Equal(t, rej[i], r, "sequence %d from %v: row %d's outcome differs from its unit's %s", n, prior, i, u.Item.JSON) {
						t.FailNow()
					}
				}
			}
			if !assert.Equal(t, want, s, "sequence %d from %v:\n%s\nunits:\n%s", n, prior, showItems(seq), showUnits(got)) {
				t.FailNow()
			}
		}
	}
	t.Logf("%d sequences, %d rows, %d units", sequences, rows, units)
}

// checkCover checks that units cover the rows in order, and that rows are
// superseded only by a REMOVE or an ADD_r with price.
func checkCover(t *testing.T, rows []talon.Item, units []Unit) {
	t.Helper()
	next := 0
	for _, u := range units {
		require.Equal(t, next, u.From)
		require.True(t, u.From <= u.Tail && u.Tail < u.To, "unit %+v", u)
		if u.Tail > u.From {
			a, err := parseAction(rows[u.Tail])
			require.NoError(t, err)
			require.True(t, a.typ == talon.ActionRemove || (a.typ == talon.ActionAdd && a.replace == yes && a.price != nil),
				"row %d supersedes: %s", u.Tail, rows[u.Tail].JSON)
		}
		next = u.To
	}
	require.Equal(t, len(rows), next)
}

// TestCatalogGreedyIsOptimal checks that joining each row with the run
// before it, as rows come, gives as few units as the best split of the
// rows into joinable runs (found by dynamic programming).
func TestCatalogGreedyIsOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	worse := 0
	for range 5000 {
		seq := make([]talon.Item, 1+rng.IntN(12))
		for i := range seq {
			seq[i] = genAction(rng, "S")
		}
		got, err := Fold(talon.EndpointCatalog, seq)
		require.NoError(t, err)
		if best := bestSplit(t, seq); len(got) > best {
			worse++
		}
	}
	assert.Zero(t, worse, "sequences where the fold is not minimal")
}

func bestSplit(t *testing.T, seq []talon.Item) int {
	spans := make([]span, len(seq))
	for i, it := range seq {
		a, err := parseAction(it)
		require.NoError(t, err)
		spans[i] = single(&a, i, it)
	}
	joinable := func(i, j int) bool { // rows [i, j)
		if j-i == 1 {
			return true
		}
		s := spans[i]
		for k := i + 1; k < j; k++ {
			s = compose(&s, &spans[k])
		}
		_, _, _, ok := s.joined()
		return ok
	}
	best := make([]int, len(seq)+1)
	for j := 1; j <= len(seq); j++ {
		best[j] = len(seq) + 1
		for i := range j {
			if best[i]+1 < best[j] && joinable(i, j) {
				best[j] = best[i] + 1
			}
		}
	}
	return best[len(seq)]
}

func showItems(items []talon.Item) string {
	s := ""
	for i, it := range items {
		s += fmt.Sprintf("  %d %s\n", i, it.JSON)
	}
	return s
}

func showUnits(units []Unit) string {
	s := ""
	for _, u := range units {
		s += fmt.Sprintf("  [%d,%d,%d) %s\n", u.From, u.Tail, u.To, u.Item.JSON)
	}
	return s
}
