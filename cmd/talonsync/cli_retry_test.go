package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/metrics"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// catalogSchema is a catalog schema without Season, the attribute the
// tests' rows use before it exists.
var catalogSchema = emulator.Schema{emulator.SchemaCatalog: {"Color": "string"}}

// withSeason is catalogSchema after Season was created.
var withSeason = emulator.Schema{emulator.SchemaCatalog: {"Color": "string", "Season": "string"}}

// syncRejects syncs content as a catalog file into catalog 42 and returns
// its rejects file.
func syncRejects(t *testing.T, srv *emulator.Server, dir, content string) string {
	t.Helper()
	in := writeFile(t, dir, "items.csv", content)
	res := runMain(t, emuEnv(srv, testKey), "", "catalog", "--catalog-id", "42", in)
	require.Equal(t, exitRejected, res.Code, res.Stderr)
	return in + ".rejects.jsonl"
}

// TestCLIRetryCarriesInputRejects: retry sends the API rejects and lists
// the input rejects with a hint, without sending them; both kinds of what
// still fails go to the new rejects file, as they were.
func TestCLIRetryCarriesInputRejects(t *testing.T) {
	srv := startEmulator(t, emulator.Options{Catalogs: []int64{42}, Schema: catalogSchema})
	dir := t.TempDir()
	rejects := syncRejects(t, srv, dir, "sku,price,Color,Season\n"+
		"A,1,red,summer\n"+ // 2: API reject
		"B,x,red,\n"+ // 3: input reject
		"C,3,blue,winter\n") // 4: API reject
	require.NoError(t, srv.SetSchema(withSeason))
	report := filepath.Join(dir, "report.json")
	prom := filepath.Join(dir, "retry.prom")
	res := runMain(t, emuEnv(srv, testKey), "", "retry", "--report", report, "--metrics-file", prom, rejects)
	require.Equal(t, exitRejected, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "retrying 2 rows the API rejected to catalog 42")
	assert.Contains(t, res.Stderr, "1 row rejected while reading")
	assert.Contains(t, res.Stderr, `line 3: column "price"`, "the input reject is listed")
	assert.Contains(t, res.Stderr, "fix them in "+filepath.Join(dir, "items.csv"))

	items := srv.State().Catalogs[42]
	assert.Contains(t, items, "A")
	assert.Contains(t, items, "C")
	assert.NotContains(t, items, "B")

	out := filepath.Join(dir, "items.csv.rejects.retry.jsonl")
	again := readRejects(t, out)
	require.Len(t, again, 1)
	orig := readRejects(t, rejects)
	var input map[string]any
	for _, r := range orig {
		if r["source"] == "input" {
			input = r
		}
	}
	assert.Equal(t, input, again[0], "the input reject is carried over as it was")
	r := readReport(t, report)
	assert.Equal(t, int64(3), r.Read)
	assert.Equal(t, int64(2), r.Delivered)
	assert.Equal(t, int64(1), r.Rejected)
	assert.Equal(t, out, r.RejectsPath)
	fams := readMetrics(t, prom)
	labels := map[string]string{"entity": "catalog", "target": "42"}
	assert.Equal(t, 3.0, metric(t, fams, metrics.NameExitCode, labels))
	assert.Equal(t, 2.0, metric(t, fams, metrics.NameRows, map[string]string{"outcome": "delivered", "target": "42"}))
	assert.Equal(t, 1.0, metric(t, fams, metrics.NameRows, map[string]string{"outcome": "rejected", "target": "42"}))
}

// TestCLIRetryStillFailing: a retry before the cause is fixed rejects the
// rows again, with the API's reason, their input lines and the origin; a
// retry of that file, once fixed, delivers them.
func TestCLIRetryStillFailing(t *testing.T) {
	srv := startEmulator(t, emulator.Options{Catalogs: []int64{42}, Schema: catalogSchema})
	dir := t.TempDir()
	rejects := syncRejects(t, srv, dir, "sku,price,Color,Season\nA,1,red,summer\nB,2,red,\nC,3,blue,winter\n")
	out := filepath.Join(dir, "again.jsonl")
	res := runMain(t, emuEnv(srv, testKey), "", "retry", "--rejects", out, rejects)
	require.Equal(t, exitRejected, res.Code, res.Stderr)
	// Rejects are written as the lanes finish, so match them by line.
	byLine := func(rs []map[string]any) map[float64]map[string]any {
		m := map[float64]map[string]any{}
		for _, r := range rs {
			m[r["line"].(float64)] = r
		}
		return m
	}
	orig, again := byLine(readRejects(t, rejects)), byLine(readRejects(t, out))
	require.Len(t, again, 2)
	for line, a := range again {
		o, ok := orig[line]
		require.True(t, ok, "line %v was rejected before", line)
		assert.Equal(t, o["record"], a["record"])
		for _, k := range []string{"source", "entity", "catalog_id", "input", "format"} {
			assert.Equal(t, o[k], a[k], k)
		}
		assert.Contains(t, a["error"], "Season")
	}

	require.NoError(t, srv.SetSchema(withSeason))
	res = runMain(t, emuEnv(srv, testKey), "", "retry", out)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.Len(t, srv.State().Catalogs[42], 3)
}

