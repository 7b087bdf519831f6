package readers

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestResume checks the Resume property on every row of every tricky
// fixture: a Reader started at row.Resume yields that row and the rest
// exactly as a Reader started at the beginning, whether it gets there by
// seeking (plain file) or by discarding (gzip, stdin).
func TestResume(t *testing.T) {
	cases := append(fixtureCases[:len(fixtureCases):len(fixtureCases)],
		struct {
			file string
			opts Options
		}{"catalog_bom.jsonl", Options{Entity: EntityCatalog, Format: FormatJSONL}})
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := fixtures + tc.file
			full, err := readPath(t, path, tc.opts)
			require.NoError(t, err)
			require.NotEmpty(t, full)
			content, err := os.ReadFile(path)
			require.NoError(t, err)

			for i, row := range full {
				opts := tc.opts
				opts.Start = row.Resume
				fromFile, err := readPath(t, path, opts)
				require.NoError(t, err, "row %d", i)
				assertSameRows(t, full[i:], fromFile)

				in, err := Open("-", strings.NewReader(string(content)))
				require.NoError(t, err)
				require.False(t, in.seekable)
				fromStdin, err := readAll(t, in, opts)
				require.NoError(t, err, "row %d", i)
				assertSameRows(t, full[i:], fromStdin)
			}
		})
	}
}

func assertSameRows(t *testing.T, want, got []Row) {
	t.Helper()
	require.Len(t, got, len(want))
	for j := range want {
		w, g := want[j], got[j]
		assert.Equal(t, int64(j), g.Seq)
		assert.Equal(t, w.Line, g.Line)
		assert.Equal(t, w.Resume, g.Resume)
		assert.Equal(t, w.Item, g.Item)
		assert.Equal(t, w.Record, g.Record)
		if w.Err == nil {
			assert.NoError(t, g.Err)
		} else {
			assert.EqualError(t, g.Err, w.Err.Error())
		}
	}
}

func TestResumeSameInput(t *testing.T) {
	// A seekable Input is rewound for a second Reader; a stream is refused.
	path := fixtures + "profiles_tricky.csv"
	in, err := Open(path, nil)
	require.NoError(t, err)
	defer in.Close()
	opts := Options{Entity: EntityProfiles, Format: FormatCSV}
	full, err := readAll(t, in, opts)
	require.NoError(t, err)
	opts.Start = full[3].Resume
	rest, err := readAll(t, in, opts)
	require.NoError(t, err)
	assertSameRows(t, full[3:], rest)

	gz, err := Open(path+".gz", nil)
	require.NoError(t, err)
	defer gz.Close()
	_, err = readAll(t, gz, opts)
	require.NoError(t, err)
	_, err = NewReader(gz, opts)
	assert.Error(t, err)
}

func TestResumeBadStart(t *testing.T) {
	tests := []struct {
		name  string
		start Position
	}{
		{"inside the header", Position{Offset: 5, Line: 1}},
		{"past the end", Position{Offset: 1 << 20, Line: 9}},
		{"no line", Position{Offset: 40}},
		{"negative", Position{Offset: -1, Line: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Open("-", strings.NewReader("integrationId\nu1\n"))
			require.NoError(t, err)
			_, err = NewReader(in, Options{Entity: EntityProfiles, Format: FormatCSV, Start: tc.start})
			assert.Error(t, err)
		})
	}
}
