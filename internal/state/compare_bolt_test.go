package state

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The bbolt side of BenchmarkStoreCompare; it goes with store.go.

// TestStoreCompareBoltChild runs the bbolt store for
// BenchmarkStoreCompareBolt.
func TestStoreCompareBoltChild(t *testing.T) { compareChild(t, "bbolt", runBolt) }

func BenchmarkStoreCompareBolt(b *testing.B) { benchCompare(b, "bbolt", "TestStoreCompareBoltChild") }

func runBolt(dir string) (p phases, err error) {
	path := filepath.Join(dir, "bolt.db")
	s, err := Open(path, Options{})
	if err != nil {
		return p, err
	}
	start := time.Now()
	changes := make([]Change, 0, 1000)
	for i := range compareKeys {
		it := compareItem(i)
		changes = append(changes, Change{Key: compareKey(i), Hash: HashItem(&it)})
		if len(changes) == cap(changes) {
			if err := s.Apply(1, changes); err != nil {
				return p, err
			}
			changes = changes[:0]
		}
	}
	p.record = time.Since(start)
	if err := s.Close(); err != nil {
		return p, err
	}
	start = time.Now()
	if s, err = Open(path, Options{}); err != nil {
		return p, err
	}
	p.open = time.Since(start)
	start = time.Now()
	for i := range compareKeys {
		it := compareItem(i)
		h, ok, err := s.Lookup(compareKey(i))
		if err != nil || !ok || h != HashItem(&it) {
			return p, fmt.Errorf("lookup %d: %v %v", i, ok, err)
		}
	}
	p.lookup = time.Since(start)
	st, _ := os.Stat(path)
	p.fileBytes = st.Size()
	return p, s.Close()
}
