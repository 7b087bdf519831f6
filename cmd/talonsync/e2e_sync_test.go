package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// The tests in this file run the real talonsync binary against the emulator
// and check what arrived: the emulator's State, its Stats, the exit code, the
// rejects file and the report.

// emptyState is the State of a fresh emulator with the default catalogs and
// audiences, as JSON.
const emptyState = `{"catalogs":{"1":{}},"profiles":{},"audiences":{"1":[],"2":[],"3":[]}}`

// esStateJSON returns the emulator's state as JSON, for exact comparisons.
func esStateJSON(t *testing.T, srv *emulator.Server) string {
	t.Helper()
	b, err := json.Marshal(srv.State())
	require.NoError(t, err)
	return string(b)
}

// esRunCLI is runCLI without the race detector's one-second sleep at a
// clean exit, which would dominate the runtime of these many short runs.
func esRunCLI(t *testing.T, url, key string, c cli) cliResult {
	t.Helper()
	c.env = append(slices.Clone(c.env), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	return runCLI(t, url, key, c)
}

// esGzip compresses s.
func esGzip(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.String()
}

// esCounts checks that the report's counts reconcile.
func esCounts(t *testing.T, r report, read, delivered, rejected int64) {
	t.Helper()
	assert.Equal(t, read, r.Read, "read")
	assert.Equal(t, delivered, r.Delivered, "delivered")
	assert.Equal(t, rejected, r.Rejected, "rejected")
	assert.Equal(t, int64(0), r.Failed, "failed")
	assert.Equal(t, r.Read, r.accounted(), "every row read is accounted for")
}

// esRejectLines returns the line numbers of a rejects file, in file order.
func esRejectLines(t *testing.T, path string) []int64 {
	t.Helper()
	var lines []int64
	for _, r := range readRejects(t, path) {
		n, ok := r["line"].(float64)
		require.True(t, ok, "reject without a line: %v", r)
		lines = append(lines, int64(n))
	}
	return lines
}

func TestE2ESyncFormats(t *testing.T) {
	const catalogWant = `{"catalogs":{"1":{
		"A1":{"sku":"A1","price":9.5,"product":{"name":"Shirt"},"attributes":{"Color":"red","Size":42}},
		"A2":{"sku":"A2","product":null,"attributes":{"Color":"blue"}}}},
		"profiles":{},"audiences":{"1":[],"2":[],"3":[]}}`
	const profilesWant = `{"catalogs":{"1":{}},"profiles":{
		"c1":{"integrationId":"c1","attributes":{"Age":30,"VIP":true,"Name":"Ann"}},
		"c2":{"integrationId":"c2"}},
		"audiences":{"1":[],"2":[],"3":[]}}`
	// "add" creates the profile; a delete of a non-member changes nothing.
	const audiencesWant = `{"catalogs":{"1":{}},"profiles":{
		"p1":{"integrationId":"p1"},"p2":{"integrationId":"p2"}},
		"audiences":{"1":["p1"],"2":["p2"],"3":[]}}`

	const catalogCSV = "sku,price,product,Color,Size:number\nA1,9.5,Shirt,red,42\nA2,,,blue,\n"
	const catalogJSONL = `{"sku":"A1","price":9.5,"product":{"name":"Shirt"},"attributes":{"Color":"red","Size":42}}
{"type":"ADD","payload":{"sku":"A2","attributes":{"Color":"blue"}}}

{"type":"ADD","payload":{"sku":"A3","price":1}}
{"action":"REMOVE","sku":"A3"}
`
	const profilesCSV = "integrationId,Age:number,VIP:boolean,Name\nc1,30,yes,Ann\nc2,,,\n"
	const profilesJSONL = `{"integrationId":"c1","attributes":{"Age":30,"VIP":true,"Name":"Ann"}}
{"integrationId":"c2"}
`
	const audiencesCSV = "profileIntegrationId,audienceId,action\np1,1,add\np2,1,add\np2,2,\np2,1,remove\np3,3,delete\n"
	const audiencesJSONL = `{"profileIntegrationId":"p1"}
{"profileIntegrationId":"p2","action":"add"}
{"profileIntegrationId":"p2","audienceId":2}
{"profileIntegrationId":"p2","action":"remove"}
{"profileIntegrationId":"p3","audienceId":"3","action":"delete"}
`
	tests := []struct {
		name    string
		args    []string // the command and its flags, without the input
		file    string   // input file name; "" reads stdin
		format  string   // --format for stdin
		content string
		gzip    bool
		read    int64
		want    string
	}{
		{name: "catalog csv", args: []string{"catalog", "--catalog-id", "1"}, file: "c.csv", content: catalogCSV, read: 2, want: catalogWant},
		{name: "catalog jsonl with raw actions", args: []string{"catalog", "--catalog-id", "1"}, file: "c.jsonl", content: catalogJSONL, read: 4, want: catalogWant},
		{name: "catalog csv gzip", args: []string{"catalog", "--catalog-id", "1"}, file: "c.csv.gz", content: catalogCSV, gzip: true, read: 2, want: catalogWant},
		{name: "catalog jsonl stdin", args: []string{"catalog", "--catalog-id", "1"}, format: "jsonl", content: catalogJSONL, read: 4, want: catalogWant},
		{name: "profiles csv", args: []string{"profiles"}, file: "p.csv", content: profilesCSV, read: 2, want: profilesWant},
		{name: "profiles jsonl", args: []string{"profiles"}, file: "p.jsonl", content: profilesJSONL, read: 2, want: profilesWant},
		{name: "profiles jsonl gzip", args: []string{"profiles"}, file: "p.jsonl.gz", content: profilesJSONL, gzip: true, read: 2, want: profilesWant},
		{name: "profiles csv stdin", args: []string{"profiles"}, format: "csv", content: profilesCSV, read: 2, want: profilesWant},
		{name: "audiences csv", args: []string{"audiences"}, file: "a.csv", content: audiencesCSV, read: 5, want: audiencesWant},
		{name: "audiences jsonl", args: []string{"audiences", "--audience-id", "1"}, file: "a.jsonl", content: audiencesJSONL, read: 5, want: audiencesWant},
		{name: "audiences csv stdin gzip", args: []string{"audiences"}, format: "csv", content: audiencesCSV, gzip: true, read: 5, want: audiencesWant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startEmulator(t, emulator.Options{})
			dir := t.TempDir()
			rep := filepath.Join(dir, "report.json")
			content := tc.content
			if tc.gzip {
				content = esGzip(t, content)
			}
			c := cli{args: append(slices.Clone(tc.args), "--report", rep), dir: dir}
			input := "-"
			if tc.file != "" {
				input = writeFile(t, dir, tc.file, content)
			} else {
				c.args = append(c.args, "--format", tc.format)
				c.stdin = []byte(content)
			}
			c.args = append(c.args, input)

			res := esRunCLI(t, srv.URL(), testKey, c)
			require.Equal(t, 0, res.Code, res.Stderr)
			assert.JSONEq(t, tc.want, esStateJSON(t, srv))
			esCounts(t, readReport(t, rep), tc.read, tc.read, 0)
			rejects := input + ".rejects.jsonl"
			if input == "-" {
				rejects = filepath.Join(dir, "stdin.rejects.jsonl")
			}
			assert.NoFileExists(t, rejects, "a run without rejects leaves no rejects file")
		})
	}
}

