package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/metrics"
	"github.com/talonsync/talonsync/internal/metrics/metricstest"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// readMetrics parses a --metrics-file with Prometheus' own text parser.
func readMetrics(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(f)
	require.NoError(t, err)
	return fams
}

// metric is the value of the one sample of name with labels want.
func metric(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	v, ok := metricstest.Value(fams, name, want)
	require.True(t, ok, "one sample of %s%v in %v", name, want, fams[name])
	return v
}

// TestCLIMetricsFileOnEveryEnding: every ending of a sync that got past
// flag parsing writes --metrics-file, with the report's figures and exit
// code; a failure carries over the last success.
func TestCLIMetricsFileOnEveryEnding(t *testing.T) {
	srv := startEmulator(t, emulator.Options{Catalogs: []int64{42}})
	dir := t.TempDir()
	good := writeFile(t, dir, "good.csv", "sku,price\nA,1\nB,2\n")
	bad := writeFile(t, dir, "bad.csv", "sku,price\nA,1\nB,x\nC,3\n")
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	prom := filepath.Join(dir, "talonsync.prom")
	ckpt := filepath.Join(dir, "good.ckpt")
	var lastSuccess float64
	tests := []struct {
		name     string
		ctx      context.Context
		key      string
		args     []string
		code     int
		rows     map[string]float64
		success  bool   // the last success is this run's end
		carried  bool   // the last success is the previous one's
		requests bool   // requests were sent
		stderr   string // in stderr
	}{
		{name: "completed", key: testKey, args: []string{good}, code: exitOK, rows: map[string]float64{"delivered": 2}, success: true, requests: true},
		{name: "rejected rows", key: testKey, args: []string{bad}, code: exitRejected, rows: map[string]float64{"delivered": 2, "rejected": 1}, success: true, requests: true},
		{name: "checkpointed", key: testKey, args: []string{"--checkpoint", ckpt, good}, code: exitOK, rows: map[string]float64{"delivered": 2}, success: true, requests: true},
		// The report's figures, from the completed checkpoint.
		{name: "nothing to do", key: testKey, args: []string{"--checkpoint", ckpt, good}, code: exitOK, rows: map[string]float64{"delivered": 2}, success: true, requests: true, stderr: "nothing to do"},
		{name: "failed", key: "tk-wrong", args: []string{good}, code: exitFailed, rows: map[string]float64{"failed": 2}, carried: true, requests: true},
		{name: "usage error", key: testKey, args: []string{filepath.Join(dir, "missing.csv")}, code: exitUsage, carried: true},
		{name: "interrupted", ctx: cancelled, key: testKey, args: []string{good}, code: exitInterrupted, carried: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// One lane: the rows of a failed run are in the one request that failed.
			args := append([]string{"catalog", "--catalog-id", "42", "--workers", "1", "--metrics-file", prom, "--rejects", filepath.Join(t.TempDir(), "r.jsonl")}, tc.args...)
			ctx := tc.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			streams, _, errOut := TestIO("")
			env := emuEnv(srv, tc.key)
			before := float64(time.Now().UnixMilli()) / 1e3
			code := run(ctx, args, streams, func(k string) string { return env[k] })
			require.Equal(t, tc.code, code, errOut.String())
			assert.NotContains(t, errOut.String(), "metrics-file", "no warning about the metrics")
			assert.Contains(t, errOut.String(), tc.stderr)

			fams := readMetrics(t, prom)
			base := map[string]string{"entity": "catalog", "target": "42"}
			assert.Equal(t, float64(tc.code), metric(t, fams, metrics.NameExitCode, base))
			for _, o := range metrics.Outcomes {
				assert.Equal(t, tc.rows[o], metric(t, fams, metrics.NameRows, map[string]string{"outcome": o}), o)
			}
			reqs := 0.0
			for _, c := range metrics.Classes {
				reqs += metric(t, fams, metrics.NameRequests, map[string]string{"class": c})
			}
			assert.Equal(t, tc.requests, reqs > 0, "requests: %v", reqs)
			if tc.key == "tk-wrong" {
				assert.Equal(t, reqs, metric(t, fams, metrics.NameRequests, map[string]string{"class": "4xx"}), "the 401s")
			}
			end := metric(t, fams, metrics.NameLastRun, base)
			assert.GreaterOrEqual(t, end, before)
			assert.GreaterOrEqual(t, metric(t, fams, metrics.NameDuration, base), 0.0)
			last := metric(t, fams, metrics.NameLastSuccess, base)
			switch {
			case tc.success:
				assert.Equal(t, end, last)
				lastSuccess = last
			case tc.carried:
				assert.Equal(t, lastSuccess, last, "the last success is carried over")
			}
			fi, err := os.Stat(prom)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
		})
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), ".tmp-", "no temporary file is left")
		assert.NotContains(t, e.Name(), ".check-", "no check file is left")
	}
}

