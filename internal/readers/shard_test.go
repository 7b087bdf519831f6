package readers

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/shard"
)

// shardCases are the tricky fixtures and inputs made for sharding: bulk
// actions, lines that are not JSON, lines too long, rows without a key, and
// audience rows whose audienceId is bad or defaulted.
var shardCases = func() []struct {
	name, data string
	opts       Options
} {
	cases := []struct {
		name, data string
		opts       Options
	}{
		{name: "bulk.jsonl", opts: Options{Entity: EntityCatalog, Format: FormatJSONL, AllowBulk: true}, data: `{"sku":"a","price":1}
{"type":"PATCH_MANY","payload":{"filters":[{"attr":"x","op":"EQ","value":1}],"price":2}}
{"type":"ADD","payload":{"sku":"b","price":3}}
{"type":"ADD","payload":{"sku":"b","price":3},"sku":"c"}
not json at all
{"sku":"` + strings.Repeat("x", 5000) + `"}
{"sku":null}
{"sku":"d","sku":"e"}
{"type":"REMOVE_MANY","payload":{"filters":[{"attr":"x","op":"EQ","value":1}]}}
{"type":"REMOVE_MANY","payload":{"sku":"f"}}
`},
		{name: "audiences.jsonl", opts: Options{Entity: EntityAudiences, Format: FormatJSONL, AudienceID: 4}, data: `{"profileIntegrationId":"p1"}
{"profileIntegrationId":"p1","audienceId":5}
{"profileIntegrationId":"p1","audienceId":"5"}
{"profileIntegrationId":"p2","audienceId":"five"}
{"profileIntegrationId":null,"audienceId":5}
{"profileIntegrationId":"p3","audienceId":null,"action":"delete"}
`},
		{name: "audiences.csv", opts: Options{Entity: EntityAudiences, Format: FormatCSV}, data: "profileIntegrationId,audienceId\np1,5\np1,\np2,x\n,5\np3,6,extra\n\"bad\"quote,5\np4,7\n"},
		{name: "profiles.csv", opts: Options{Entity: EntityProfiles, Format: FormatCSV}, data: "integrationId,Age:number\nu1,1\nu2,x\n,3\nu4\nu5,5\n\"u\"6,6\nu7,7\n"},
	}
	for _, fc := range fixtureCases {
		if strings.HasSuffix(fc.file, ".gz") {
			continue
		}
		b, err := os.ReadFile(fixtures + fc.file)
		if err != nil {
			panic(err)
		}
		cases = append(cases, struct {
			name, data string
			opts       Options
		}{fc.file, string(b), fc.opts})
	}
	return cases
}()

func readShard(t *testing.T, data string, opts Options) ([]Row, int64) {
	t.Helper()
	opts.maxRowBytes = 4096
	in, err := Open("-", strings.NewReader(data))
	require.NoError(t, err)
	defer in.Close()
	r, err := NewReader(in, opts)
	require.NoError(t, err)
	var rows []Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows, r.OtherShards()
		}
		require.NoError(t, err)
		rows = append(rows, row)
	}
}

// TestShardsPartitionRows checks the contract of Options.Owns: over N
// shards every row is yielded by exactly one, a row that converts is
// yielded by the shard of its Item.Key, and a shard counts the rows it
// skips.
func TestShardsPartitionRows(t *testing.T) {
	for _, tc := range shardCases {
		t.Run(tc.name, func(t *testing.T) {
			all, other := readShard(t, tc.data, tc.opts)
			require.Zero(t, other)
			for _, n := range []int{2, 3, 5} {
				owner := map[int64]int{} // line → shard
				for i := range n {
					spec := shard.Spec{Index: i, Count: n}
					opts := tc.opts
					opts.Owns = spec.Owns
					rows, skipped := readShard(t, tc.data, opts)
					assert.Equal(t, int64(len(all)), int64(len(rows))+skipped, "shard %v: rows yielded plus skipped", spec)
					for _, row := range rows {
						prev, dup := owner[row.Line]
						assert.False(t, dup, "line %d yielded by shards %d and %d of %d", row.Line, prev, i, n)
						owner[row.Line] = i
						if row.Err == nil {
							assert.Equal(t, i, shard.Of(row.Item.Key, n), "line %d: the shard of its key %q", row.Line, row.Item.Key)
							assert.NotEmpty(t, row.Item.Key, "line %d: bulk actions are rejected in a sharded run", row.Line)
						}
					}
				}
				assert.Len(t, owner, len(all), "every row has a shard (N=%d)", n)
				for _, row := range all {
					_, ok := owner[row.Line]
					assert.True(t, ok, "line %d has no shard (N=%d)", row.Line, n)
				}
			}
		})
	}
}

