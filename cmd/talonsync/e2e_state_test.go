package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/fold"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/state"
	"github.com/talonsync/talonsync/internal/talon"
	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// End-to-end tests of --state, --prune and --mirror: the real binary runs
// against the emulator, and the state file is then opened read-only and
// compared with what the emulator holds.

// stateProduct is one row of a generated catalog feed.
type stateProduct struct {
	sku   string
	price int
	color string
}

// stateFeed is a generated catalog feed, keyed by SKU in file order.
type stateFeed []stateProduct

func (f stateFeed) csv() string {
	var b strings.Builder
	b.WriteString("sku,price,Color\n")
	for _, p := range f {
		fmt.Fprintf(&b, "%s,%d,%s\n", p.sku, p.price, p.color)
	}
	return b.String()
}

func (f stateFeed) skus() []string {
	out := make([]string, 0, len(f))
	for _, p := range f {
		out = append(out, p.sku)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// genStateFeed returns n products sku-000000 .. with version 1 colors.
func genStateFeed(n int) stateFeed {
	f := make(stateFeed, n)
	for i := range f {
		f[i] = stateProduct{sku: fmt.Sprintf("sku-%06d", i), price: 1 + i%500, color: fmt.Sprintf("c1-%d", i)}
	}
	return f
}

// stateChange is what mutate did to a feed.
type stateChange struct {
	changed, removed, added []string
}

// mutate returns a copy of f with changed rows every changeEvery-th row,
// removed rows every removeEvery-th row (among the others) and added new
// SKUs at the end.
func mutate(f stateFeed, changeEvery, removeEvery, added int) (stateFeed, stateChange) {
	var out stateFeed
	var ch stateChange
	for i, p := range f {
		switch {
		case i%changeEvery == 1:
			p.color = "c2-" + p.sku
			ch.changed = append(ch.changed, p.sku)
		case i%removeEvery == 3:
			ch.removed = append(ch.removed, p.sku)
			continue
		}
		out = append(out, p)
	}
	for i := range added {
		p := stateProduct{sku: fmt.Sprintf("new-%06d", i), price: 7, color: "new"}
		out = append(out, p)
		ch.added = append(ch.added, p.sku)
	}
	return out, ch
}

// stateCatalogArgs are the arguments of a catalog run of these tests.
func stateCatalogArgs(dir, statePath, input string, extra ...string) []string {
	args := []string{"catalog", "--catalog-id", "1", "--state", statePath, "--batch-size", "100",
		"--max-retries", "20", "--rejects", filepath.Join(dir, "rejects.jsonl")}
	args = append(args, extra...)
	return append(args, input)
}

// itemsByValue parses the CSV feeds with the real reader, folds each
// feed's rows of a key into its net effect, and maps the state Value of
// every net effect to its last item (what the API holds after it), so that
// a state entry can be traced back to the feed whose delivery recorded it.
func itemsByValue(t *testing.T, dir string, e readers.Entity, feeds ...string) map[state.Value]talon.Item {
	t.Helper()
	out := map[state.Value]talon.Item{}
	for i, content := range feeds {
		path := writeFile(t, dir, fmt.Sprintf("value-feed-%d.csv", i), content)
		in, err := readers.Open(path, nil)
		require.NoError(t, err)
		rd, err := readers.NewReader(in, readers.Options{Entity: e, Format: readers.FormatCSV, AudienceID: 1})
		require.NoError(t, err)
		byKey := map[string][]talon.Item{}
		for {
			row, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			require.NoError(t, row.Err)
			byKey[row.Item.Key] = append(byKey[row.Item.Key], row.Item)
		}
		in.Close()
		for key, items := range byKey {
			units, err := fold.Fold(endpointOf(e), items)
			require.NoError(t, err)
			var net []talon.Item
			for _, u := range units {
				net = append(net, u.Item)
			}
			out[state.ValueOf(key, net...)] = net[len(net)-1]
		}
	}
	return out
}

// stateEntries reads the state file (read-only, as state inspect does):
// the keys the API holds, without those whose removal it confirmed.
func stateEntries(t *testing.T, path string) map[string]state.KeyInfo {
	t.Helper()
	f, err := state.OpenFile(path, state.Options{ReadOnly: true})
	require.NoError(t, err)
	defer f.Close()
	out := map[string]state.KeyInfo{}
	require.NoError(t, f.Each(func(k state.KeyInfo) error {
		if !k.Absent {
			out[k.Key] = k
		}
		return nil
	}))
	return out
}

// assertStateMatchesCatalog checks that every key of the state has the
// Value of a net effect whose item the emulator holds.
func assertStateMatchesCatalog(t *testing.T, entries map[string]state.KeyInfo, byValue map[state.Value]talon.Item, held map[string]emulator.CatalogItem) {
	t.Helper()
	for key, e := range entries {
		it, ok := byValue[e.Value]
		if !assert.True(t, ok, "state value of %s is of no feed's net effect", key) {
			continue
		}
		var a talon.CatalogAction
		require.NoError(t, json.Unmarshal(it.JSON, &a))
		got, ok := held[key]
		if !assert.True(t, ok, "state knows %s, the emulator does not hold it", key) {
			continue
		}
		assert.Equal(t, key, a.Payload.SKU)
		assert.Equal(t, *a.Payload.Price, *got.Price, "price of %s", key)
		assert.JSONEq(t, string(a.Payload.Attributes["Color"]), string(got.Attributes["Color"]), "Color of %s", key)
	}
}

// assertCatalogIs checks that the emulator holds exactly the feed's products.
func assertCatalogIs(t *testing.T, f stateFeed, held map[string]emulator.CatalogItem) {
	t.Helper()
	require.Equal(t, f.skus(), slices.Sorted(maps.Keys(held)))
	for _, p := range f {
		got := held[p.sku]
		assert.Equal(t, float64(p.price), *got.Price, p.sku)
		assert.JSONEq(t, fmt.Sprintf("%q", p.color), string(got.Attributes["Color"]), p.sku)
	}
}

func TestStateIncrementalCatalogPrune(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	sp := filepath.Join(dir, "catalog.state")

	feed1 := genStateFeed(20_000)
	in1 := writeFile(t, dir, "feed1.csv", feed1.csv())
	res := runCLI(t, srv.URL(), testKey, cli{args: stateCatalogArgs(dir, sp, in1)})
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Equal(t, int64(20_000), srv.Stats().ItemsReceived)
	assert.Len(t, stateEntries(t, sp), 20_000)

	// 1% changed, 0.5% removed, 0.5% added.
	feed2, ch := mutate(feed1, 100, 200, 100)
	require.Len(t, ch.changed, 200)
	require.Len(t, ch.removed, 100)
	in2 := writeFile(t, dir, "feed2.csv", feed2.csv())

	t.Run("dry run lists the SKUs it would remove and sends nothing", func(t *testing.T) {
		before := srv.Stats().RequestsTotal
		res := runCLI(t, srv.URL(), testKey, cli{args: stateCatalogArgs(dir, sp, in2, "--prune", "--dry-run")})
		require.Equal(t, 0, res.Code, res.Stderr)
		assert.ElementsMatch(t, ch.removed, strings.Fields(res.Stdout))
		assert.Equal(t, before, srv.Stats().RequestsTotal)
		assert.Len(t, stateEntries(t, sp), 20_000, "a dry run records no delivery")
	})

	rep := filepath.Join(dir, "run2.json")
	before := srv.Stats().ItemsReceived
	res = runCLI(t, srv.URL(), testKey, cli{args: stateCatalogArgs(dir, sp, in2, "--prune", "--report", rep)})
	require.Equal(t, 0, res.Code, res.Stderr)
	sent := int64(len(ch.changed) + len(ch.added) + len(ch.removed))
	assert.Equal(t, sent, srv.Stats().ItemsReceived-before, "only changed, added and removed items are sent")
	r := readReport(t, rep)
	assert.Equal(t, int64(len(feed2)), r.Read)
	assert.Equal(t, int64(len(ch.changed)+len(ch.added)), r.Delivered)
	assert.Equal(t, int64(len(feed2)-len(ch.changed)-len(ch.added)), r.Unchanged)
	assert.Equal(t, int64(len(ch.removed)), r.Pruned)
	assert.Equal(t, r.Read, r.accounted())
	require.NotNil(t, r.Pace)
	assert.InEpsilon(t, float64(r.Requests)/r.RunElapsedSeconds, r.Pace.RequestsPerSecond, 1e-6,
		"the pace counts the removal requests too")
	assert.Contains(t, res.Stderr, fmt.Sprintf("%d unchanged", r.Unchanged))

	held := srv.State().Catalogs[1]
	assertCatalogIs(t, feed2, held)
	entries := stateEntries(t, sp)
	assert.Equal(t, feed2.skus(), slices.Sorted(maps.Keys(entries)), "the state knows exactly the SKUs of the feed")
	assertStateMatchesCatalog(t, entries, itemsByValue(t, dir, readers.EntityCatalog, feed1.csv(), feed2.csv()), held)

	t.Run("the same feed again sends nothing", func(t *testing.T) {
		before := srv.Stats().RequestsTotal
		res := runCLI(t, srv.URL(), testKey, cli{args: stateCatalogArgs(dir, sp, in2, "--prune")})
		require.Equal(t, 0, res.Code, res.Stderr)
		assert.Equal(t, before, srv.Stats().RequestsTotal)
	})

	t.Run("the guard refuses a feed cut in half", func(t *testing.T) {
		half := writeFile(t, dir, "half.csv", feed2[:len(feed2)/2].csv())
		before := srv.Stats().ItemsReceived
		res := runCLI(t, srv.URL(), testKey, cli{args: stateCatalogArgs(dir, sp, half, "--prune")})
		assert.Equal(t, 1, res.Code, res.Stderr)
		assert.Contains(t, res.Stderr, "--max-prune")
		assert.Contains(t, res.Stderr, "nothing was removed")
		assert.Equal(t, before, srv.Stats().ItemsReceived)
		assertCatalogIs(t, feed2, srv.State().Catalogs[1])
		assert.Len(t, stateEntries(t, sp), len(feed2.skus()))
	})

	t.Run("inspect and export", func(t *testing.T) {
		res := runCLI(t, srv.URL(), testKey, cli{args: []string{"state", "inspect", "--state", sp}})
		require.Equal(t, 0, res.Code, res.Stderr)
		assert.Contains(t, res.Stdout, fmt.Sprintf("catalog 1: %d", len(feed2.skus())))
		assert.Contains(t, res.Stdout, srv.URL())
		res = runCLI(t, srv.URL(), testKey, cli{args: []string{"state", "export", "--state", sp}})
		require.Equal(t, 0, res.Code, res.Stderr)
		lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
		require.Len(t, lines, len(feed2.skus()))
		var l struct {
			Key, Value string
			Confirmed  time.Time
		}
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &l))
		assert.Equal(t, entries[l.Key].Value.String(), l.Value)
		assert.False(t, l.Confirmed.IsZero())
	})
}

