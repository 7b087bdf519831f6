package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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

// TestUniformKeysAndChange: -keys repeats keys anywhere in the file, and
// -change alters about that share of rows, in every entity, leaving every
// other line as it was.
func TestUniformKeysAndChange(t *testing.T) {
	for _, entity := range []string{"profiles", "catalog", "audiences"} {
		t.Run(entity, func(t *testing.T) {
			o := options{Entity: entity, Format: "jsonl", Rows: 20000, Seed: 5, Keys: 16000}
			gen := func(o options) []string {
				var b bytes.Buffer
				require.NoError(t, generate(&b, o))
				return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			}
			base := gen(o)
			require.Len(t, base, o.Rows)

			// Keys repeat, and some repeats are far apart: more than the
			// 20000-key window of -dup would allow.
			first := map[string]int{}
			far := 0
			for i, line := range base {
				k := keyOf(t, line)
				if j, ok := first[k]; ok && i-j > o.Rows/2 {
					far++
				} else if !ok {
					first[k] = i
				}
			}
			assert.Less(t, len(first), o.Rows, "keys repeat")
			assert.Greater(t, len(first), o.Keys/2, "keys spread over the ids")
			assert.Positive(t, far, "a key repeats half a file later")

			o.Change = 0.01
			changed := gen(o)
			require.Len(t, changed, o.Rows)
			diff := 0
			for i := range base {
				if base[i] != changed[i] {
					diff++
					assert.Equal(t, keyOf(t, base[i]), keyOf(t, changed[i]), "a change keeps the key")
				}
			}
			assert.InDelta(t, o.Rows/100, diff, float64(o.Rows)/200, "about 1%% of rows changed")
		})
	}
}

// keyOf is a JSONL row's key: its SKU, profile id, or profile and audience.
func keyOf(t *testing.T, line string) string {
	var v struct {
		SKU        string `json:"sku"`
		ID         string `json:"integrationId"`
		Profile    string `json:"profileIntegrationId"`
		AudienceID int    `json:"audienceId"`
	}
	require.NoError(t, json.Unmarshal([]byte(line), &v))
	return fmt.Sprint(v.SKU, v.ID, v.Profile, v.AudienceID)
}
