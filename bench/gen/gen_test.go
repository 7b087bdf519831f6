package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/readers"
)

// TestGeneratedInputsParse checks that every generated input is read by
// talonsync's readers with no rejected row, so the benchmarks measure the
// happy path they claim to.
func TestGeneratedInputsParse(t *testing.T) {
	entities := map[string]readers.Entity{
		"profiles": readers.EntityProfiles, "catalog": readers.EntityCatalog, "audiences": readers.EntityAudiences,
	}
	tests := []struct {
		name   string
		opts   options
		unique bool // every key is distinct
	}{
		{name: "profiles csv", opts: options{Entity: "profiles", Format: "csv"}, unique: true},
		{name: "profiles jsonl", opts: options{Entity: "profiles", Format: "jsonl"}, unique: true},
		{name: "profiles csv gzip dup", opts: options{Entity: "profiles", Format: "csv", Gzip: true, Dup: 0.3}},
		{name: "catalog csv", opts: options{Entity: "catalog", Format: "csv"}, unique: true},
		{name: "catalog jsonl mixed", opts: options{Entity: "catalog", Format: "jsonl", Mixed: true}, unique: true},
		{name: "audiences csv", opts: options{Entity: "audiences", Format: "csv"}, unique: true},
		{name: "audiences jsonl", opts: options{Entity: "audiences", Format: "jsonl", Dup: 0.2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Rows, o.Seed = 3000, 7
			o.Out = filepath.Join(t.TempDir(), "in."+o.Format)
			require.NoError(t, run(o, io.Discard))

			in, err := readers.Open(o.Out, nil)
			require.NoError(t, err)
			defer in.Close()
			format := readers.FormatCSV
			if o.Format == "jsonl" {
				format = readers.FormatJSONL
			}
			r, err := readers.NewReader(in, readers.Options{Entity: entities[o.Entity], Format: format})
			require.NoError(t, err)
			keys := map[string]bool{}
			n := 0
			for {
				row, err := r.Next()
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				require.NoError(t, row.Err, "line %d: %s", row.Line, row.Record)
				keys[row.Item.Key] = true
				n++
			}
			assert.Equal(t, o.Rows, n)
			if tc.unique {
				assert.Len(t, keys, o.Rows)
			} else {
				assert.Less(t, len(keys), o.Rows)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	gen := func() []byte {
		var b bytes.Buffer
		require.NoError(t, generate(&b, options{Entity: "profiles", Format: "csv", Rows: 500, Seed: 3, Dup: 0.1}))
		return b.Bytes()
	}
	assert.Equal(t, gen(), gen())
}

func TestNoPartialFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.csv")
	f, err := createAtomic(out, false)
	require.NoError(t, err)
	_, err = f.Write([]byte("half"))
	require.NoError(t, err)
	f.Abort()
	_, err = os.Stat(out)
	assert.ErrorIs(t, err, os.ErrNotExist)
	entries, err := os.ReadDir(filepath.Dir(out))
	require.NoError(t, err)
	assert.Empty(t, entries)
}

func BenchmarkGenProfilesCSV(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		require.NoError(b, generate(io.Discard, options{Entity: "profiles", Format: "csv", Rows: 10000, Seed: 1}))
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "rows/s")
}
