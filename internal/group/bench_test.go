package group

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/talonsync/talonsync/internal/talon"
)

// BenchmarkSpool1M groups 1M profile rows (about 100-byte items) over
// 800,000 random ids, as a --state run's group pass does: Add every row,
// then read every key and record back. One op is the whole file.
func BenchmarkSpool1M(b *testing.B) {
	const rows, ids = 1_000_000, 800_000
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]string, rows)
	hashes := make([]uint64, rows)
	for i := range keys {
		keys[i] = "customer-" + strconv.Itoa(rng.IntN(ids))
		hashes[i] = fnvHash(keys[i])
	}
	for _, budget := range []int{4 << 20, DefaultBudget} {
		b.Run(fmt.Sprintf("budget=%dMiB", budget>>20), func(b *testing.B) {
			var item []byte
			b.ReportAllocs()
			var st Stats
			for b.Loop() {
				s, err := New(Options{Budget: budget, Dir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				for i, k := range keys {
					item = append(item[:0], `{"integrationId":"`...)
					item = append(item, k...)
					item = append(item, `","attributes":{"Score":`...)
					item = strconv.AppendInt(item, int64(i%1000), 10)
					item = append(item, `,"Tier":"gold","Active":true,"Zip":"10115"}}`...)
					r := Record{Hash: hashes[i], Seq: int64(i), Line: int64(i + 1), Item: talon.Item{Key: k, JSON: item}}
					if err := s.Add(r); err != nil {
						b.Fatal(err)
					}
				}
				g, err := s.Groups()
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for g.NextKey() {
					for g.NextRecord() {
						n++
					}
				}
				if g.Err() != nil || n != rows {
					b.Fatal(g.Err(), n)
				}
				st = s.Stats()
				s.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
			b.ReportMetric(float64(st.SpilledBytes)/(1<<20), "MiB-spilled")
			b.ReportMetric(float64(st.Splits), "splits")
		})
	}
}
