package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// The chaos soak syncs inputs with repeated keys into an emulator that adds
// latency jitter, 429s, 5xx answers and connections cut after the apply,
// kills the CLI with SIGKILL at three random moments and resumes it with the
// same command each time, then checks the emulator's state, the per-key
// order of what it applied and the counts.

var (
	chaosRows = flag.Int("chaos.rows", 3000, "rows per entity of the chaos soak")
	chaosLong = flag.Bool("chaos.long", false, "run the chaos soak with 100k rows per entity")
	chaosSeed = flag.Uint64("chaos.seed", 20240531, "seed of the chaos soak's input and kill points")
)

const (
	chaosWorkers   = 4
	chaosBatchSize = 50
	chaosKills     = 3
)

// chaosRow is one input row as the model applies it.
type chaosRow struct {
	key   string  // sku, integrationId, or profileIntegrationId
	seq   int     // the row's index: the Seq attribute
	price float64 // catalog
	name  string  // catalog product / profiles Name; "" = not sent (profiles)
	patch bool    // catalog: PATCH instead of ADD
	aud   int64   // audiences
	add   bool    // audiences: add, else delete
}

type chaosCase struct {
	entity string
	file   string
	args   []string
	gen    func(rng *rand.Rand, rows int) ([]chaosRow, string)
	// histKey is the emulator's History key of a row.
	histKey func(r chaosRow) string
	// check compares the emulator's final state with the rows applied in order.
	check func(t *testing.T, rows []chaosRow, st emulator.State)
}

func chaosKeyCount(rows int) int { return max(rows/4, 1) }

func chaosCases() []chaosCase {
	return []chaosCase{
		{
			entity: "catalog", file: "products.csv", args: []string{"--catalog-id", "1"},
			gen: func(rng *rand.Rand, n int) ([]chaosRow, string) {
				var b strings.Builder
				b.WriteString("sku,product,price,action,Seq:number\n")
				seen := map[string]bool{}
				rows := make([]chaosRow, n)
				for i := range rows {
					r := chaosRow{key: fmt.Sprintf("SKU-%05d", rng.IntN(chaosKeyCount(n))), seq: i,
						price: float64(rng.IntN(10000)) / 100, name: fmt.Sprintf("P%d", rng.IntN(50))}
					r.patch = seen[r.key] && rng.IntN(3) == 0
					seen[r.key] = true
					action := "ADD"
					if r.patch {
						action = "PATCH"
					}
					fmt.Fprintf(&b, "%s,%s,%s,%s,%d\n", r.key, r.name, strconv.FormatFloat(r.price, 'f', -1, 64), action, i)
					rows[i] = r
				}
				return rows, b.String()
			},
			histKey: func(r chaosRow) string { return emulator.CatalogKey(1, r.key) },
			check: func(t *testing.T, rows []chaosRow, st emulator.State) {
				want := map[string]chaosRow{}
				for _, r := range rows {
					want[r.key] = r // every row gives every field: the last one wins
				}
				got := st.Catalogs[1]
				require.Len(t, got, len(want))
				for sku, r := range want {
					it, ok := got[sku]
					if !assert.True(t, ok, "sku %s missing", sku) {
						continue
					}
					require.NotNil(t, it.Price, sku)
					assert.Equal(t, r.price, *it.Price, sku)
					require.NotNil(t, it.Product, sku)
					assert.Equal(t, r.name, it.Product.Name, sku)
					assert.JSONEq(t, strconv.Itoa(r.seq), string(it.Attributes["Seq"]), sku)
				}
			},
		},
		{
			entity: "profiles", file: "profiles.csv",
			gen: func(rng *rand.Rand, n int) ([]chaosRow, string) {
				var b strings.Builder
				b.WriteString("integrationId,Seq:number,Name\n")
				rows := make([]chaosRow, n)
				for i := range rows {
					r := chaosRow{key: fmt.Sprintf("cust-%05d", rng.IntN(chaosKeyCount(n))), seq: i}
					if rng.IntN(3) > 0 {
						r.name = fmt.Sprintf("N%d", rng.IntN(1000))
					}
					fmt.Fprintf(&b, "%s,%d,%s\n", r.key, i, r.name)
					rows[i] = r
				}
				return rows, b.String()
			},
			histKey: func(r chaosRow) string { return emulator.ProfileKey(r.key) },
			check: func(t *testing.T, rows []chaosRow, st emulator.State) {
				type prof struct {
					seq  int
					name string
				}
				want := map[string]prof{}
				for _, r := range rows {
					p := want[r.key]
					p.seq = r.seq
					if r.name != "" { // an empty cell sends nothing: the old name stays
						p.name = r.name
					}
					want[r.key] = p
				}
				require.Len(t, st.Profiles, len(want))
				for id, p := range want {
					got, ok := st.Profiles[id]
					if !assert.True(t, ok, "profile %s missing", id) {
						continue
					}
					assert.JSONEq(t, strconv.Itoa(p.seq), string(got.Attributes["Seq"]), id)
					if p.name == "" {
						assert.NotContains(t, got.Attributes, "Name", id)
					} else {
						assert.JSONEq(t, strconv.Quote(p.name), string(got.Attributes["Name"]), id)
					}
				}
			},
		},
		{
			entity: "audiences", file: "members.jsonl",
			gen: func(rng *rand.Rand, n int) ([]chaosRow, string) {
				var b strings.Builder
				rows := make([]chaosRow, n)
				for i := range rows {
					r := chaosRow{key: fmt.Sprintf("cust-%05d", rng.IntN(chaosKeyCount(n))), seq: i,
						aud: int64(1 + rng.IntN(3)), add: rng.IntN(3) > 0}
					action := "delete"
					if r.add {
						action = "add"
					}
					fmt.Fprintf(&b, `{"profileIntegrationId":%q,"audienceId":%d,"action":%q}`+"\n", r.key, r.aud, action)
					rows[i] = r
				}
				return rows, b.String()
			},
			histKey: func(r chaosRow) string { return emulator.AudienceKey(r.aud, r.key) },
			check: func(t *testing.T, rows []chaosRow, st emulator.State) {
				want := map[int64]map[string]bool{}
				for _, r := range rows {
					if want[r.aud] == nil {
						want[r.aud] = map[string]bool{}
					}
					if r.add {
						want[r.aud][r.key] = true
					} else {
						delete(want[r.aud], r.key)
					}
				}
				for aud := int64(1); aud <= 3; aud++ {
					var members []string
					for k := range want[aud] {
						members = append(members, k)
					}
					sort.Strings(members)
					assert.Equal(t, members, st.Audiences[aud], "audience %d", aud)
				}
			},
		},
	}
}

