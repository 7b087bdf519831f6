package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/metrics"
	"github.com/talonsync/talonsync/internal/metrics/metricstest"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestE2EMetrics runs the binary as cron would, on success, with rejected
// rows and on failure: each run leaves the metrics file node_exporter
// reads (parsed back here) and pushes the same figures to an in-process
// Pushgateway.
func TestE2EMetrics(t *testing.T) {
	srv := startEmulator(t, emulator.Options{Catalogs: []int64{42}, Schema: emulator.Schema{emulator.SchemaCatalog: {"Color": "string"}}})
	gw := metricstest.NewGateway()
	gwSrv := httptest.NewServer(gw)
	t.Cleanup(gwSrv.Close)
	dir := t.TempDir()
	prom := filepath.Join(dir, "textfile", "talonsync-catalog.prom")
	require.NoError(t, os.Mkdir(filepath.Dir(prom), 0o755))
	good := writeFile(t, dir, "good.csv", "sku,price,Color\nA,1,red\nB,2,blue\nC,3,green\n")
	rejects := writeFile(t, dir, "rejects.csv", "sku,price,Color,Season\nA,1,red,\nB,x,blue,\nC,3,green,summer\n")
	group := map[string]string{"job": "talonsync", "entity": "catalog", "target": "42"}

	var success float64
	for _, tc := range []struct {
		name, key, in string
		code          int
		rows          map[string]float64
		method        string
	}{
		{name: "success", key: testKey, in: good, code: exitOK, rows: map[string]float64{"delivered": 3}, method: http.MethodPut},
		{name: "rejects", key: testKey, in: rejects, code: exitRejected, rows: map[string]float64{"delivered": 1, "rejected": 2}, method: http.MethodPut},
		{name: "failure", key: "tk-wrong", in: good, code: exitFailed, rows: map[string]float64{"failed": 3}, method: http.MethodPost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw.Reset()
			res := runCLI(t, srv.URL(), tc.key, cli{args: []string{"catalog", "--catalog-id", "42", "--workers", "1",
				"--metrics-file", prom, "--pushgateway", gwSrv.URL, tc.in}})
			require.Equal(t, tc.code, res.Code, res.Stderr)
			assert.NotContains(t, res.Stderr, "WARN")

			file := readMetrics(t, prom)
			pushes := gw.Pushes()
			require.Len(t, pushes, 1)
			assert.Equal(t, tc.method, pushes[0].Method)
			assert.Equal(t, group, pushes[0].Grouping)
			pushed := gw.Group(group)
			labels := map[string]string{"entity": "catalog", "target": "42"}
			for _, o := range metrics.Outcomes {
				want := tc.rows[o]
				assert.Equal(t, want, metric(t, file, metrics.NameRows, map[string]string{"outcome": o}), o)
				assert.Equal(t, want, metric(t, pushed, metrics.NameRows, map[string]string{"outcome": o}), o)
			}
			assert.Equal(t, float64(tc.code), metric(t, file, metrics.NameExitCode, labels))
			assert.Equal(t, float64(tc.code), metric(t, pushed, metrics.NameExitCode, nil))
			assert.Equal(t, metric(t, file, metrics.NameRequests, map[string]string{"class": "2xx"}),
				metric(t, pushed, metrics.NameRequests, map[string]string{"class": "2xx"}))
			if tc.code == exitFailed {
				assert.Positive(t, metric(t, file, metrics.NameRequests, map[string]string{"class": "4xx"}), "the 401")
			}
			end := metric(t, file, metrics.NameLastRun, labels)
			last := metric(t, file, metrics.NameLastSuccess, labels)
			if tc.code == exitFailed {
				assert.Equal(t, success, last, "the file carries the last success over")
				assert.Equal(t, success, metric(t, pushed, metrics.NameLastSuccess, nil), "the gateway keeps it")
				return
			}
			assert.Equal(t, end, last, "exit %d is a success", tc.code)
			assert.Equal(t, last, metric(t, pushed, metrics.NameLastSuccess, nil))
			success = last
		})
	}
}
