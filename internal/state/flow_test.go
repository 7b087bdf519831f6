package state_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/talonsync/talonsync/internal/fold"
	"github.com/talonsync/talonsync/internal/group"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/state"
	"github.com/talonsync/talonsync/internal/talon"
)

// The --state flow without the network: read a profiles file, group its
// rows by key, fold each key, compare its net effect with the state,
// invalidate and "send" (confirm at once) what changed, commit. This is
// the integration the pipeline needs, minus batch.Run; it measures what
// the state costs on top of reading the file. Each phase runs in a child
// process, so that peak RSS is its own:
//
//	go test ./internal/state -run '^$' -bench Flow -benchtime 1x
//
// The input is the issue's: 1M profile rows over 800,000 ids drawn at
// random (FLOW_ROWS overrides the count for a quick look).

const flowEnv = "TALONSYNC_FLOW"

func flowRows() int {
	if n, err := strconv.Atoi(os.Getenv("FLOW_ROWS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// writeFlowInput writes the profiles JSONL; changed rows (a share of
// them) get another Score.
func writeFlowInput(path string, rows int, changed float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	pick := rand.New(rand.NewPCG(3, 4))
	tiers := []string{"gold", "silver", "bronze"}
	for i := range rows {
		id := rng.IntN(rows * 4 / 5)
		score := rng.IntN(1000)
		if pick.Float64() < changed {
			score += 1000
		}
		fmt.Fprintf(w, `{"integrationId":"customer-%07d","attributes":{"Score":%d,"Tier":%q,"Active":%t}}`+"\n",
			id, score, tiers[i%3], i%2 == 0)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

type flowResult struct {
	rows, keys, sent int
	elapsed, cpu     time.Duration
	rss              int64
}

// cpuTime returns the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runFlow runs one phase: "read" reads the file only; "sync" runs the
// state flow against the state file in dir.
func runFlow(phase, input, dir string) (res flowResult, err error) {
	start := time.Now()
	in, err := readers.Open(input, nil)
	if err != nil {
		return res, err
	}
	defer in.Close()
	rd, err := readers.NewReader(in, readers.Options{Entity: readers.EntityProfiles, Format: readers.FormatJSONL})
	if err != nil {
		return res, err
	}
	var spool *group.Spool
	if phase == "sync" {
		if spool, err = group.New(group.Options{Dir: dir}); err != nil {
			return res, err
		}
		defer spool.Close()
	}
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, err
		}
		res.rows++
		if spool != nil && row.Err == nil {
			rec := group.Record{Hash: state.KeyHash(row.Item.Key), Seq: row.Seq, Line: row.Line, Item: row.Item}
			if err := spool.Add(rec); err != nil {
				return res, err
			}
		}
	}
	if spool == nil {
		res.elapsed = time.Since(start)
		return res, nil
	}

	st, err := state.OpenFile(filepath.Join(dir, "state"), state.Options{})
	if err != nil {
		return res, err
	}
	defer st.Close()
	if err := st.Bind(state.Identity{BaseURL: "https://x", Entity: "profiles"}); err != nil {
		return res, err
	}
	if _, err := st.Begin(); err != nil {
		return res, err
	}
	g, err := spool.Groups()
	if err != nil {
		return res, err
	}
	folder := fold.New(talon.EndpointProfiles)
	var units []fold.Unit
	type send struct {
		key string
		v   state.Value
	}
	var batch []send
	var changed []string
	flush := func() error {
		// One sync for the batch, then the sends; here every send is
		// confirmed at once.
		if err := st.Invalidate(changed...); err != nil {
			return err
		}
		for _, s := range batch {
			if err := st.Confirm(s.key, s.v, false); err != nil {
				return err
			}
		}
		res.sent += len(batch)
		batch, changed = batch[:0], changed[:0]
		return nil
	}
	for g.NextKey() {
		res.keys++
		folder.Reset()
		for g.NextRecord() {
			if err := folder.Add(g.Record().Item); err != nil {
				return res, err
			}
		}
		units = folder.Units(units[:0])
		key := g.Key()
		v := state.ValueOf(key, units[0].Item)
		switch st.Compare(key, v, time.Time{}) {
		case state.KeyUnchanged:
			continue
		case state.KeyChanged:
			changed = append(changed, key)
		}
		batch = append(batch, send{key, v})
		if len(batch) == 1000 {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := g.Err(); err != nil {
		return res, err
	}
	if err := flush(); err != nil {
		return res, err
	}
	if err := st.Commit(state.RunInfo{Read: int64(res.rows)}, true); err != nil {
		return res, err
	}
	res.elapsed = time.Since(start)
	return res, nil
}

// TestFlowChild runs one phase for BenchmarkFlow.
func TestFlowChild(t *testing.T) {
	args := strings.Fields(os.Getenv(flowEnv))
	if len(args) != 3 {
		t.Skip("the child of BenchmarkFlow")
	}
	res, err := runFlow(args[0], args[1], args[2])
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("FLOW %d %d %d %d %d %d\n", res.rows, res.keys, res.sent, res.elapsed, vmHWM(), cpuTime())
}

func BenchmarkFlow(b *testing.B) {
	rows := flowRows()
	data := os.Getenv("FLOW_DATA") // to keep the inputs between runs
	if data == "" {
		data = b.TempDir()
	}
	input := filepath.Join(data, fmt.Sprintf("profiles-%d.jsonl", rows))
	input1 := filepath.Join(data, fmt.Sprintf("profiles-%d-1pct.jsonl", rows))
	for _, in := range []struct {
		path    string
		changed float64
	}{{input, 0}, {input1, 0.01}} {
		if _, err := os.Stat(in.path); err == nil {
			continue
		}
		if err := writeFlowInput(in.path, rows, in.changed); err != nil {
			b.Fatal(err)
		}
	}
	child := func(b *testing.B, phase, in, dir string) flowResult {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFlowChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), flowEnv+"="+phase+" "+in+" "+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("%s: %v\n%s", phase, err, out)
		}
		i := strings.Index(string(out), "FLOW ")
		if i < 0 {
			b.Fatalf("%s: no result\n%s", phase, out)
		}
		var r flowResult
		var ns, cpu int64
		fmt.Sscan(string(out[i+5:]), &r.rows, &r.keys, &r.sent, &ns, &r.rss, &cpu)
		r.elapsed, r.cpu = time.Duration(ns), time.Duration(cpu)
		return r
	}
	report := func(b *testing.B, r flowResult, base time.Duration) {
		b.ReportMetric(r.elapsed.Seconds(), "s")
		b.ReportMetric(r.cpu.Seconds(), "cpu-s")
		b.ReportMetric(float64(r.rss)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(r.sent), "sent")
		b.ReportMetric(100*float64(r.sent)/float64(r.rows), "sent-%rows")
		if base > 0 {
			b.ReportMetric(float64(r.elapsed)/float64(base), "x-read")
		}
	}
	var read time.Duration
	b.Run("read-only", func(b *testing.B) {
		for b.Loop() {
			r := child(b, "read", input, b.TempDir())
			read = r.elapsed
			report(b, r, 0)
		}
	})
	dir := b.TempDir()
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			os.RemoveAll(filepath.Join(dir, "state"))
			report(b, child(b, "sync", input, dir), read)
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		for b.Loop() {
			report(b, child(b, "sync", input, dir), read)
		}
	})
	b.Run("1pct-changed", func(b *testing.B) {
		for b.Loop() {
			report(b, child(b, "sync", input1, dir), read)
		}
	})
}

// vmHWM returns the peak RSS from /proc/self/status in bytes, or 0.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