// esWorkload is a generated input with the state it must produce.
type esWorkload struct {
	name  string
	args  []string // command and entity flags
	file  string
	input string
	rows  int64
	check func(t *testing.T, st emulator.State)
}

// esItem is a catalog item as the model sees it.
type esItem struct {
	Price   *float64
	Product *string
	Attrs   map[string]string // attribute -> compact JSON; nil when none
}

func esCompactAttrs(t *testing.T, a map[string]json.RawMessage) map[string]string {
	t.Helper()
	if len(a) == 0 {
		return nil
	}
	out := make(map[string]string, len(a))
	for k, v := range a {
		var b bytes.Buffer
		require.NoError(t, json.Compact(&b, v))
		out[k] = b.String()
	}
	return out
}

// esMerge returns old with given set on top, as a new map; nil when empty.
func esMerge(old, given map[string]string) map[string]string {
	out := maps.Clone(old)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, given)
	if len(out) == 0 {
		return nil
	}
	return out
}

// esKey picks the key of row i: often the previous row's key again, so that
// duplicates come both adjacent and far apart.
func esKey(rng *rand.Rand, prev string, keys int, format string) string {
	if prev != "" && rng.IntN(8) == 0 {
		return prev
	}
	return fmt.Sprintf(format, rng.IntN(keys))
}