func TestShardedBulkActionsAreRejected(t *testing.T) {
	tc := shardCases[0]
	var rejected []string
	for i := range 2 {
		opts := tc.opts
		opts.Owns = shard.Spec{Index: i, Count: 2}.Owns
		rows, _ := readShard(t, tc.data, opts)
		for _, row := range rows {
			if row.Err != nil && errors.Is(row.Err, errBulkRefused) {
				rejected = append(rejected, row.Err.Error())
			}
		}
	}
	require.Len(t, rejected, 2, "the PATCH_MANY and the REMOVE_MANY, once each")
	assert.Contains(t, rejected[0], "run it without --shard")
}

// A sharded Reader resumed at a row's Resume yields the same rows and ends
// with the same count of skipped rows, from the start of the input.
func TestShardedResumeKeepsTheCount(t *testing.T) {
	var b strings.Builder
	b.WriteString("integrationId,Age:number\n")
	for i := range 3000 {
		b.WriteString("user-")
		b.WriteString(strings.Repeat("z", i%7))
		b.WriteString(itoa(int64(i)))
		b.WriteString(",1\n")
	}
	path := writeFile(t, "p.csv", b.String())
	opts := Options{Entity: EntityProfiles, Format: FormatCSV, Owns: shard.Spec{Index: 1, Count: 4}.Owns}
	full, err := readPath(t, path, opts)
	require.NoError(t, err)
	require.Greater(t, len(full), 500)
	for _, k := range []int{0, 1, 250, len(full) - 1} {
		opts := opts
		opts.Start = full[k].Resume
		in, err := Open(path, nil)
		require.NoError(t, err)
		r, err := NewReader(in, opts)
		require.NoError(t, err)
		var rows []Row
		for {
			row, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			rows = append(rows, row)
		}
		in.Close()
		assertSameRows(t, full[k:], rows)
		assert.Equal(t, int64(3000-len(full)), r.OtherShards(), "resumed at row %d", k)
	}
}

// FuzzShardOwner checks on any one-row input that exactly one of three
// shards yields the row, and that a row that converts goes to its key's
// shard.
func FuzzShardOwner(f *testing.F) {
	for _, tc := range shardCases {
		for _, line := range strings.SplitN(tc.data, "\n", 4)[:3] {
			f.Add(int(tc.opts.Entity), int(tc.opts.Format), line)
		}
	}
	f.Fuzz(func(t *testing.T, entity, format int, data string) {
		e, ft := Entity(1+abs(entity)%3), Format(1+abs(format)%2)
		if ft == FormatCSV {
			header := map[Entity]string{EntityCatalog: "sku,price,Color", EntityProfiles: "integrationId,Age", EntityAudiences: "profileIntegrationId,audienceId"}[e]
			data = header + "\n" + data
		}
		yielded := 0
		for i := range 3 {
			in, err := Open("-", strings.NewReader(data+"\n"))
			if err != nil {
				return
			}
			r, err := NewReader(in, Options{Entity: e, Format: ft, AudienceID: 7, AllowBulk: true, maxRowBytes: 4096,
				Owns: shard.Spec{Index: i, Count: 3}.Owns})
			if err != nil {
				return // a header the entity cannot use
			}
			for {
				row, err := r.Next()
				if err != nil {
					break
				}
				yielded++
				if row.Err == nil && shard.Of(row.Item.Key, 3) != i {
					t.Fatalf("shard %d yielded a row whose key %q is shard %d's", i, row.Item.Key, shard.Of(row.Item.Key, 3))
				}
			}
		}
		unsharded, err := readAllString(e, ft, data+"\n")
		if err == nil && yielded != unsharded {
			t.Fatalf("%d rows over 3 shards, %d unsharded", yielded, unsharded)
		}
	})
}

func readAllString(e Entity, f Format, data string) (int, error) {
	in, err := Open("-", strings.NewReader(data))
	if err != nil {
		return 0, err
	}
	r, err := NewReader(in, Options{Entity: e, Format: f, AudienceID: 7, AllowBulk: true, maxRowBytes: 4096})
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		if _, err := r.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		n++
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// BenchmarkShardedRead reads 10,000 profile rows as one shard of four:
// input rows/s counts every row of the input, the skipped ones included,
// against the unsharded read of the same input.
func BenchmarkShardedRead(b *testing.B) {
	for _, jsonl := range []bool{true, false} {
		data := benchInput(10000, jsonl)
		format := FormatCSV
		if jsonl {
			format = FormatJSONL
		}
		for _, sharded := range []bool{false, true} {
			opts := Options{Entity: EntityProfiles, Format: format}
			name := format.String() + "/unsharded"
			if sharded {
				opts.Owns = shard.Spec{Index: 0, Count: 4}.Owns
				name = format.String() + "/shard-0-of-4"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					in, _ := Open("-", bytes.NewReader(data))
					r, err := NewReader(in, opts)
					if err != nil {
						b.Fatal(err)
					}
					for {
						if _, err := r.Next(); err != nil {
							break
						}
					}
				}
				b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "input-rows/s")
			})
		}
	}
}
