package readers

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKeyDoesNotHoldRecord: an item's key is its own string, not a slice of
// the CSV record it came from, so a row waiting in a batch does not keep
// its whole record alive. Kept keys of rows with 20 KB cells would hold
// 40 MB if they did.
func TestKeyDoesNotHoldRecord(t *testing.T) {
	const rows, cell = 2000, 20 << 10
	for _, tc := range []struct {
		name   string
		entity Entity
		header string
	}{
		{"profiles", EntityProfiles, "integrationId,Note"},
		{"catalog", EntityCatalog, "sku,Note"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString(tc.header + "\n")
			big := strings.Repeat("x", cell)
			for i := range rows {
				fmt.Fprintf(&b, "k-%d,%s\n", i, big)
			}
			in := writeFile(t, "in.csv", b.String())
			keys := make([]string, 0, rows)
			func() {
				input, err := Open(in, nil)
				require.NoError(t, err)
				defer input.Close()
				r, err := NewReader(input, Options{Entity: tc.entity, Format: FormatCSV})
				require.NoError(t, err)
				for range rows {
					row, err := r.Next()
					require.NoError(t, err)
					require.NoError(t, row.Err)
					keys = append(keys, row.Item.Key)
				}
			}()
			b.Reset()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			assert.Less(t, ms.HeapAlloc, uint64(rows*cell/4), "the kept keys hold their records")
			assert.Equal(t, "k-1999", keys[rows-1])
		})
	}
}