// chaosSeq reads the Seq attribute of a History element: a profile, or a
// catalog action whose payload holds the attributes. ok is false for an
// element without one (an audience action).
func chaosSeq(t *testing.T, raw json.RawMessage) (int, bool) {
	var v struct {
		Attributes map[string]json.RawMessage `json:"attributes"`
		Payload    struct {
			Attributes map[string]json.RawMessage `json:"attributes"`
		} `json:"payload"`
	}
	require.NoError(t, json.Unmarshal(raw, &v), "%s", raw)
	s, ok := v.Attributes["Seq"]
	if !ok {
		s, ok = v.Payload.Attributes["Seq"]
	}
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(string(s))
	require.NoError(t, err)
	return n, true
}

func TestChaosSoak(t *testing.T) {
	rows := *chaosRows
	if *chaosLong {
		rows = 100_000
	}
	for i, tc := range chaosCases() {
		t.Run(tc.entity, func(t *testing.T) {
			t.Parallel()
			chaosRun(t, tc, rows, *chaosSeed+uint64(i))
		})
	}
}

func chaosRun(t *testing.T, tc chaosCase, n int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	rows, content := tc.gen(rng, n)
	srv := startEmulator(t, emulator.Options{
		History: true, Seed: int64(seed),
		Faults: emulator.Faults{
			Latency: 2 * time.Millisecond, Jitter: 8 * time.Millisecond,
			Fail429: 0.05, RetryAfter: time.Second,
			Fail5xx: 0.10, CutAfterApply: 0.05,
		},
	})
	dir := t.TempDir()
	in := writeFile(t, dir, tc.file, content)
	rep := filepath.Join(dir, "report.json")
	c := cli{args: append([]string{tc.entity, "--workers", strconv.Itoa(chaosWorkers), "--batch-size", strconv.Itoa(chaosBatchSize),
		"--max-retries", "30", "--checkpoint", filepath.Join(dir, "run.ckpt"), "--report", rep,
		"--progress", "never", in}, tc.args...)}

	// Kill points: thresholds of ItemsApplied, drawn from the seeded RNG.
	var points []int64
	for range chaosKills {
		points = append(points, int64(n/10+rng.IntN(n*8/10)))
	}
	slices.Sort(points)

	keys := map[string]bool{}
	for _, r := range rows {
		keys[tc.histKey(r)] = true
	}
	// marks[key] are the History lengths at each kill: the segments of one run each.
	marks := map[string][]int{}
	kills, runs, code := 0, 0, -1
	for code != exitOK && code != exitRejected {
		require.Less(t, runs, 20, "the soak does not converge")
		runs++
		var point int64 = -1
		if kills < len(points) {
			point = points[kills]
		}
		killed, c2, stderr := chaosRunOnce(t, srv, c, point)
		code = c2
		if killed {
			kills++
			// A request the server was applying when the client died ends now.
			time.Sleep(100 * time.Millisecond)
			for k := range keys {
				marks[k] = append(marks[k], len(srv.History(k)))
			}
			continue
		}
		require.Contains(t, []int{exitOK, exitRejected, exitFailed}, code, stderr)
	}
	require.Equal(t, exitOK, code)
	st := srv.Stats()

	// The final state is what applying the rows in order gives.
	tc.check(t, rows, srv.State())

	// Per key: each run applied the key's rows in order (a resumed run may
	// start again from an earlier row), and every row was applied.
	perKey := map[string][]int{}
	for _, r := range rows {
		k := tc.histKey(r)
		perKey[k] = append(perKey[k], r.seq)
	}
	backwards := 0
	for k, want := range perKey {
		h := srv.History(k)
		if tc.entity == "catalog" {
			require.GreaterOrEqual(t, len(h), len(want), "key %s: fewer applied items than rows", k)
		} else {
			// Profiles and audiences merge a key's rows not yet sent into
			// one item: fewer items than rows, the last row's among them.
			require.NotEmpty(t, h, "key %s: nothing applied", k)
		}
		seen := map[int]bool{}
		bounds := append(slices.Clone(marks[k]), len(h))
		from := 0
		for _, to := range bounds {
			last := -1
			for _, raw := range h[from:to] {
				s, ok := chaosSeq(t, raw)
				if !ok {
					continue
				}
				seen[s] = true
				if s < last {
					backwards++
					t.Errorf("key %s went back from row %d to row %d within one run", k, last, s)
				}
				last = s
			}
			from = to
		}
		if tc.entity != "audiences" {
			for _, s := range want {
				if tc.entity == "catalog" {
					assert.True(t, seen[s], "key %s: row %d never applied", k, s)
				}
			}
			last, _ := chaosSeq(t, h[len(h)-1])
			assert.Equal(t, want[len(want)-1], last, "key %s: the last applied row is not the key's last", k)
		}
	}

	// Counts.
	r := readReport(t, rep)
	assert.Equal(t, int64(n), r.Read, "read")
	assert.Equal(t, r.Read, r.accounted())
	assert.Equal(t, int64(n), r.Delivered)
	assert.Zero(t, r.Failed)
	assert.Zero(t, r.Rejected)
	assert.Zero(t, st.Conflicts, "409s")
	// A run killed before its first checkpoint write leaves no trace in it.
	assert.GreaterOrEqual(t, r.Runs, 2, "runs in the report")
	assert.LessOrEqual(t, r.Runs, kills+1, "runs in the report")

	// Rows merged into another row's item are no item of their own.
	resent := st.ItemsApplied - (int64(n) - r.Merged)
	bound := int64(kills*chaosWorkers*chaosBatchSize) + st.CutConnections*chaosBatchSize
	if tc.entity == "catalog" {
		assert.GreaterOrEqual(t, resent, int64(0))
	}
	assert.LessOrEqual(t, resent, bound, "items applied more than once")
	t.Logf("%s: %d rows, %d keys, %d runs, %d kills at %v, %d items applied (%d re-sent, bound %d), requests by status %v, %d cut, %d idempotent replays, retries %d",
		tc.entity, n, len(perKey), runs, kills, points[:kills], st.ItemsApplied, resent, bound, st.Requests, st.CutConnections, st.IdempotentReplays, r.Retries)
}

// chaosRunOnce runs the CLI; when point >= 0 it kills the CLI with SIGKILL
// as soon as the emulator has applied point items in all. It returns whether
// it killed the CLI, else the exit code and stderr.
func chaosRunOnce(t *testing.T, srv *emulator.Server, c cli, point int64) (bool, int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd, _, errOut := c.command(ctx, srv.URL(), testKey)
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			code := 0
			if err != nil {
				ee, ok := err.(*exec.ExitError)
				require.True(t, ok, "run talonsync: %v", err)
				code = ee.ExitCode()
			}
			return false, code, errOut.String()
		case <-tick.C:
			if point >= 0 && srv.Stats().ItemsApplied >= point {
				require.NoError(t, cmd.Process.Signal(os.Kill))
				<-done
				return true, -1, errOut.String()
			}
		}
	}
}