// TestCLIRetryTargets: the recorded target is used unless a flag
// overrides it.
func TestCLIRetryTargets(t *testing.T) {
	srv := startEmulator(t, emulator.Options{Catalogs: []int64{42, 43}, Audiences: []int64{7, 8},
		Schema: catalogSchema})
	dir := t.TempDir()
	rejects := syncRejects(t, srv, dir, "sku,price,Season\nA,1,summer\n")
	require.NoError(t, srv.SetSchema(withSeason))
	res := runMain(t, emuEnv(srv, testKey), "", "retry", "--catalog-id", "43", rejects)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	st := srv.State()
	assert.Contains(t, st.Catalogs[43], "A", "--catalog-id overrides the recorded catalog")
	assert.NotContains(t, st.Catalogs[42], "A")

	// Memberships: a hand-made rejects file, as the API would have left it
	// for an audience that did not accept them.
	aud := writeFile(t, dir, "members.rejects.jsonl",
		`{"line":2,"error":"line 2: api 400: x","record":{"action":"add","profileIntegrationId":"p1","audienceId":7},"source":"api","entity":"audiences","input":"m.csv","format":"csv"}`+"\n"+
			`{"line":3,"error":"line 3: api 400: x","record":{"action":"add","profileIntegrationId":"p2","audienceId":7},"source":"api","entity":"audiences","input":"m.csv","format":"csv"}`+"\n")
	res = runMain(t, emuEnv(srv, testKey), "", "retry", "--audience-id", "8", aud)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	st = srv.State()
	assert.ElementsMatch(t, []string{"p1", "p2"}, st.Audiences[8], "--audience-id overrides each record's")
	assert.Empty(t, st.Audiences[7])
	res = runMain(t, emuEnv(srv, testKey), "", "retry", aud)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.ElementsMatch(t, []string{"p1", "p2"}, srv.State().Audiences[7], "without the flag, the records' own audience")
}

// TestCLIRetryOldFile: a rejects file written before talonsync recorded
// the source and the origin is retried with --entity (and --catalog-id);
// the source is told by the reason.
func TestCLIRetryOldFile(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	old := writeFile(t, dir, "p.csv.rejects.jsonl",
		`{"line":2,"error":"line 2: api 400: unknown attribute","record":{"integrationId":"p1","attributes":{"Tier":"gold"}}}`+"\n"+
			`{"line":3,"error":"line 3: column \"Age\": value \"x\" is not a number","record":{"integrationId":"p2","Age":"x"}}`+"\n")
	res := runMain(t, emuEnv(srv, testKey), "", "retry", old)
	require.Equal(t, exitUsage, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "--entity")
	assert.Zero(t, srv.Stats().RequestsTotal)

	res = runMain(t, emuEnv(srv, testKey), "", "retry", "--entity", "profiles", old)
	require.Equal(t, exitRejected, res.Code, res.Stderr)
	assert.Contains(t, srv.State().Profiles, "p1")
	assert.NotContains(t, srv.State().Profiles, "p2")
	again := readRejects(t, filepath.Join(dir, "p.csv.rejects.retry.jsonl"))
	require.Len(t, again, 1)
	assert.Equal(t, "input", again[0]["source"])
	assert.Equal(t, "profiles", again[0]["entity"])

	catalogOld := writeFile(t, dir, "c.rejects.jsonl", `{"line":2,"error":"line 2: api 400: x","record":{"type":"ADD","payload":{"sku":"A"}}}`+"\n")
	res = runMain(t, emuEnv(srv, testKey), "", "retry", "--entity", "catalog", catalogOld)
	require.Equal(t, exitUsage, res.Code, res.Stderr)
	assert.Contains(t, res.Stderr, "--catalog-id")
	res = runMain(t, emuEnv(srv, testKey), "", "retry", "--entity", "catalog", "--catalog-id", "1", catalogOld)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.Contains(t, srv.State().Catalogs[1], "A")
}

