package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestNetEffectRejectInMergedItem: the API refuses an item that stands
// for several rows of one key: profiles merged by the chunker (no
// --state) or a key's net effect (--state, profiles and catalog). The
// item is split into its rows, sent one by one in order: the bad row is
// rejected with its own line and the API's reason, the other rows of the
// key are delivered, and the report counts rows.
func TestNetEffectRejectInMergedItem(t *testing.T) {
	t.Parallel()
	profiles := []string{
		`{"integrationId":"a","attributes":{"Tier":"bronze"}}`,
		`{"integrationId":"k","attributes":{"City":"Oslo","Tier":"silver"}}`,
		`{"integrationId":"b","attributes":{"Tier":"gold"}}`,
		`{"integrationId":"a","attributes":{"City":"Rome"}}`,
		`{"integrationId":"k","attributes":{"Age":"abc"}}`, // line 5: Age is a number
		`{"integrationId":"c","attributes":{"Age":40}}`,
		`{"integrationId":"k","attributes":{"Tier":"gold"}}`,
		`{"integrationId":"b","attributes":{"Age":7}}`,
	}
	profilesHeld := func(t *testing.T, st emulator.State) map[string]string {
		out := map[string]string{}
		for id, p := range st.Profiles {
			out[id] = mustJSON(t, p.Attributes)
		}
		return out
	}
	profilesWant := map[string]string{
		"a": `{"City":"Rome","Tier":"bronze"}`,
		"b": `{"Age":7,"Tier":"gold"}`,
		"c": `{"Age":40}`,
		"k": `{"City":"Oslo","Tier":"gold"}`, // lines 2 and 7, in order
	}
	catalog := []string{
		`{"type":"ADD","payload":{"sku":"s","price":5,"attributes":{"Color":"red"},"replaceIfExists":true}}`,
		`{"sku":"t","price":1}`,
		`{"type":"PATCH","payload":{"sku":"s","attributes":{"Size":"big"}}}`, // line 3: Size is a number
		`{"type":"PATCH","payload":{"sku":"s","attributes":{"Color":"blue"}}}`,
		`{"sku":"t","price":2}`,
	}
	tests := []struct {
		name    string
		args    []string
		state   bool
		schema  emulator.Schema
		lines   []string
		badLine int
		field   string
		key     string // of the bad row, with its history key
		hist    string
		sent    []int // the lines of key's rows the API applied, in order
		merged  int64
		held    func(t *testing.T, st emulator.State) map[string]string
		want    map[string]string
		// unchanged: the rows a rerun finds unchanged (the bad key's are
		// sent again: the API may hold anything for it).
		unchanged int64
	}{
		{
			name: "profiles merged by the chunker", args: []string{"profiles"},
			schema: emulator.Schema{emulator.SchemaProfiles: {"Age": "number", "City": "string", "Tier": "string"}},
			lines:  profiles, badLine: 5, field: "Age", key: "k", hist: emulator.ProfileKey("k"), sent: []int{2, 7},
			merged: 4, held: profilesHeld, want: profilesWant,
		},
		{
			name: "profiles net effect", args: []string{"profiles"}, state: true,
			schema: emulator.Schema{emulator.SchemaProfiles: {"Age": "number", "City": "string", "Tier": "string"}},
			lines:  profiles, badLine: 5, field: "Age", key: "k", hist: emulator.ProfileKey("k"), sent: []int{2, 7},
			merged: 4, held: profilesHeld, want: profilesWant, unchanged: 5,
		},
		{
			name: "catalog net effect", args: []string{"catalog", "--catalog-id", "1"}, state: true,
			schema: emulator.Schema{emulator.SchemaCatalog: {"Color": "string", "Size": "number"}},
			lines:  catalog, badLine: 3, field: "Size", key: "s", hist: emulator.CatalogKey(1, "s"), sent: []int{1, 4},
			merged: 3, unchanged: 2,
			held: func(t *testing.T, st emulator.State) map[string]string {
				out := map[string]string{}
				for sku, it := range st.Catalogs[1] {
					out[sku] = fmt.Sprintf("%v %s", *it.Price, mustJSON(t, it.Attributes))
				}
				return out
			},
			want: map[string]string{"s": `5 {"Color":"blue"}`, "t": `2 null`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startEmulator(t, emulator.Options{Schema: tc.schema, History: true})
			dir := t.TempDir()
			in := writeFile(t, dir, "feed.jsonl", strings.Join(tc.lines, "\n")+"\n")
			rejects := filepath.Join(dir, "rejects.jsonl")
			args := append(slices.Clone(tc.args), "--workers", "1", "--rejects", rejects)
			if tc.state {
				args = append(args, "--state", filepath.Join(dir, "state"))
			}
			rep := filepath.Join(dir, "report.json")
			res := runCLI(t, srv.URL(), testKey, cli{args: append(args, "--report", rep, in), dir: dir})
			require.Equal(t, exitRejected, res.Code, res.Stderr)

			got := readRejects(t, rejects)
			require.Len(t, got, 1)
			assert.Equal(t, float64(tc.badLine), got[0]["line"])
			reason, _ := got[0]["error"].(string)
			assert.Contains(t, reason, fmt.Sprintf("line %d", tc.badLine))
			assert.Contains(t, reason, "400")
			assert.Contains(t, reason, tc.field)
			assert.JSONEq(t, tc.lines[tc.badLine-1], mustJSON(t, got[0]["record"]), "the record is the bad row")

			var sent []string
			for _, raw := range srv.History(tc.hist) {
				sent = append(sent, string(raw))
			}
			require.Len(t, sent, len(tc.sent), "the key's other rows, each alone: %v", sent)
			for i, line := range tc.sent {
				assert.JSONEq(t, tc.lines[line-1], sent[i], "applied item %d is line %d", i, line)
			}
			assert.Equal(t, tc.want, tc.held(t, srv.State()))
			// The request with the merged item, then the bad row alone.
			assert.Equal(t, int64(2), srv.Stats().Requests[400], "refused requests")

			r := readReport(t, rep)
			esCounts(t, r, int64(len(tc.lines)), int64(len(tc.lines)-1), 1)
			assert.Equal(t, tc.merged, r.Merged)
			if !tc.state {
				return
			}
			entries := stateEntries(t, filepath.Join(dir, "state"))
			assert.NotContains(t, entries, tc.key, "the API may hold anything for the bad row's key")
			assert.Len(t, entries, len(tc.want)-1)

			res = runCLI(t, srv.URL(), testKey, cli{args: append(args, "--report", rep, in), dir: dir})
			require.Equal(t, exitRejected, res.Code, res.Stderr)
			r = readReport(t, rep)
			assert.Equal(t, tc.unchanged, r.Unchanged, "a rerun sends the bad row's key again, and only it")
			assert.Equal(t, r.Read, r.accounted())
			assert.Equal(t, tc.want, tc.held(t, srv.State()))
		})
	}
}