func TestStateRefusesOtherTarget(t *testing.T) {
	srv := startEmulator(t, emulator.Options{Catalogs: []int64{1, 2}})
	dir := t.TempDir()
	sp := filepath.Join(dir, "catalog.state")
	in := writeFile(t, dir, "feed.csv", genStateFeed(10).csv())
	res := runCLI(t, srv.URL(), testKey, cli{args: stateCatalogArgs(dir, sp, in)})
	require.Equal(t, 0, res.Code, res.Stderr)

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"other catalog", []string{"catalog", "--catalog-id", "2", "--state", sp, in}, "catalog 1"},
		{"other entity", []string{"profiles", "--state", sp, in}, "entity catalog"},
		{"other base URL", []string{"catalog", "--catalog-id", "1", "--base-url", strings.Replace(srv.URL(), "127.0.0.1", "localhost", 1), "--state", sp, in}, "base URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.Stats().RequestsTotal
			res := runCLI(t, srv.URL(), testKey, cli{args: tc.args})
			assert.Equal(t, 2, res.Code, res.Stderr)
			assert.Contains(t, res.Stderr, tc.want)
			assert.Equal(t, before, srv.Stats().RequestsTotal)
		})
	}
}

// TestStateRepeatedKey: a key repeated in one file is compared by its net
// effect over the whole file. The state says A=2; a file that says A=1 then
// A=2 leaves A at 2, so nothing is sent; one that says A=2 then A=1 sends
// A=1 once.
func TestStateRepeatedKey(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	sp := filepath.Join(dir, "catalog.state")
	firstCSV := "sku,price,Color\nA,2,two\nB,1,one\n"
	res := runCLI(t, srv.URL(), testKey, cli{args: stateCatalogArgs(dir, sp, writeFile(t, dir, "first.csv", firstCSV))})
	require.Equal(t, 0, res.Code, res.Stderr)

	sameCSV := "sku,price,Color\nA,1,one\nB,1,one\nA,2,two\n"
	before := srv.Stats().ItemsReceived
	res = runCLI(t, srv.URL(), testKey, cli{args: stateCatalogArgs(dir, sp, writeFile(t, dir, "same.csv", sameCSV))})
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Equal(t, int64(0), srv.Stats().ItemsReceived-before, "A's net effect is what the API holds")
	a := srv.State().Catalogs[1]["A"]
	assert.Equal(t, 2.0, *a.Price)

	otherCSV := "sku,price,Color\nA,2,two\nB,1,one\nA,1,one\n"
	before = srv.Stats().ItemsReceived
	res = runCLI(t, srv.URL(), testKey, cli{args: stateCatalogArgs(dir, sp, writeFile(t, dir, "other.csv", otherCSV))})
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Equal(t, int64(1), srv.Stats().ItemsReceived-before, "A's net effect changed: sent once")
	a = srv.State().Catalogs[1]["A"]
	assert.Equal(t, 1.0, *a.Price)
	assert.JSONEq(t, `"one"`, string(a.Attributes["Color"]))
	assertStateMatchesCatalog(t, stateEntries(t, sp), itemsByValue(t, dir, readers.EntityCatalog, firstCSV, otherCSV), srv.State().Catalogs[1])
}

