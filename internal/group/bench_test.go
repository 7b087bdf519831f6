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
// then read every key and record back. One op is the whole file. The rows
// are made as they are added, so the process's peak RSS is the spool's:
//
//	go test -c -o /tmp/group.test ./internal/group
//	/usr/bin/time -v /tmp/group.test -test.run '^$' -test.bench 'Spool1M/budget=8MiB' -test.benchtime 1x
func BenchmarkSpool1M(b *testing.B) {
	const rows, ids = 1_000_000, 800_000
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
				rng := rand.New(rand.NewPCG(1, 2))
				var key []byte
				for i := range rows {
					key = strconv.AppendInt(append(key[:0], "customer-"...), int64(rng.IntN(ids)), 10)
					k := string(key)
					item = append(item[:0], `{"integrationId":"`...)
					item = append(item, k...)
					item = append(item, `","attributes":{"Score":`...)
					item = strconv.AppendInt(item, int64(i%1000), 10)
					item = append(item, `,"Tier":"gold","Active":true,"Zip":"10115"}}`...)
					r := Record{Hash: fnvHash(k), Seq: int64(i), Line: int64(i + 1), Item: talon.Item{Key: k, JSON: item}}
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