// esCatalogWorkload generates mixed ADD, PATCH and REMOVE rows and the state
// they give when applied one by one in file order: ADD (replaceIfExists)
// replaces the item but keeps the price if absent; PATCH merges attributes,
// keeps the price if absent; both set product to null when absent; REMOVE
// deletes.
func esCatalogWorkload(seed uint64, n, keys int) esWorkload {
	rng := rand.New(rand.NewPCG(seed, 1))
	var sb strings.Builder
	sb.WriteString("sku,action,price,product,createIfNotExists,Color,Size:number\n")
	model := map[string]esItem{}
	prev := ""
	for range n {
		sku := esKey(rng, prev, keys, "S%04d")
		prev = sku
		action := [...]string{"ADD", "ADD", "ADD", "add", "PATCH", "PATCH", "Patch", "REMOVE", "REMOVE"}[rng.IntN(9)]
		var price, product, color, size, create string
		it := esItem{}
		attrs := map[string]string{}
		if strings.ToUpper(action) != "REMOVE" {
			if rng.IntN(2) == 0 {
				price = fmt.Sprintf("%d.%02d", rng.IntN(100), rng.IntN(100))
				p, _ := strconv.ParseFloat(price, 64)
				it.Price = &p
			}
			if rng.IntN(2) == 0 {
				product = fmt.Sprintf("P%d", rng.IntN(5))
				it.Product = &product
			}
			if rng.IntN(2) == 0 {
				color = [...]string{"red", "green", "blue"}[rng.IntN(3)]
				attrs["Color"] = strconv.Quote(color)
			}
			if rng.IntN(2) == 0 {
				size = strconv.Itoa(rng.IntN(50))
				attrs["Size"] = size
			}
		}
		if len(attrs) > 0 {
			it.Attrs = attrs
		}
		old, exists := model[sku]
		switch strings.ToUpper(action) {
		case "ADD":
			if exists && it.Price == nil {
				it.Price = old.Price
			}
			model[sku] = it
		case "PATCH":
			create = "true"
			if exists {
				if it.Price == nil {
					it.Price = old.Price
				}
				it.Attrs = esMerge(old.Attrs, it.Attrs)
			}
			model[sku] = it
		case "REMOVE":
			delete(model, sku)
		}
		fmt.Fprintf(&sb, "%s,%s,%s,%s,%s,%s,%s\n", sku, action, price, product, create, color, size)
	}
	return esWorkload{
		name: "catalog", args: []string{"catalog", "--catalog-id", "1"}, file: "catalog.csv",
		input: sb.String(), rows: int64(n),
		check: func(t *testing.T, st emulator.State) {
			t.Helper()
			got := map[string]esItem{}
			for sku, it := range st.Catalogs[1] {
				e := esItem{Price: it.Price, Attrs: esCompactAttrs(t, it.Attributes)}
				if it.Product != nil {
					name := it.Product.Name
					e.Product = &name
				}
				got[sku] = e
			}
			assert.Equal(t, model, got, "catalog state differs from the model")
		},
	}
}

