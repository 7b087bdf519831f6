package fold

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/talonsync/talonsync/internal/talon"
)

// BenchmarkMergeProfile is the chunker's hot path: a repeated profile row
// merged into the unsent item of its key.
func BenchmarkMergeProfile(b *testing.B) {
	for _, n := range []int{3, 20} {
		var x, y []string
		for i := range n {
			x = append(x, fmt.Sprintf(`"Attr%d":"value-%d"`, i, i))
			if i%2 == 0 {
				y = append(y, fmt.Sprintf(`"Attr%d":%d`, i+n/2, i))
			}
		}
		a := []byte(`{"integrationId":"customer-000123","attributes":{` + strings.Join(x, ",") + `}}`)
		c := []byte(`{"integrationId":"customer-000123","attributes":{` + strings.Join(y, ",") + `}}`)
		b.Run(fmt.Sprintf("attrs=%d", n), func(b *testing.B) {
			dst := make([]byte, 0, 1024)
			b.SetBytes(int64(len(a) + len(c)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = MergeProfile(dst[:0], a, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFoldProfiles folds a key of 4 rows, as the --state group pass
// does for each repeated key (units included).
func BenchmarkFoldProfiles(b *testing.B) {
	rows := []talon.Item{
		{Key: "c", JSON: []byte(`{"integrationId":"c","attributes":{"Age":41,"Tier":"gold"}}`)},
		{Key: "c", JSON: []byte(`{"integrationId":"c","attributes":{"Tier":"silver"}}`)},
		{Key: "c", JSON: []byte(`{"integrationId":"c","attributes":{"Zip":"10115","Active":true}}`)},
		{Key: "c", JSON: []byte(`{"integrationId":"c","attributes":{"Age":42}}`)},
	}
	f := New(talon.EndpointProfiles)
	var units []Unit
	b.ReportAllocs()
	for b.Loop() {
		f.Reset()
		for _, r := range rows {
			if err := f.Add(r); err != nil {
				b.Fatal(err)
			}
		}
		units = f.Units(units[:0])
	}
}

// BenchmarkFoldCatalog folds random SKUs of 1 to 4 mixed actions.
func BenchmarkFoldCatalog(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 9))
	keys := make([][]talon.Item, 256)
	rows := 0
	for i := range keys {
		keys[i] = make([]talon.Item, 1+rng.IntN(4))
		for j := range keys[i] {
			keys[i][j] = genAction(rng, "SKU-0001")
		}
		rows += len(keys[i])
	}
	f := New(talon.EndpointCatalog)
	var units []Unit
	b.ReportAllocs()
	for b.Loop() {
		for _, k := range keys {
			f.Reset()
			for _, r := range k {
				if err := f.Add(r); err != nil {
					b.Fatal(err)
				}
			}
			units = f.Units(units[:0])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}