// TestNetEffectAudienceAddThenDelete: a file adds member X and later
// deletes it. Where the two rows combine, only the delete is sent, so the
// profile the add would have created is not created: with --state (the
// key's net effect over the whole file) and without it when the chunker
// still holds the add unsent (rows near each other). Without --state and
// with the rows far apart, the add is sent before the delete is read:
// both go, in order, and the add's profile stays.
func TestNetEffectAudienceAddThenDelete(t *testing.T) {
	t.Parallel()
	feed := func(gap int) string {
		var b strings.Builder
		b.WriteString("profileIntegrationId,action\nX,add\n")
		for i := range gap {
			fmt.Fprintf(&b, "F%04d,add\n", i)
		}
		b.WriteString("X,delete\n")
		return b.String()
	}
	tests := []struct {
		name    string
		state   bool
		gap     int
		actions []string // applied to X, in order
		merged  int64
	}{
		{name: "state, far apart", state: true, gap: 2000, actions: []string{"delete"}, merged: 1},
		{name: "state, adjacent", state: true, gap: 0, actions: []string{"delete"}, merged: 1},
		{name: "no state, in one batch", gap: 5, actions: []string{"delete"}, merged: 1},
		{name: "no state, far apart", gap: 2000, actions: []string{"add", "delete"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startEmulator(t, emulator.Options{History: true})
			dir := t.TempDir()
			in := writeFile(t, dir, "members.csv", feed(tc.gap))
			rep := filepath.Join(dir, "report.json")
			args := []string{"audiences", "--audience-id", "1", "--workers", "1", "--batch-size", "10", "--report", rep}
			if tc.state {
				args = append(args, "--state", filepath.Join(dir, "state"))
			}
			res := runCLI(t, srv.URL(), testKey, cli{args: append(args, in), dir: dir})
			require.Equal(t, exitOK, res.Code, res.Stderr)

			var actions []string
			for _, raw := range srv.History(emulator.AudienceKey(1, "X")) {
				var a struct{ Action string }
				require.NoError(t, json.Unmarshal(raw, &a))
				actions = append(actions, a.Action)
			}
			assert.Equal(t, tc.actions, actions, "actions applied to X")
			st := srv.State()
			assert.NotContains(t, st.Audiences[1], "X")
			assert.Len(t, st.Audiences[1], tc.gap)
			_, created := st.Profiles["X"]
			assert.Equal(t, slices.Contains(tc.actions, "add"), created, "X's profile exists only if an add was sent")
			r := readReport(t, rep)
			esCounts(t, r, int64(tc.gap+2), int64(tc.gap+2), 0)
			assert.Equal(t, tc.merged, r.Merged)
		})
	}
}
