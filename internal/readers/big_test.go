package readers

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeHuge writes head, then a line of n bytes of 'x' inside prefix/suffix,
// then tail.
func writeHuge(t *testing.T, head, prefix string, n int, suffix, tail string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "huge")
	f, err := os.Create(p)
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	w.WriteString(head + prefix)
	chunk := strings.Repeat("x", 64<<10)
	for n > 0 {
		k := min(n, len(chunk))
		w.WriteString(chunk[:k])
		n -= k
	}
	w.WriteString(suffix + tail)
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	return p
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHugeJSONLLine(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 20 MB")
	}
	const size = 20 << 20
	path := writeHuge(t, `{"integrationId":"u0"}`+"\n", `{"integrationId":"u1","attributes":{"A":"`, size, `"}}`,
		"\r\n"+`{"integrationId":"u2"}`+"\n")
	var rows []Row
	var err error
	alloc := allocated(func() {
		rows, err = readPath(t, path, Options{Entity: EntityProfiles, Format: FormatJSONL, maxRowBytes: 1 << 20})
	})
	require.NoError(t, err)
	require.Len(t, rows, 3)
	assert.NoError(t, rows[0].Err)
	assert.ErrorIs(t, rows[1].Err, errRowTooLong)
	assert.Equal(t, int64(2), rows[1].Line)
	checkRow(t, rows[1])
	assert.Equal(t, `{"integrationId":"u2"}`, string(rows[2].Item.JSON))
	assert.Equal(t, int64(3), rows[2].Line)
	assert.Less(t, alloc, uint64(8<<20), "reading a 20 MB line must not buffer it")
}

func TestHugeCSVRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 20 MB")
	}
	const size = 20 << 20
	for _, quoted := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "quoted"}[quoted], func(t *testing.T) {
			q := ""
			if quoted {
				q = `"`
			}
			path := writeHuge(t, "integrationId,A\nu0,a\n", "u1,"+q, size, q, "\nu2,b\n")
			in, err := Open(path, nil)
			require.NoError(t, err)
			defer in.Close()
			var rows []Row
			alloc := allocated(func() {
				var r *Reader
				r, err = NewReader(in, Options{Entity: EntityProfiles, Format: FormatCSV, maxRowBytes: 1 << 20})
				require.NoError(t, err)
				for {
					var row Row
					row, err = r.Next()
					if err != nil {
						break
					}
					rows = append(rows, row)
				}
			})
			require.ErrorIs(t, err, io.EOF, "an over-long record is a rejected row, not the end of the input")
			require.Len(t, rows, 3)
			assert.NoError(t, rows[0].Err)
			assert.ErrorIs(t, rows[1].Err, errRowTooLong)
			assert.Equal(t, int64(3), rows[1].Line)
			checkRow(t, rows[1])
			assert.Equal(t, `{"integrationId":"u2","attributes":{"A":"b"}}`, string(rows[2].Item.JSON))
			assert.Equal(t, int64(4), rows[2].Line)
			assert.Less(t, alloc, uint64(8<<20), "a long record must not be buffered whole")
		})
	}
}

func TestCSVRecordJustUnderLimit(t *testing.T) {
	long := strings.Repeat("y", 200)
	rows, err := readString(t, "integrationId,A\nu1,"+long+"\n", Options{Entity: EntityProfiles, Format: FormatCSV, maxRowBytes: 300})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.NoError(t, rows[0].Err)

	rows, err = readString(t, "integrationId,A\nu1,"+long+"\nu2,b\n", Options{Entity: EntityProfiles, Format: FormatCSV, maxRowBytes: 100})
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.ErrorIs(t, rows[0].Err, errRowTooLong)
	assert.JSONEq(t, `"u1,`+long+`..."`, string(rows[0].Record))
	assert.NoError(t, rows[1].Err)
	_, err = readString(t, "integrationId,"+long+"\n", Options{Entity: EntityProfiles, Format: FormatCSV, maxRowBytes: 100})
	assert.ErrorIs(t, err, errRowTooLong, "the header is bounded too")
}