func TestStateMirrorAudiences(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	sp := filepath.Join(dir, "audience.state")
	members := func(ids []int) string {
		var b strings.Builder
		b.WriteString("profileIntegrationId\n")
		for _, i := range ids {
			fmt.Fprintf(&b, "p-%05d\n", i)
		}
		return b.String()
	}
	args := func(input string, extra ...string) []string {
		return append([]string{"audiences", "--audience-id", "1", "--mirror", "--state", sp, "--batch-size", "100",
			"--rejects", filepath.Join(dir, "rejects.jsonl")}, append(extra, input)...)
	}
	var all []int
	for i := range 2000 {
		all = append(all, i)
	}
	res := runCLI(t, srv.URL(), testKey, cli{args: args(writeFile(t, dir, "m1.csv", members(all)))})
	require.Equal(t, 0, res.Code, res.Stderr)
	require.Len(t, srv.State().Audiences[1], 2000)

	// One member in 33 leaves, 40 join.
	var ids []int
	for _, i := range all {
		if i%33 != 5 {
			ids = append(ids, i)
		}
	}
	left := len(all) - len(ids)
	for i := range 40 {
		ids = append(ids, 5000+i)
	}
	var want []string
	for _, i := range ids {
		want = append(want, fmt.Sprintf("p-%05d", i))
	}
	slices.Sort(want)

	before := srv.Stats().ItemsReceived
	rep := filepath.Join(dir, "m2.json")
	res = runCLI(t, srv.URL(), testKey, cli{args: args(writeFile(t, dir, "m2.csv", members(ids)), "--report", rep)})
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Equal(t, int64(left+40), srv.Stats().ItemsReceived-before, "only joins and leaves are sent")
	assert.Equal(t, want, srv.State().Audiences[1])
	r := readReport(t, rep)
	assert.Equal(t, int64(left), r.Pruned)
	assert.Equal(t, int64(40), r.Delivered)

	entries := stateEntries(t, sp)
	var keys []string
	for _, m := range want {
		keys = append(keys, talon.MembershipKey(1, m))
	}
	assert.Equal(t, keys, slices.Sorted(maps.Keys(entries)))

	t.Run("the guard trips on a list cut in half", func(t *testing.T) {
		before := srv.Stats().ItemsReceived
		res := runCLI(t, srv.URL(), testKey, cli{args: args(writeFile(t, dir, "m3.csv", members(ids[:len(ids)/2])))})
		assert.Equal(t, 1, res.Code, res.Stderr)
		assert.Contains(t, res.Stderr, "--max-prune")
		assert.Equal(t, before, srv.Stats().ItemsReceived)
		assert.Equal(t, want, srv.State().Audiences[1])
	})
}

