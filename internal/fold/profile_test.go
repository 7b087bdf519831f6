package fold

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

func TestMergeProfile(t *testing.T) {
	tests := []struct {
		name, a, b, want string
	}{
		{
			name: "no attributes on either side",
			a:    `{"integrationId":"c1"}`, b: `{"integrationId":"c1"}`,
			want: `{"integrationId":"c1"}`,
		},
		{
			name: "attributes only in b",
			a:    `{"integrationId":"c1"}`, b: `{"integrationId":"c1","attributes":{"A":1}}`,
			want: `{"integrationId":"c1","attributes":{"A":1}}`,
		},
		{
			name: "b's values win, in the order of first appearance",
			a:    `{"integrationId":"c1","attributes":{"A":1,"B":"x"}}`, b: `{"integrationId":"c1","attributes":{"C":true,"A":2}}`,
			want: `{"integrationId":"c1","attributes":{"A":2,"B":"x","C":true}}`,
		},
		{
			name: "white space between members goes, inside values stays",
			a:    `{ "integrationId" : "c1" , "attributes" : { "A" : [1, 2] } }`, b: `{"integrationId":"c1","attributes":{ }}`,
			want: `{"integrationId":"c1","attributes":{"A":[1, 2]}}`,
		},
		{
			name: "a repeated name within one item counts once, last value",
			a:    `{"integrationId":"c1","attributes":{"A":1,"A":2}}`, b: `{"integrationId":"c1"}`,
			want: `{"integrationId":"c1","attributes":{"A":2}}`,
		},
		{
			name: "null is a value like any other",
			a:    `{"integrationId":"c1","attributes":{"A":1}}`, b: `{"integrationId":"c1","attributes":{"A":null}}`,
			want: `{"integrationId":"c1","attributes":{"A":null}}`,
		},
		{
			name: "attributes null means none",
			a:    `{"integrationId":"c1","attributes":null}`, b: `{"integrationId":"c1","attributes":{"B":{"x":"}\"{"}}}`,
			want: `{"integrationId":"c1","attributes":{"B":{"x":"}\"{"}}}`,
		},
		{
			name: "a's integrationId is kept as written",
			a:    `{"integrationId":"c\u0031"}`, b: `{"integrationId":"c1","attributes":{"A":1}}`,
			want: `{"integrationId":"c\u0031","attributes":{"A":1}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MergeProfile([]byte("prefix:"), []byte(tc.a), []byte(tc.b))
			require.NoError(t, err)
			assert.Equal(t, "prefix:"+tc.want, string(got))
		})
	}
}

func TestMergeProfileErrors(t *testing.T) {
	good := `{"integrationId":"c1"}`
	for _, bad := range []string{
		``, `{`, `[]`, `{"integrationId":"c1"`, `{"integrationId":"c1"}x`,
		`{"attributes":{"A":1}}`, `{"integrationId":"c1","extra":1}`,
		`{"integrationId":"c1","attributes":[1]}`, `{"integrationId":"c1","attributes":{"A":}}`,
		`{"integrationId":"c1","attributes":{"A":"unterminated}}`,
		`{"integrationId":"c1","attributes":{"A":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}}`,
	} {
		for _, pair := range [][2]string{{bad, good}, {good, bad}} {
			got, err := MergeProfile([]byte("keep"), []byte(pair[0]), []byte(pair[1]))
			assert.ErrorIs(t, err, ErrBadItem, "%q + %q", pair[0], pair[1])
			assert.Equal(t, "keep", string(got))
		}
	}
}

// readItems reads JSONL profile lines with the project's reader.
func readItems(t *testing.T, e readers.Entity, lines string) []talon.Item {
	t.Helper()
	in, err := readers.Open("-", strings.NewReader(lines))
	require.NoError(t, err)
	rd, err := readers.NewReader(in, readers.Options{Entity: e, Format: readers.FormatJSONL, AudienceID: 1})
	require.NoError(t, err)
	var items []talon.Item
	for {
		row, err := rd.Next()
		if err == io.EOF {
			return items
		}
		require.NoError(t, err)
		require.NoError(t, row.Err)
		items = append(items, row.Item)
	}
}

// TestProfilesMatchEncoder folds random rows of one profile and checks the
// result byte for byte against what the reader encodes for one line that
// holds the merged attributes in the order of their first appearance; and
// that the emulator ends in the same state either way.
func TestProfilesMatchEncoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	srv, err := emulator.New(emulator.Options{})
	require.NoError(t, err)
	values := []string{`1`, `2.5`, `"s"`, `"a\"b"`, `true`, `false`, `[1, 2]`, `["x","y"]`, `{"k": [1]}`}
	for n := range 500 {
		var lines strings.Builder
		var order []string
		merged := map[string]string{}
		rows := 1 + rng.IntN(6)
		for range rows {
			type member struct{ name, val string }
			var members []member
			for _, name := range []string{"Age", "Tier", "Active", "Tags", "Zip", "Note"} {
				if rng.IntN(3) == 0 {
					members = append(members, member{name, values[rng.IntN(len(values))]})
				}
			}
			rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
			var parts []string
			for _, m := range members {
				parts = append(parts, fmt.Sprintf(`"%s": %s`, m.name, m.val))
				if _, seen := merged[m.name]; !seen {
					order = append(order, m.name)
				}
				merged[m.name] = m.val
			}
			fmt.Fprintf(&lines, `{"integrationId":"cust-1","attributes":{%s}}`+"\n", strings.Join(parts, ", "))
		}
		items := readItems(t, readers.EntityProfiles, lines.String())
		units, err := Fold(talon.EndpointProfiles, items)
		require.NoError(t, err)
		require.Len(t, units, 1)
		assert.Equal(t, Unit{Item: units[0].Item, From: 0, Tail: 0, To: rows}, units[0])
		assert.Equal(t, "cust-1", units[0].Item.Key)
		if rows == 1 {
			assert.Equal(t, string(items[0].JSON), string(units[0].Item.JSON), "one row is sent as read")
		} else {
			var members []string
			for _, name := range order {
				members = append(members, fmt.Sprintf(`"%s":%s`, name, merged[name]))
			}
			line := `{"integrationId":"cust-1"}`
			if len(members) > 0 {
				line = fmt.Sprintf(`{"integrationId":"cust-1","attributes":{%s}}`, strings.Join(members, ","))
			}
			want := readItems(t, readers.EntityProfiles, line+"\n")
			require.Len(t, want, 1)
			require.Equal(t, string(want[0].JSON), string(units[0].Item.JSON), "sequence %d:\n%s", n, lines.String())
		}
		srv.Reset()
		for _, it := range items {
			require.Equal(t, http.StatusNoContent, emuSend(t, srv, talon.EndpointProfiles, it))
		}
		want := srv.State()
		srv.Reset()
		require.Equal(t, http.StatusNoContent, emuSend(t, srv, talon.EndpointProfiles, units[0].Item))
		require.Equal(t, want, srv.State())
	}
}

func TestMergeProfileAllocs(t *testing.T) {
	a := []byte(`{"integrationId":"customer-000123","attributes":{"Age":41,"Tier":"gold","Active":true}}`)
	b := []byte(`{"integrationId":"customer-000123","attributes":{"Tier":"silver","Zip":"10115"}}`)
	dst := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if dst, err = MergeProfile(dst[:0], a, b); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
	allocs = testing.AllocsPerRun(100, func() { _, _ = MergeProfile(nil, a, b) })
	assert.Equal(t, 1.0, allocs, "growing dst is the one allocation")
}

func TestManyAttributes(t *testing.T) {
	var a, b, want strings.Builder
	a.WriteString(`{"integrationId":"c","attributes":{`)
	b.WriteString(`{"integrationId":"c","attributes":{`)
	want.WriteString(`{"integrationId":"c","attributes":{`)
	for i := range 100 {
		if i > 0 {
			a.WriteString(",")
			b.WriteString(",")
			want.WriteString(",")
		}
		fmt.Fprintf(&a, `"A%d":%d`, i, i)
		fmt.Fprintf(&b, `"A%d":%d`, 99-i, -(99 - i))
		fmt.Fprintf(&want, `"A%d":%d`, i, -i)
	}
	for _, s := range []*strings.Builder{&a, &b, &want} {
		s.WriteString("}}")
	}
	got, err := MergeProfile(nil, []byte(a.String()), []byte(b.String()))
	require.NoError(t, err)
	assert.Equal(t, want.String(), string(got))
}

// TestAudiences checks that the last action wins, and documents the one
// difference from sending every row: an "add" creates the profile, so
// "add, delete" sent row by row leaves a profile that the folded "delete"
// does not create.
func TestAudiences(t *testing.T) {
	items := readItems(t, readers.EntityAudiences, `{"profileIntegrationId":"p1","action":"add"}
{"profileIntegrationId":"p1","action":"remove"}
{"profileIntegrationId":"p1","action":"add"}
{"profileIntegrationId":"p1","action":"delete"}
`)
	units, err := Fold(talon.EndpointAudiences, items)
	require.NoError(t, err)
	require.Len(t, units, 1)
	assert.Equal(t, Unit{Item: units[0].Item, From: 0, Tail: 3, To: 4}, units[0])
	assert.Equal(t, string(items[3].JSON), string(units[0].Item.JSON))
	assert.Equal(t, "1/p1", units[0].Item.Key)

	srv, err := emulator.New(emulator.Options{})
	require.NoError(t, err)
	for _, it := range items {
		require.Equal(t, http.StatusNoContent, emuSend(t, srv, talon.EndpointAudiences, it))
	}
	rowByRow := srv.State()
	srv.Reset()
	require.Equal(t, http.StatusNoContent, emuSend(t, srv, talon.EndpointAudiences, units[0].Item))
	folded := srv.State()
	assert.Equal(t, rowByRow.Audiences, folded.Audiences, "the memberships are the same")
	assert.Contains(t, rowByRow.Profiles, "p1")
	assert.NotContains(t, folded.Profiles, "p1", "the folded delete creates no profile")
}

func TestFolderReuse(t *testing.T) {
	f := New(talon.EndpointProfiles)
	buf := []byte(`{"integrationId":"a","attributes":{"X":1}}`)
	require.NoError(t, f.Add(talon.Item{Key: "a", JSON: buf}))
	copy(buf, `{"integrationId":"a","attributes":{"X":2}}`) // the caller reuses its memory
	require.NoError(t, f.Add(talon.Item{Key: "a", JSON: buf}))
	got := f.Units(nil)
	require.Len(t, got, 1)
	assert.Equal(t, `{"integrationId":"a","attributes":{"X":2}}`, string(got[0].Item.JSON))
	assert.Equal(t, 2, f.Rows())

	assert.Equal(t, got, f.Units(nil), "Units does not change the folder")

	kept := slices.Clone(got[0].Item.JSON) // a caller that sends a unit copies it
	f.Reset()
	assert.Empty(t, f.Units(nil))
	require.NoError(t, f.Add(talon.Item{Key: "b", JSON: []byte(`{"integrationId":"b"}`)}))
	got2 := f.Units(nil)
	require.Len(t, got2, 1)
	assert.Equal(t, "b", got2[0].Item.Key)
	assert.Equal(t, `{"integrationId":"b"}`, string(got2[0].Item.JSON))
	assert.Equal(t, `{"integrationId":"a","attributes":{"X":2}}`, string(kept))

	for _, e := range []talon.Endpoint{talon.EndpointCatalog, talon.EndpointAudiences} {
		f := New(e)
		b := slices.Clone(remove.JSON)
		if e == talon.EndpointAudiences {
			b = []byte(`{"action":"add","profileIntegrationId":"p","audienceId":1}`)
		}
		require.NoError(t, f.Add(talon.Item{Key: "S", Type: talon.ActionRemove, JSON: b}))
		want := string(b)
		clear(b)
		assert.Equal(t, want, string(f.Units(nil)[0].Item.JSON), "%v keeps its own copy", e)
	}
}