// esProfilesWorkload generates JSONL profiles whose attributes merge.
func esProfilesWorkload(seed uint64, n, keys int) esWorkload {
	rng := rand.New(rand.NewPCG(seed, 2))
	var sb strings.Builder
	model := map[string]map[string]string{}
	prev := ""
	for range n {
		id := esKey(rng, prev, keys, "cust-%04d")
		prev = id
		attrs := map[string]any{}
		if rng.IntN(2) == 0 {
			attrs["Score"] = rng.IntN(1000)
		}
		if rng.IntN(2) == 0 {
			attrs["Tier"] = [...]string{"gold", "silver", "bronze"}[rng.IntN(3)]
		}
		if rng.IntN(2) == 0 {
			attrs["Active"] = rng.IntN(2) == 0
		}
		line := map[string]any{"integrationId": id}
		if len(attrs) > 0 || rng.IntN(2) == 0 {
			line["attributes"] = attrs // sometimes an empty object
		}
		b, _ := json.Marshal(line)
		sb.Write(b)
		sb.WriteByte('\n')
		given := map[string]string{}
		for k, v := range attrs {
			vb, _ := json.Marshal(v)
			given[k] = string(vb)
		}
		model[id] = esMerge(model[id], given)
	}
	return esWorkload{
		name: "profiles", args: []string{"profiles"}, file: "profiles.jsonl",
		input: sb.String(), rows: int64(n),
		check: func(t *testing.T, st emulator.State) {
			t.Helper()
			got := map[string]map[string]string{}
			for id, p := range st.Profiles {
				assert.Equal(t, id, p.IntegrationID)
				got[id] = esCompactAttrs(t, p.Attributes)
			}
			assert.Equal(t, model, got, "profiles state differs from the model")
		},
	}
}

// esAudiencesWorkload generates CSV membership actions where the last
// action per (audience, profile) wins; an add creates the profile.
func esAudiencesWorkload(seed uint64, n, keys int) esWorkload {
	rng := rand.New(rand.NewPCG(seed, 3))
	var sb strings.Builder
	sb.WriteString("profileIntegrationId,audienceId,action\n")
	members := map[int64]map[string]bool{1: {}, 2: {}, 3: {}}
	profiles := map[string]emulator.Profile{}
	prevID, prevAud := "", int64(0)
	for range n {
		id, aud := prevID, prevAud
		if prevID == "" || rng.IntN(8) != 0 {
			id = fmt.Sprintf("m-%04d", rng.IntN(keys))
			aud = int64(1 + rng.IntN(3))
		}
		prevID, prevAud = id, aud
		action := [...]string{"add", "add", "", "ADD", "delete", "remove", "Delete"}[rng.IntN(7)]
		switch strings.ToLower(action) {
		case "add", "":
			members[aud][id] = true
			profiles[id] = emulator.Profile{IntegrationID: id}
		default:
			delete(members[aud], id)
		}
		fmt.Fprintf(&sb, "%s,%d,%s\n", id, aud, action)
	}
	want := map[int64][]string{}
	for aud, m := range members {
		want[aud] = slices.Sorted(maps.Keys(m))
		if want[aud] == nil {
			want[aud] = []string{}
		}
	}
	return esWorkload{
		name: "audiences", args: []string{"audiences"}, file: "audiences.csv",
		input: sb.String(), rows: int64(n),
		check: func(t *testing.T, st emulator.State) {
			t.Helper()
			assert.Equal(t, want, st.Audiences, "audiences state differs from the model")
			// An add creates its profile; an add merged into a later delete
			// of the same membership is not sent, and creates none.
			for id := range st.Profiles {
				assert.Contains(t, profiles, id, "profile %s was created by no add", id)
			}
			for _, ids := range want {
				for _, id := range ids {
					assert.Contains(t, st.Profiles, id, "member %s has no profile", id)
				}
			}
		},
	}
}

// esRun writes w's input, runs it with extra flags and returns the result
// and the report.
func esRun(t *testing.T, srv *emulator.Server, w esWorkload, extra ...string) (cliResult, report) {
	t.Helper()
	dir := t.TempDir()
	in := writeFile(t, dir, w.file, w.input)
	rep := filepath.Join(dir, "report.json")
	args := append(slices.Clone(w.args), extra...)
	args = append(args, "--report", rep, in)
	res := esRunCLI(t, srv.URL(), testKey, cli{args: args, dir: dir})
	if _, err := os.Stat(rep); err != nil {
		return res, report{}
	}
	return res, readReport(t, rep)
}

