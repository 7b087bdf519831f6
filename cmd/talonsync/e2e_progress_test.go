package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestE2EProgress checks the three progress modes on a run slow enough to
// draw: status lines when stderr is not a terminal (as under cron), a bar
// with --progress always, and silence with --progress never.
func TestE2EProgress(t *testing.T) {
	srv := startEmulator(t, emulator.Options{Faults: emulator.Faults{Latency: 40 * time.Millisecond}})
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("integrationId,Age:number\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "p%d,%d\n", i, i%90)
	}
	in := writeFile(t, dir, "p.csv", b.String())
	base := []string{"profiles", "--workers", "2", "--batch-size", "100", "--stats-interval", "50ms"}

	tests := []struct {
		name  string
		flags []string
		check func(t *testing.T, stderr string)
	}{
		{
			name:  "status lines when stderr is not a terminal",
			flags: nil,
			check: func(t *testing.T, stderr string) {
				assert.Regexp(t, `talonsync: progress: [\d,]+ of ~[\d,]+ rows done \(\d+%\), [\d,]+ delivered, 0 rejected`, stderr)
			},
		},
		{
			name:  "status lines as JSON",
			flags: []string{"--log-format", "json"},
			check: func(t *testing.T, stderr string) {
				found := false
				for _, line := range strings.Split(stderr, "\n") {
					var m map[string]any
					if json.Unmarshal([]byte(line), &m) == nil && m["progress"] != nil {
						found = true
						p := m["progress"].(map[string]any)
						assert.Contains(t, p, "rows_per_second")
						assert.Contains(t, p, "delivered")
						assert.Contains(t, p, "total_estimate")
					}
				}
				assert.True(t, found, "a JSON progress line: %s", stderr)
			},
		},
		{
			name:  "a bar when asked for",
			flags: []string{"--progress", "always"},
			check: func(t *testing.T, stderr string) {
				assert.Contains(t, stderr, "rows/s")
				assert.Contains(t, stderr, "delivered")
				assert.Contains(t, stderr, "|█")
				assert.NotContains(t, stderr, "talonsync: progress")
			},
		},
		{
			name:  "never silences both",
			flags: []string{"--progress", "never"},
			check: func(t *testing.T, stderr string) {
				assert.NotContains(t, stderr, "progress")
				assert.NotContains(t, stderr, "rows/s)\r")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.Reset()
			args := append(append(append([]string{}, base...), tc.flags...), "--rejects", filepath.Join(t.TempDir(), "r.jsonl"), in)
			res := runCLI(t, srv.URL(), testKey, cli{args: args})
			require.Equal(t, 0, res.Code, res.Stderr)
			tc.check(t, res.Stderr)
			// The summary is printed in every mode.
			assert.Contains(t, res.Stderr, "talonsync profiles: 2000 read, 2000 delivered, 0 rejected, 0 failed")
		})
	}
}