// TestCLIRetryEditedRecord: a record edited in the rejects file is sent
// as edited; one the edit broke is rejected before it is sent, naming the
// rejects file's line, and stays an API reject for the next retry.
func TestCLIRetryEditedRecord(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	file := writeFile(t, dir, "p.rejects.jsonl",
		`{"line":2,"error":"e","record":{"integrationId":"p1","attributes":{"Tier":"fixed by hand"}},"source":"api","entity":"profiles"}`+"\n"+
			"\n"+
			`{"line":5,"error":"e","record":{"integrationId":"p2","attributes":{"Bad Name":1}},"source":"api","entity":"profiles"}`+"\n"+
			`{"line":6,"error":"e","source":"api","entity":"profiles"}`+"\n")
	res := runMain(t, emuEnv(srv, testKey), "", "retry", file)
	require.Equal(t, exitRejected, res.Code, res.Stderr)
	assert.JSONEq(t, `"fixed by hand"`, string(srv.State().Profiles["p1"].Attributes["Tier"]))
	again := readRejects(t, filepath.Join(dir, "p.rejects.retry.jsonl"))
	require.Len(t, again, 2)
	assert.Equal(t, 5.0, again[0]["line"])
	assert.Equal(t, "api", again[0]["source"])
	assert.Contains(t, again[0]["error"], "line 5: ")
	assert.Contains(t, again[0]["error"], "p.rejects.jsonl:3", "the line of the rejects file that holds the record")
	assert.Equal(t, map[string]any{"integrationId": "p2", "attributes": map[string]any{"Bad Name": 1.0}}, again[0]["record"])
	assert.Contains(t, again[1]["error"], "no record to send")
}

// TestCLIRetryRefusals: a rejects file retry cannot use is a usage error
// before anything is sent.
func TestCLIRetryRefusals(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	profile := `{"line":2,"error":"e","record":{"integrationId":"p1"},"source":"api","entity":"profiles"}`
	catalog := `{"line":2,"error":"e","record":{"type":"REMOVE","payload":{"sku":"A"}},"source":"api","entity":"catalog","catalog_id":%d}`
	good := writeFile(t, dir, "good.jsonl", profile+"\n")
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{name: "missing file", args: []string{filepath.Join(dir, "none.jsonl")}, stderr: "none.jsonl"},
		{name: "two files", args: []string{good, good}, stderr: "exactly one"},
		{name: "not a reject", args: []string{writeFile(t, dir, "bad.jsonl", profile+"\nhello\n")}, stderr: "bad.jsonl:2"},
		{name: "empty", args: []string{writeFile(t, dir, "empty.jsonl", "\n")}, stderr: "holds no rejects"},
		{name: "mixed entities", args: []string{writeFile(t, dir, "mixed.jsonl", profile+"\n"+strings.ReplaceAll(catalog, "%d", "1")+"\n")}, stderr: "one entity at a time"},
		{name: "several catalogs", args: []string{writeFile(t, dir, "cats.jsonl", strings.ReplaceAll(catalog, "%d", "1")+"\n"+strings.ReplaceAll(catalog, "%d", "2")+"\n")}, stderr: "several catalogs"},
		{name: "catalog id for profiles", args: []string{"--catalog-id", "1", good}, stderr: "--catalog-id is for catalog"},
		{name: "audience id for profiles", args: []string{"--audience-id", "1", good}, stderr: "--audience-id is for audience"},
		{name: "entity differs", args: []string{"--entity", "catalog", good}, stderr: "--entity catalog"},
		{name: "unknown entity flag", args: []string{"--entity", "coupons", good}, stderr: "--entity must be"},
		{name: "rejects is the input", args: []string{"--rejects", good, good}, stderr: "is the file being retried"},
		{name: "sync-only flag", args: []string{"--checkpoint", "x", good}, stderr: "unknown flag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runMain(t, emuEnv(srv, testKey), "", append([]string{"retry"}, tc.args...)...)
			assert.Equal(t, exitUsage, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, tc.stderr)
		})
	}
	assert.Zero(t, srv.Stats().RequestsTotal, "nothing is sent")
	b, err := os.ReadFile(good)
	require.NoError(t, err)
	assert.Equal(t, profile+"\n", string(b), "the rejects file is never changed")
}

// TestCLIRetryDryRun: a dry run checks the records and sends nothing.
func TestCLIRetryDryRun(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	file := writeFile(t, dir, "p.rejects.jsonl", `{"line":2,"error":"e","record":{"integrationId":"p1"},"source":"api","entity":"profiles"}`+"\n")
	report := filepath.Join(dir, "r.json")
	res := runMain(t, emuEnv(srv, testKey), "", "retry", "--dry-run", "--report", report, file)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	assert.Zero(t, srv.Stats().RequestsTotal)
	var r map[string]any
	b, err := os.ReadFile(report)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &r))
	assert.Equal(t, 1.0, r["would_send"])
	assert.Equal(t, true, r["dry_run"])
}

// TestCLIRetryTakesTheSendingFlags: retry paces and sends as a sync does,
// so it takes the same sending flags.
func TestCLIRetryTakesTheSendingFlags(t *testing.T) {
	help := runMain(t, nil, "", "retry", "--help").Stdout
	for _, f := range []string{"--workers", "--max-workers", "--batch-size", "--rate", "--max-retries", "--request-timeout", "--grace"} {
		assert.Contains(t, help, f)
	}
}
