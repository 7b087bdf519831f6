package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestBarFrameFits: a frame never needs more columns than the terminal
// has, keeps the entity, the percentage and the counts, and drops the
// other parts, least useful first, instead of wrapping.
func TestBarFrameFits(t *testing.T) {
	v := view{done: 18_100, total: 43_000, delivered: 17_900, rejected: 200, rate: 2_100, eta: 12 * time.Second, state: "retrying"}
	tests := []struct {
		width       int
		want, avoid []string
	}{
		{width: 30, want: []string{"profiles", "42%", "18,100/~43,000"}, avoid: []string{"|", "rows/s", "ETA"}},
		{width: 48, want: []string{"retrying"}, avoid: []string{"rows/s"}},
		{width: 71, want: []string{"retrying", "|█", "rows/s", "ETA 12s"}, avoid: []string{"delivered"}},
		{width: 79, want: []string{"retrying", "|█", "rows/s", "ETA 12s"}},
		{width: 119, want: []string{"retrying", "|█", "rows/s", "ETA 12s", "(17,900 delivered, 200 rejected)"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.width), func(t *testing.T) {
			f := barFrame("profiles", v, tc.width)
			assert.LessOrEqual(t, utf8.RuneCountInString(f), tc.width, "%q", f)
			assert.NotContains(t, f, "\n")
			for _, w := range tc.want {
				assert.Contains(t, f, w, "%q", f)
			}
			for _, w := range tc.avoid {
				assert.NotContains(t, f, w, "%q", f)
			}
		})
	}
	// Without a size (stdin): counts, no percentage, no bar.
	f := barFrame("profiles", view{done: 18_176, rate: 900}, 80)
	assert.Equal(t, "profiles 18,176 rows 900 rows/s (0 delivered, 0 rejected)", f)
}

// TestConsoleClearsTheBarForLogLines: a log line written while a bar is
// shown erases the bar's line first and draws the bar again after it.
func TestConsoleClearsTheBarForLogLines(t *testing.T) {
	var out bytes.Buffer
	c := newConsole(&out)
	c.draw("profiles 42% |████      |")
	_, err := c.Write([]byte("talonsync: warning: interrupt signal received\n"))
	require.NoError(t, err)
	c.clear()
	assert.Equal(t, clearLine+"profiles 42% |████      |"+clearLine+"talonsync: warning: interrupt signal received\n\rprofiles 42% |████      |"+clearLine, out.String())
}

// TestProgressBarAtNarrowWidths runs a sync with a bar on a 72- and a
// 60-column terminal: no line the bar draws is wider than the terminal,
// and the summary stands on a line of its own.
func TestProgressBarAtNarrowWidths(t *testing.T) {
	srv := startEmulator(t, emulator.Options{Faults: emulator.Faults{Latency: 30 * time.Millisecond}})
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("integrationId,Age:number\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "p%d,%d\n", i, i%90)
	}
	in := writeFile(t, dir, "p.csv", b.String())
	for _, width := range []int{72, 60} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			streams, _, errOut := TestIO("")
			streams.ErrTTY, streams.ErrWidth = true, func() int { return width }
			env := emuEnv(srv, testKey)
			code := Main([]string{"profiles", "--workers", "1", "--batch-size", "100", "--rejects", filepath.Join(t.TempDir(), "r.jsonl"), in},
				streams, func(k string) string { return env[k] })
			require.Equal(t, exitOK, code, errOut.String())
			frames := 0
			for _, line := range strings.Split(errOut.String(), "\n") {
				for _, frame := range strings.Split(line, "\r") {
					frame = strings.TrimPrefix(frame, "\x1b[K")
					if strings.Contains(frame, "|") {
						frames++
						assert.Less(t, utf8.RuneCountInString(frame), width, "a frame wider than the terminal: %q", frame)
					}
				}
			}
			assert.Positive(t, frames, "the bar was drawn: %q", errOut.String())
			assert.Contains(t, errOut.String(), clearLine+"talonsync profiles: 3000 read, 3000 delivered", "the bar is cleared before the summary")
		})
	}
}