func TestE2ESyncModelOrder(t *testing.T) {
	tests := []esWorkload{
		esCatalogWorkload(11, 3000, 200),
		esProfilesWorkload(12, 3000, 200),
		esAudiencesWorkload(13, 3000, 200),
	}
	for _, w := range tests {
		t.Run(w.name, func(t *testing.T) {
			srv := startEmulator(t, emulator.Options{})
			res, rep := esRun(t, srv, w, "--workers", "8", "--batch-size", "50")
			require.Equal(t, 0, res.Code, res.Stderr)
			w.check(t, srv.State())
			esCounts(t, rep, w.rows, w.rows, 0)
			st := srv.Stats()
			assert.Equal(t, int64(0), st.Conflicts)
			if w.name == "catalog" {
				assert.Greater(t, rep.Batches, int64(w.rows/50), "small batches: many of them interleave")
				assert.Equal(t, w.rows, st.ItemsApplied, "every row applied exactly once")
				return
			}
			// Profiles and audiences merge the rows of a key not yet sent.
			assert.Positive(t, rep.Merged)
			assert.Equal(t, w.rows-rep.Merged, st.ItemsApplied, "every item applied exactly once")
		})
	}
}

func TestE2ESyncServerRejectsOneRow(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		file    string
		schema  emulator.Schema
		line    func(i int, bad bool) string // the JSONL of 1-based line i
		badLine int
		key     func(i int) string
		stored  func(st emulator.State) map[string]map[string]json.RawMessage
		field   string
		sent    string // the bad row's item as sent, which the reject records
	}{
		{
			name: "profiles", args: []string{"profiles"}, file: "p.jsonl",
			schema: emulator.Schema{emulator.SchemaProfiles: {"Age": "number"}},
			line: func(i int, bad bool) string {
				age := strconv.Itoa(i % 90)
				if bad {
					age = `"abc"`
				}
				return fmt.Sprintf(`{"integrationId":"c%04d","attributes":{"Age":%s}}`, i, age)
			},
			badLine: 437,
			key:     func(i int) string { return fmt.Sprintf("c%04d", i) },
			stored: func(st emulator.State) map[string]map[string]json.RawMessage {
				out := map[string]map[string]json.RawMessage{}
				for k, p := range st.Profiles {
					out[k] = p.Attributes
				}
				return out
			},
			field: "Age",
			sent:  `{"integrationId":"c0437","attributes":{"Age":"abc"}}`,
		},
		{
			name: "catalog", args: []string{"catalog", "--catalog-id", "1"}, file: "c.jsonl",
			schema: emulator.Schema{emulator.SchemaCatalog: {"Size": "number"}},
			line: func(i int, bad bool) string {
				size := strconv.Itoa(i % 90)
				if bad {
					size = `"big"`
				}
				return fmt.Sprintf(`{"sku":"S%04d","attributes":{"Size":%s}}`, i, size)
			},
			badLine: 612,
			key:     func(i int) string { return fmt.Sprintf("S%04d", i) },
			stored: func(st emulator.State) map[string]map[string]json.RawMessage {
				out := map[string]map[string]json.RawMessage{}
				for k, it := range st.Catalogs[1] {
					out[k] = it.Attributes
				}
				return out
			},
			field: "Size",
			sent:  `{"type":"ADD","payload":{"sku":"S0612","attributes":{"Size":"big"},"replaceIfExists":true}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startEmulator(t, emulator.Options{Schema: tc.schema})
			dir := t.TempDir()
			var sb strings.Builder
			for i := 1; i <= 1000; i++ {
				sb.WriteString(tc.line(i, i == tc.badLine))
				sb.WriteByte('\n')
			}
			in := writeFile(t, dir, tc.file, sb.String())
			rep := filepath.Join(dir, "report.json")
			// One worker and the default batch size: all 1000 rows go in one request.
			args := append(slices.Clone(tc.args), "--workers", "1", "--report", rep, in)
			res := esRunCLI(t, srv.URL(), testKey, cli{args: args, dir: dir})
			require.Equal(t, exitRejected, res.Code, res.Stderr)

			rejects := readRejects(t, in+".rejects.jsonl")
			require.Len(t, rejects, 1)
			assert.Equal(t, float64(tc.badLine), rejects[0]["line"])
			reason, _ := rejects[0]["error"].(string)
			assert.Contains(t, reason, "400")
			assert.Contains(t, reason, tc.field)
			assert.JSONEq(t, tc.sent, mustJSON(t, rejects[0]["record"]), "the record is the item as sent")

			stored := tc.stored(srv.State())
			assert.Len(t, stored, 999)
			assert.NotContains(t, stored, tc.key(tc.badLine))
			for _, i := range []int{1, tc.badLine - 1, tc.badLine + 1, 1000} {
				if assert.Contains(t, stored, tc.key(i)) {
					assert.JSONEq(t, strconv.Itoa(i%90), string(stored[tc.key(i)][tc.field]))
				}
			}
			st := srv.Stats()
			assert.Equal(t, int64(1), st.Requests[400], "the 1000-row request is refused once")
			assert.Equal(t, int64(999), st.ItemsApplied)
			esCounts(t, readReport(t, rep), 1000, 999, 1)
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestE2ESyncFaults(t *testing.T) {
	tests := []struct {
		w esWorkload
		// retryAfter sends Retry-After: 1 (whole seconds are the shortest)
		// on 429s; every 429 then pauses all workers for a second, so only
		// the run with the fewest requests gets it. The others rely on the
		// CLI's own backoff, which starts at 250ms.
		retryAfter bool
		// exactlyOnce: the Idempotency-Key makes the API replay, not
		// re-apply, a request that was applied before its connection was cut.
		exactlyOnce bool
	}{
		// Random 429s lower the rate the run learns, so each run is kept
		// to some tens of requests.
		{w: esCatalogWorkload(21, 2000, 2000)},
		{w: esProfilesWorkload(22, 5000, 2500), retryAfter: true, exactlyOnce: true},
		{w: esAudiencesWorkload(23, 2500, 1250)},
	}
	for _, tc := range tests {
		w := tc.w
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			srv := startEmulator(t, emulator.Options{Faults: emulator.Faults{
				Fail429: 0.1, Fail5xx: 0.1, CutAfterApply: 0.1, NoRetryAfter: !tc.retryAfter,
			}})
			res, rep := esRun(t, srv, w, "--workers", "4", "--max-retries", "10", "--batch-size", "50")
			require.Equal(t, 0, res.Code, res.Stderr)
			w.check(t, srv.State())
			esCounts(t, rep, w.rows, w.rows, 0)
			st := srv.Stats()
			t.Logf("report: %d requests, %d retries in %.1fs; emulator: %+v", rep.Requests, rep.Retries, rep.ElapsedSeconds, st)
			// The emulator's seeded fault sequence makes these counts repeatable.
			assert.Positive(t, st.Requests[429], "429s were injected")
			assert.Positive(t, st.Requests[500]+st.Requests[502]+st.Requests[503], "5xx were injected")
			assert.Positive(t, st.CutConnections, "connections were cut")
			assert.Positive(t, rep.Retries, "the CLI retried")
			assert.Equal(t, int64(0), st.Conflicts)
			if tc.exactlyOnce {
				assert.Positive(t, st.IdempotentReplays, "a request re-sent after a cut is replayed")
				assert.Equal(t, w.rows-rep.Merged, st.ItemsApplied, "no item applied twice")
			}
		})
	}
}

func TestE2ESyncWrongKey(t *testing.T) {
	const wrongKey = "tk-WRONG-e2e-7777"
	const workers = 4
	tests := []esWorkload{
		esCatalogWorkload(31, 2000, 500),
		esProfilesWorkload(32, 2000, 500),
		esAudiencesWorkload(33, 2000, 500),
	}
	for _, w := range tests {
		t.Run(w.name, func(t *testing.T) {
			srv := startEmulator(t, emulator.Options{})
			dir := t.TempDir()
			in := writeFile(t, dir, w.file, w.input)
			args := append(slices.Clone(w.args), "--workers", strconv.Itoa(workers), "--batch-size", "10", in)
			start := time.Now()
			res := esRunCLI(t, srv.URL(), wrongKey, cli{args: args, dir: dir})
			elapsed := time.Since(start)
			require.Equal(t, exitFailed, res.Code, res.Stderr)
			// Retries of a 401 would take minutes; the bound is loose on purpose.
			assert.Less(t, elapsed, slow(10*time.Second))
			st := srv.Stats()
			assert.LessOrEqual(t, st.RequestsTotal, int64(workers), "at most one request per worker: %+v", st)
			assert.Positive(t, st.Requests[401])
			assert.Contains(t, res.Stderr, "TALON_API_KEY")
			assert.Contains(t, res.Stderr, "refused the key")
			assert.NotContains(t, res.Stderr, wrongKey)
			assert.NotContains(t, res.Stdout, wrongKey)
			assert.JSONEq(t, emptyState, esStateJSON(t, srv))
		})
	}
}

func TestE2ESyncUnknownCatalog(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "c.csv", "sku,price\nA,1\nB,2\n")
	res := esRunCLI(t, srv.URL(), testKey, cli{args: []string{"catalog", "--catalog-id", "99", in}, dir: dir})
	require.Equal(t, exitFailed, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "catalog 99 not found")
	assert.Contains(t, res.Stderr, "--catalog-id")
	assert.Positive(t, srv.Stats().Requests[404])
	assert.JSONEq(t, emptyState, esStateJSON(t, srv))
}

func TestE2ESyncNoConflicts(t *testing.T) {
	tests := []esWorkload{
		esCatalogWorkload(41, 1500, 100),
		esProfilesWorkload(42, 1500, 100),
		esAudiencesWorkload(43, 1500, 100),
	}
	for _, w := range tests {
		t.Run(w.name, func(t *testing.T) {
			srv := startEmulator(t, emulator.Options{Faults: emulator.Faults{Latency: 5 * time.Millisecond}})
			res, rep := esRun(t, srv, w, "--workers", "8", "--batch-size", "50")
			require.Equal(t, 0, res.Code, res.Stderr)
			st := srv.Stats()
			assert.Equal(t, int64(0), st.Conflicts, "no two requests in flight share a key: %+v", st)
			assert.GreaterOrEqual(t, st.MaxInFlight, int64(2), "requests did run concurrently")
			w.check(t, srv.State())
			esCounts(t, rep, w.rows, w.rows, 0)
		})
	}
}

func TestE2ESyncProfilesRepeatedContent(t *testing.T) {
	// A batch whose body equals an earlier one's is still a new request: the
	// profile may have changed in between.
	tests := []struct {
		name  string
		files []string // synced one after another
		want  string   // attributes of x at the end
	}{
		{
			name:  "within one run",
			files: []string{"{\"integrationId\":\"x\",\"attributes\":{\"A\":1}}\n{\"integrationId\":\"x\",\"attributes\":{\"A\":2}}\n{\"integrationId\":\"x\",\"attributes\":{\"A\":1}}\n"},
			want:  `{"A":1}`,
		},
		{
			name: "across runs",
			files: []string{
				"{\"integrationId\":\"x\",\"attributes\":{\"A\":1}}\n",
				"{\"integrationId\":\"x\",\"attributes\":{\"A\":2}}\n",
				"{\"integrationId\":\"x\",\"attributes\":{\"A\":1}}\n",
			},
			want: `{"A":1}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startEmulator(t, emulator.Options{})
			dir := t.TempDir()
			for i, content := range tc.files {
				in := writeFile(t, dir, fmt.Sprintf("p%d.jsonl", i), content)
				res := esRunCLI(t, srv.URL(), testKey, cli{args: []string{"profiles", "--workers", "1", "--batch-size", "1", in}, dir: dir})
				require.Equal(t, 0, res.Code, res.Stderr)
			}
			assert.JSONEq(t, tc.want, mustJSON(t, srv.State().Profiles["x"].Attributes))
		})
	}
}
