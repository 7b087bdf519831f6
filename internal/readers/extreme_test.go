package readers

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInputReadsSizeAtOpen appends to a file after Open, mid-row: the
// Reader reads the file as it was at Open, also after a seek to a resume
// position, and Grew reports the growth.
func TestInputReadsSizeAtOpen(t *testing.T) {
	for _, format := range []Format{FormatCSV, FormatJSONL} {
		t.Run(format.String(), func(t *testing.T) {
			head, row := "integrationId\n", "c%d\n"
			if format == FormatJSONL {
				head, row = "", `{"integrationId":"c%d"}`+"\n"
			}
			var b strings.Builder
			b.WriteString(head)
			for i := range 3 {
				b.WriteString(strings.Replace(row, "%d", string(rune('0'+i)), 1))
			}
			p := filepath.Join(t.TempDir(), "in")
			require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o600))

			in, err := Open(p, nil)
			require.NoError(t, err)
			defer in.Close()
			assert.False(t, in.Grew())
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = f.WriteString(strings.Replace(row, "%d", "9", 1)[:2]) // part of a row
			require.NoError(t, err)
			require.NoError(t, f.Close())
			assert.True(t, in.Grew())

			read := func(start Position) []Row {
				r, err := NewReader(in, Options{Entity: EntityProfiles, Format: format, Start: start})
				require.NoError(t, err)
				var rows []Row
				for {
					row, err := r.Next()
					if errors.Is(err, io.EOF) {
						return rows
					}
					require.NoError(t, err)
					require.NoError(t, row.Err)
					rows = append(rows, row)
				}
			}
			rows := read(Position{})
			require.Len(t, rows, 3, "the half row appended after Open is not read")
			// A second Reader seeks back: the bound still holds.
			again := read(rows[1].Resume)
			require.Len(t, again, 2)
			assert.Equal(t, rows[2].Item.JSON, again[1].Item.JSON)
		})
	}
}