// TestCLIMetricsChecks: metrics outputs that cannot work are usage errors
// before anything is sent.
func TestCLIMetricsChecks(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "p.csv", "integrationId\nc1\n")
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{name: "no such directory", args: []string{"--metrics-file", filepath.Join(dir, "no", "m.prom")}, stderr: "--metrics-file"},
		{name: "a directory", args: []string{"--metrics-file", dir}, stderr: "is a directory"},
		{name: "dry run", args: []string{"--dry-run", "--metrics-file", filepath.Join(dir, "m.prom")}, stderr: "--dry-run"},
		{name: "gateway not a URL", args: []string{"--pushgateway", "pushgateway:9091"}, stderr: "--pushgateway must be"},
		{name: "gateway ftp", args: []string{"--pushgateway", "ftp://gw"}, stderr: "--pushgateway must be"},
		{name: "empty job", args: []string{"--pushgateway", "http://gw", "--pushgateway-job", ""}, stderr: "--pushgateway-job"},
		{name: "grouping without a value", args: []string{"--pushgateway", "http://gw", "--pushgateway-grouping", "shard"}, stderr: "NAME=VALUE"},
		{name: "grouping bad name", args: []string{"--pushgateway", "http://gw", "--pushgateway-grouping", "a-b=1"}, stderr: "NAME=VALUE"},
		{name: "grouping entity", args: []string{"--pushgateway", "http://gw", "--pushgateway-grouping", "entity=x"}, stderr: "set by talonsync"},
		{name: "grouping without gateway", args: []string{"--pushgateway-grouping", "shard=1"}, stderr: "needs --pushgateway"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runMain(t, emuEnv(srv, testKey), "", append(append([]string{"profiles"}, tc.args...), in)...)
			assert.Equal(t, exitUsage, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, tc.stderr)
		})
	}
	assert.Zero(t, srv.Stats().RequestsTotal, "nothing is sent")
	_, err := os.Stat(filepath.Join(dir, "m.prom"))
	assert.True(t, os.IsNotExist(err), "a dry run writes no metrics")

	// A usage error found before the outputs are checked still writes them.
	prom := filepath.Join(dir, "early.prom")
	res := runMain(t, emuEnv(srv, testKey), "", "profiles", "--workers", "0", "--metrics-file", prom, in)
	require.Equal(t, exitUsage, res.Code, res.Stderr)
	assert.Equal(t, float64(exitUsage), metric(t, readMetrics(t, prom), metrics.NameExitCode, nil))
}

// TestCLIPushgateway: the run's metrics reach a Pushgateway, grouped by
// job, entity, target and --pushgateway-grouping; a failed run keeps the
// gateway's last success; a gateway that refuses is a warning only.
func TestCLIPushgateway(t *testing.T) {
	srv := startEmulator(t, emulator.Options{Audiences: []int64{7}})
	gw := metricstest.NewGateway()
	gwSrv := httptest.NewServer(gw)
	t.Cleanup(gwSrv.Close)
	dir := t.TempDir()
	in := writeFile(t, dir, "m.csv", "profileIntegrationId\nc1\nc2\n")
	args := func(extra ...string) []string {
		return append([]string{"audiences", "--audience-id", "7", "--pushgateway", gwSrv.URL, "--pushgateway-job", "nightly",
			"--pushgateway-grouping", "shard=1/2", in}, extra...)
	}
	group := map[string]string{"job": "nightly", "entity": "audiences", "target": "7", "shard": "1/2"}

	res := runMain(t, emuEnv(srv, testKey), "", args()...)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	pushes := gw.Pushes()
	require.Len(t, pushes, 1)
	assert.Equal(t, http.MethodPut, pushes[0].Method)
	assert.Equal(t, group, pushes[0].Grouping)
	fams := gw.Group(group)
	assert.Equal(t, 2.0, metric(t, fams, metrics.NameRows, map[string]string{"outcome": "delivered"}))
	assert.Positive(t, metric(t, fams, metrics.NameRequests, map[string]string{"class": "2xx"}))
	success := metric(t, fams, metrics.NameLastSuccess, nil)
	assert.Equal(t, metric(t, fams, metrics.NameLastRun, nil), success)

	res = runMain(t, emuEnv(srv, "tk-wrong"), "", args()...)
	require.Equal(t, exitFailed, res.Code, res.Stderr)
	pushes = gw.Pushes()
	require.Len(t, pushes, 2)
	assert.Equal(t, http.MethodPost, pushes[1].Method, "a failure updates the group")
	fams = gw.Group(group)
	assert.Equal(t, 1.0, metric(t, fams, metrics.NameExitCode, nil))
	assert.Equal(t, success, metric(t, fams, metrics.NameLastSuccess, nil), "the gateway keeps the last success")

	gw.SetStatus(http.StatusInternalServerError)
	res = runMain(t, emuEnv(srv, testKey), "", args()...)
	assert.Equal(t, exitOK, res.Code, "a refused push does not change the exit code: %s", res.Stderr)
	assert.Contains(t, res.Stderr, "--pushgateway")
	assert.Contains(t, res.Stderr, "500")
}

// TestCLIMetricsMerged: rows sent inside one item with other rows of their
// key are counted as merged, besides delivered, as in the report.
func TestCLIMetricsMerged(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	in := writeFile(t, dir, "p.csv", "integrationId,Tier\np1,a\np2,b\np1,c\np1,d\n")
	prom, rep := filepath.Join(dir, "m.prom"), filepath.Join(dir, "r.json")
	res := runMain(t, emuEnv(srv, testKey), "", "profiles", "--workers", "1", "--metrics-file", prom, "--report", rep, in)
	require.Equal(t, exitOK, res.Code, res.Stderr)
	r := readReport(t, rep)
	require.Positive(t, r.Merged, "p1's rows go out as one item")
	fams := readMetrics(t, prom)
	assert.Equal(t, float64(r.Merged), metric(t, fams, metrics.NameRows, map[string]string{"outcome": "merged"}))
	assert.Equal(t, 4.0, metric(t, fams, metrics.NameRows, map[string]string{"outcome": "delivered"}))
}
