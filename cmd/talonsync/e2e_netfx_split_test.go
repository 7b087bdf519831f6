package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/state"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// TestStateSplitOfAClaimedKeyAfterKill: the state claims key K's net
// effect v (rows r1 {A:1}, r2 {A:2,B:x}, r3 {C:3}), and a run sends v
// again although it did not change: --refresh-after found the claim old,
// or --full. Since v was confirmed the API changed its schema, so the
// item is refused and split into its rows: r1 is applied alone, and the
// API then holds A=1, which is not v. The run is killed there (while r2's
// request is held back). The state must no longer claim v, or the next
// run takes K for unchanged and the API keeps A=1 for good.
func TestStateSplitOfAClaimedKeyAfterKill(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		flags []string
		age   bool // the claims are 3 hours old
	}{
		{name: "refresh", flags: []string{"--refresh-after", "1h"}, age: true},
		{name: "full", flags: []string{"--full"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var (
				armed   atomic.Bool
				arrived = make(chan struct{})
				release = make(chan struct{})
				once    sync.Once
			)
			hold := func(r emulator.RequestRecord) {
				// r2 alone: the row after the one whose delivery leaves the
				// API holding something other than v.
				if armed.Load() && bytes.Contains(r.Body, []byte(`"B":"x"`)) && !bytes.Contains(r.Body, []byte(`"C"`)) {
					close(arrived)
					<-release
				}
			}
			srv := startEmulator(t, emulator.Options{OnRequest: hold})
			t.Cleanup(func() { once.Do(func() { close(release) }) }) // before the emulator closes
			dir := t.TempDir()
			sp := filepath.Join(dir, "profiles.state")

			// Another key's delivery comes first in the state's order, so
			// that the split's records wait in the journal's buffer.
			var fillers []string
			for i := range 10 {
				fillers = append(fillers, fmt.Sprintf("f%02d", i))
			}
			first := slices.MinFunc(fillers, func(a, b string) int { return cmpHash(a, b) })
			k := ""
			for i := 0; k == ""; i++ {
				if c := fmt.Sprintf("k%d", i); cmpHash(c, first) > 0 {
					k = c
				}
			}
			var b strings.Builder
			for _, f := range fillers {
				fmt.Fprintf(&b, `{"integrationId":%q,"attributes":{"A":"f"}}`+"\n", f)
			}
			fmt.Fprintf(&b, `{"integrationId":%q,"attributes":{"A":"1"}}`+"\n", k)
			fmt.Fprintf(&b, `{"integrationId":%q,"attributes":{"A":"2","B":"x"}}`+"\n", k)
			fmt.Fprintf(&b, `{"integrationId":%q,"attributes":{"C":"3"}}`+"\n", k)
			in := writeFile(t, dir, "profiles.jsonl", b.String())
			args := func(extra ...string) []string {
				return append([]string{"profiles", "--state", sp, "--workers", "1", "--batch-size", "1",
					"--rejects", filepath.Join(dir, "rejects.jsonl")}, append(extra, in)...)
			}
			want := `{"A":"2","B":"x","C":"3"}`

			res := runCLI(t, srv.URL(), testKey, cli{args: args(), dir: dir})
			require.Equal(t, exitOK, res.Code, res.Stderr)
			require.JSONEq(t, want, mustJSON(t, srv.State().Profiles[k].Attributes))
			v := allEntries(t, sp)[k].Value
			require.NotZero(t, v)
			if tc.age {
				keys := map[int]bool{}
				all := append(slices.Clone(fillers), k)
				for i := range all {
					keys[i] = true
				}
				ageState(t, sp, nfEntity{key: func(i int) string { return all[i] }}, keys, 3*time.Hour)
			}

			require.NoError(t, srv.SetSchema(emulator.Schema{emulator.SchemaProfiles: {"A": "string", "B": "number", "C": "string"}}))
			armed.Store(true)
			p := startCLI(t, srv.URL(), cli{args: args(tc.flags...), dir: dir})
			select {
			case <-arrived:
			case <-p.done:
				t.Fatalf("the run ended before r2 was sent alone: %s", p.errOut)
			case <-time.After(slow(30 * time.Second)):
				t.Fatalf("r2 was not sent alone: %s", p.errOut)
			}
			require.JSONEq(t, `{"A":"1","B":"x","C":"3"}`, mustJSON(t, srv.State().Profiles[k].Attributes), "r1 was applied alone")
			require.True(t, killWhenFile(p, func() bool { return true }))
			assert.NotEqual(t, v, allEntries(t, sp)[k].Value, "the state still claims v, which the API does not hold")

			require.NoError(t, srv.SetSchema(emulator.Schema{}))
			res = runCLI(t, srv.URL(), testKey, cli{args: args(), dir: dir})
			require.Equal(t, exitOK, res.Code, res.Stderr)
			assert.JSONEq(t, want, mustJSON(t, srv.State().Profiles[k].Attributes), "the next run sends v again")
		})
	}
}

// cmpHash orders entity keys as a state file and its runs do.
func cmpHash(a, b string) int {
	ha, hb := state.KeyHash(a), state.KeyHash(b)
	switch {
	case ha < hb:
		return -1
	case ha > hb:
		return 1
	}
	return 0
}
