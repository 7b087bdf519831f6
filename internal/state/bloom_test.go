package state

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBloom(t *testing.T) {
	tests := []struct {
		name    string
		logBits int
		added   int
		maxFP   int // false positives allowed among 10,000 keys never added
	}{
		{"production size, a changed run", passedBits, 10_000, 30},
		// The incremental e2e test's second run: a few hundred keys passed
		// on, 20,000 lookups; with one probe per key this saw false positives.
		{"production size, a few hundred keys", passedBits, 300, 0},
		{"tiny set saturates but never forgets", 6, 1000, 10_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBloom(tc.logBits)
			for i := range tc.added {
				b.add("in-" + strconv.Itoa(i))
			}
			for i := range tc.added {
				assert.True(t, b.has("in-"+strconv.Itoa(i)), "no false negatives")
			}
			fp := 0
			for i := range 10_000 {
				if b.has("out-" + strconv.Itoa(i)) {
					fp++
				}
			}
			assert.LessOrEqual(t, fp, tc.maxFP)
		})
	}
	assert.Len(t, newBloom(passedBits).words, 1<<passedBits/64, "2 MiB, whatever is added")
}

func BenchmarkBloom(b *testing.B) {
	s := newBloom(passedBits)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "SKU-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := keys[i&1023]
		if !s.has(k) {
			s.add(k)
		}
	}
}