// TestStateKillResume kills an incremental run with SIGKILL, resumes it
// with the same command, and checks that the state then matches what the
// emulator holds, key by key.
func TestStateKillResume(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	dir := t.TempDir()
	sp := filepath.Join(dir, "catalog.state")
	ckpt := filepath.Join(dir, "run.ckpt")

	feed1 := genStateFeed(20_000)
	res := runCLI(t, srv.URL(), testKey, cli{args: stateCatalogArgs(dir, sp, writeFile(t, dir, "feed1.csv", feed1.csv()))})
	require.Equal(t, 0, res.Code, res.Stderr)

	// A third of the rows change, so the run lasts long enough to be killed
	// in the middle.
	feed2, ch := mutate(feed1, 3, 200, 100)
	in2 := writeFile(t, dir, "feed2.csv", feed2.csv())
	srv.SetFaults(emulator.Faults{Latency: 10 * time.Millisecond, Jitter: 10 * time.Millisecond})
	args := stateCatalogArgs(dir, sp, in2, "--prune", "--checkpoint", ckpt)
	journal := sp + ".journal"

	before := srv.Stats().ItemsReceived
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, _, errOut := cli{args: args}.command(ctx, srv.URL(), testKey)
	require.NoError(t, cmd.Start())
	target := before + int64(len(ch.changed))/3
	for ctx.Err() == nil {
		// Killed once a third is sent and confirmations reached the journal.
		if st, err := os.Stat(journal); err == nil && st.Size() > 4096 && srv.Stats().ItemsReceived >= target {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL))
	_ = cmd.Wait()
	require.Less(t, srv.Stats().ItemsReceived-before, int64(len(ch.changed)+len(ch.added)), "killed before the end: %s", errOut)

	// Mid-run, the state may lag the emulator but never lead it.
	byHash := itemsByValue(t, dir, readers.EntityCatalog, feed1.csv(), feed2.csv())
	assertStateMatchesCatalogOrOlder(t, stateEntries(t, sp), byHash, srv.State().Catalogs[1], feed1)

	// The same command again finishes: the keys the API confirmed before
	// the kill are unchanged now.
	srv.SetFaults(emulator.Faults{})
	received := srv.Stats().ItemsReceived
	res = runCLI(t, srv.URL(), testKey, cli{args: args})
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Less(t, srv.Stats().ItemsReceived-received, int64(len(ch.changed)+len(ch.added)+len(ch.removed)), "the rerun sends only what the killed run did not confirm")

	held := srv.State().Catalogs[1]
	assertCatalogIs(t, feed2, held)
	entries := stateEntries(t, sp)
	assert.Equal(t, feed2.skus(), slices.Sorted(maps.Keys(entries)))
	assertStateMatchesCatalog(t, entries, byHash, held)

	// And the next run of the same feed has nothing to send.
	require.NoError(t, os.Remove(ckpt))
	before = srv.Stats().RequestsTotal
	res = runCLI(t, srv.URL(), testKey, cli{args: args})
	require.Equal(t, 0, res.Code, res.Stderr)
	assert.Equal(t, before, srv.Stats().RequestsTotal)
}

// assertStateMatchesCatalogOrOlder checks the state after a kill: a key
// whose hash differs from what the emulator holds must hold the older
// item of feed1 (the delivery was applied, not yet recorded), never one the
// emulator does not hold or never held.
func assertStateMatchesCatalogOrOlder(t *testing.T, entries map[string]state.KeyInfo, byHash map[state.Value]talon.Item, held map[string]emulator.CatalogItem, feed1 stateFeed) {
	t.Helper()
	old := map[string]stateProduct{}
	for _, p := range feed1 {
		old[p.sku] = p
	}
	for key, e := range entries {
		if e.Value == 0 {
			continue // invalidated before it was sent, not confirmed yet: claims nothing
		}
		it, ok := byHash[e.Value]
		require.True(t, ok, key)
		var a talon.CatalogAction
		require.NoError(t, json.Unmarshal(it.JSON, &a))
		got, ok := held[key]
		require.True(t, ok, "state knows %s, the emulator does not hold it", key)
		if string(a.Payload.Attributes["Color"]) == string(got.Attributes["Color"]) {
			continue
		}
		assert.JSONEq(t, fmt.Sprintf("%q", old[key].color), string(a.Payload.Attributes["Color"]), "state of %s is neither held nor the previous item", key)
	}
}
