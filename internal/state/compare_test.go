package state

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/talonsync/talonsync/internal/talon"
)

// The snapshot File against the bbolt Store (compare_bolt_test.go), 1M
// keys, as a --state run uses them: record every key as delivered (bbolt:
// one transaction per 1000-item batch, as the pipeline commits; File:
// Confirm each, then Commit), reopen, look every key up (File: also in Key
// order, as a group pass asks). Each store runs in a child process so that
// its peak RSS is its own:
//
//	go test ./internal/state -run '^$' -bench StoreCompare -benchtime 1x

const (
	compareEnv  = "TALONSYNC_STATE_COMPARE"
	compareKeys = 1_000_000
)

func compareKey(i int) string { return "customer-" + strconv.Itoa(i*7919%10_000_019) }

// compareItem returns key i's item, built in a buffer reused across calls
// (the children must not hold a million items: their RSS is measured).
func compareItem(i int) talon.Item {
	b := append(itemBuf[:0], `{"integrationId":"customer-`...)
	b = strconv.AppendInt(b, int64(i*7919%10_000_019), 10)
	b = append(b, `","attributes":{"Score":`...)
	b = strconv.AppendInt(b, int64(i%1000), 10)
	itemBuf = append(b, "}}"...)
	return talon.Item{JSON: itemBuf}
}

var itemBuf []byte

// phases are the timings a child reports.
type phases struct {
	record, commit, open, lookup, sorted time.Duration
	fileBytes, rss                       int64
}

// compareIndex inverts compareKey: the i of "customer-N".
func compareIndex(key string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(key, "customer-"))
	const p, inv = 10_000_019, 9_660_329 // 7919 * inv ≡ 1 (mod p)
	return int(uint64(n) * inv % p)
}

func runSnapshot(dir string) (p phases, err error) {
	path := filepath.Join(dir, "state")
	f, err := OpenFile(path, Options{})
	if err != nil {
		return p, err
	}
	if _, err := f.Begin(); err != nil {
		return p, err
	}
	start := time.Now()
	for i := range compareKeys {
		key := compareKey(i)
		if err := f.Confirm(key, ValueOf(key, compareItem(i)), false); err != nil {
			return p, err
		}
	}
	p.record = time.Since(start)
	start = time.Now()
	if err := f.Commit(RunInfo{}, true); err != nil {
		return p, err
	}
	p.commit = time.Since(start)
	if err := f.Close(); err != nil {
		return p, err
	}
	start = time.Now()
	if f, err = OpenFile(path, Options{}); err != nil {
		return p, err
	}
	p.open = time.Since(start)
	if _, err := f.Begin(); err != nil {
		return p, err
	}
	start = time.Now()
	for i := range compareKeys {
		key := compareKey(i)
		if v := f.Compare(key, ValueOf(key, compareItem(i)), time.Time{}); v != KeyUnchanged {
			return p, fmt.Errorf("compare %d: %v", i, v)
		}
	}
	p.lookup = time.Since(start)
	// In Key order, as a group pass yields keys; the keys come from the
	// snapshot itself, so the child holds no list of them.
	start = time.Now()
	err = f.Each(func(ki KeyInfo) error {
		i := compareIndex(ki.Key)
		if v := f.Compare(ki.Key, ValueOf(ki.Key, compareItem(i)), time.Time{}); v != KeyUnchanged {
			return fmt.Errorf("compare %s: %v", ki.Key, v)
		}
		return nil
	})
	if err != nil {
		return p, err
	}
	p.sorted = time.Since(start)
	st, _ := os.Stat(path)
	p.fileBytes = st.Size()
	return p, f.Close()
}

// TestStoreCompareChild runs the snapshot store for BenchmarkStoreCompare.
func TestStoreCompareChild(t *testing.T) { compareChild(t, "snapshot", runSnapshot) }

// compareChild runs one store in a child and prints its phases.
func compareChild(t *testing.T, which string, run func(dir string) (phases, error)) {
	if os.Getenv(compareEnv) != which {
		t.Skip("the child of BenchmarkStoreCompare")
	}
	p, err := run(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("PHASES %d %d %d %d %d %d %d\n", p.record, p.commit, p.open, p.lookup, p.sorted, p.fileBytes, peakRSS())
}

func BenchmarkStoreCompare(b *testing.B) { benchCompare(b, "snapshot", "TestStoreCompareChild") }

// benchCompare runs the child test of one store and reports its phases.
func benchCompare(b *testing.B, which, child string) {
	var p phases
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), compareEnv+"="+which)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("%v:\n%s", err, out)
		}
		i := bytes.Index(out, []byte("PHASES "))
		if i < 0 {
			b.Fatalf("no phases:\n%s", out)
		}
		var rec, com, open, look, sorted int64
		fmt.Sscan(string(out[i+7:]), &rec, &com, &open, &look, &sorted, &p.fileBytes, &p.rss)
		p.record, p.commit, p.open = time.Duration(rec), time.Duration(com), time.Duration(open)
		p.lookup, p.sorted = time.Duration(look), time.Duration(sorted)
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	b.ReportMetric(ms(p.record), "record-ms")
	b.ReportMetric(ms(p.commit), "commit-ms")
	b.ReportMetric(ms(p.open), "open-ms")
	b.ReportMetric(ms(p.lookup), "lookup-ms")
	if p.sorted > 0 {
		b.ReportMetric(ms(p.sorted), "lookup-in-key-order-ms")
	}
	b.ReportMetric(float64(p.fileBytes)/(1<<20), "file-MiB")
	b.ReportMetric(float64(p.rss)/(1<<20), "peak-RSS-MiB")
}

// peakRSS returns VmHWM from /proc/self/status in bytes, or 0.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
