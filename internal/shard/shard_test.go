package shard

import (
	"fmt"
	"hash/fnv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParse(t *testing.T) {
	cases := []struct {
		name, in string
		env      map[string]string
		want     Spec
	}{
		{"none", "", nil, Spec{}},
		{"explicit", "2/4", nil, Spec{Index: 2, Count: 4}},
		{"one shard", "0/1", nil, Spec{Index: 0, Count: 1}},
		{"kubernetes", "auto/8", map[string]string{EnvJobCompletionIndex: "7"}, Spec{Index: 7, Count: 8}},
		{"airflow", "auto/3", map[string]string{EnvIndex: "0"}, Spec{Index: 0, Count: 3}},
		{"both agree", "auto/3", map[string]string{EnvIndex: "1", EnvJobCompletionIndex: "1"}, Spec{Index: 1, Count: 3}},
		{"explicit ignores env", "1/2", map[string]string{EnvJobCompletionIndex: "0"}, Spec{Index: 1, Count: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in, env(tc.env))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		in  string
		env map[string]string
		msg string
	}{
		{"4", nil, `bad --shard "4": want I/N or auto/N, such as 0/4`},
		{"4/4", nil, `bad --shard "4/4": the shard index "4" must be a whole number from 0 to 3`},
		{"-1/4", nil, `the shard index "-1" must be`},
		{"0/0", nil, "the shard count must be a whole number from 1 to 10000"},
		{"0/10001", nil, "the shard count must be"},
		{"0/x", nil, "the shard count must be"},
		{"auto/4", nil, "auto needs $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job sets it) or $TALONSYNC_SHARD_INDEX"},
		{"auto/4", map[string]string{EnvJobCompletionIndex: "4"}, `the shard index "4" (from $JOB_COMPLETION_INDEX) must be a whole number from 0 to 3`},
		{"auto/4", map[string]string{EnvIndex: "two"}, `the shard index "two" (from $TALONSYNC_SHARD_INDEX)`},
		{"auto/4", map[string]string{EnvIndex: "1", EnvJobCompletionIndex: "2"}, "$TALONSYNC_SHARD_INDEX is 1 but $JOB_COMPLETION_INDEX is 2"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Parse(tc.in, env(tc.env))
			assert.ErrorIs(t, err, ErrSpec)
			assert.ErrorContains(t, err, tc.msg)
		})
	}
}

// The hash is a contract between processes and versions: these values
// must never change. They were checked against an independent Python
// implementation of the function in the package comment.
func TestHashIsStable(t *testing.T) {
	cases := []struct {
		key      string
		hash     uint64
		of4, of7 int
	}{
		{"", 0xefd01f60ba992926, 2, 1},
		{"SKU-1001", 0xd283f3fed7980f7f, 3, 1},
		{"cust-0001", 0xc6ca03dc06e2a5ff, 3, 5},
		{"7/cust-0001", 0x4bad640fc6bf8a54, 0, 3},
		{"ü", 0x9a8fa3aaaa09fd21, 1, 2},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			assert.Equal(t, tc.hash, Hash(tc.key))
			assert.Equal(t, tc.of4, Of(tc.key, 4))
			assert.Equal(t, tc.of7, Of(tc.key, 7))
		})
	}
}

func TestHashIsFNV1aThenFmix(t *testing.T) {
	for i := range 1000 {
		key := fmt.Sprintf("SKU-%07d", i)
		f := fnv.New64a()
		f.Write([]byte(key))
		x := f.Sum64()
		x ^= x >> 33
		x *= 0xff51afd7ed558ccd
		x ^= x >> 33
		x *= 0xc4ceb9fe1a85ec53
		x ^= x >> 33
		require.Equal(t, x, Hash(key), key)
	}
}

// Sequential keys, as exports have them, spread evenly, and each key is
// owned by exactly one shard.
func TestShardsPartitionKeysEvenly(t *testing.T) {
	const keys = 200_000
	for _, n := range []int{2, 4, 7, 16} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			counts := make([]int, n)
			specs := make([]Spec, n)
			for i := range specs {
				specs[i] = Spec{Index: i, Count: n}
			}
			for k := range keys {
				key := fmt.Sprintf("cust-%06d", k)
				owners := 0
				for _, s := range specs {
					if s.Owns(key) {
						owners++
						counts[s.Index]++
					}
				}
				require.Equal(t, 1, owners, key)
			}
			for i, c := range counts {
				assert.InDelta(t, keys/n, c, 0.03*keys/float64(n), "shard %d of %d", i, n)
			}
		})
	}
}

func TestUnshardedOwnsEverything(t *testing.T) {
	for _, s := range []Spec{{}, {Index: 0, Count: 1}} {
		assert.True(t, s.Owns("SKU-1001"))
		assert.True(t, s.Owns(""))
		assert.Equal(t, 0, Of("SKU-1001", s.Count))
	}
}

func TestExpand(t *testing.T) {
	s := Spec{Index: 3, Count: 4}
	assert.Equal(t, "s3://b/state/catalog-3.snap", s.Expand("s3://b/state/catalog-{shard}.snap"))
	assert.Equal(t, "gs://b/3/report-3.json", s.Expand("gs://b/{shard}/report-{shard}.json"))
	assert.Equal(t, "in.csv", s.Expand("in.csv"))
	assert.Equal(t, "x-{shard}", Spec{}.Expand("x-{shard}"))
	assert.Equal(t, "x-0", Spec{Index: 0, Count: 1}.Expand("x-{shard}"))
}

func TestCheckPath(t *testing.T) {
	four := Spec{Index: 1, Count: 4}
	cases := []struct {
		name   string
		s      Spec
		path   string
		shared bool
		msg    string
	}{
		{"sharded output with placeholder", four, "s3://b/ckpt-{shard}.json", true, ""},
		{"sharded input without one", four, "s3://b/products.csv", false, ""},
		{"unsharded plain", Spec{}, "ckpt.json", true, ""},
		{"one shard may keep it", Spec{Count: 1}, "ckpt-{shard}.json", true, ""},
		{"sharded output without placeholder", four, "s3://b/state.snap", true,
			"bad --shard: --state s3://b/state.snap would be written by all 4 shards; put {shard} in it"},
		{"placeholder without --shard", Spec{}, "ckpt-{shard}.json", true,
			"bad --shard: --state ckpt-{shard}.json holds {shard}, which needs --shard"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.CheckPath("--state", tc.path, tc.shared)
			if tc.msg == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrSpec)
			assert.EqualError(t, err, tc.msg)
		})
	}
}

func TestRate(t *testing.T) {
	assert.Equal(t, 2.5, Spec{Index: 0, Count: 4}.Rate(10))
	assert.Equal(t, 0.0, Spec{Index: 0, Count: 4}.Rate(0))
	assert.Equal(t, 10.0, Spec{}.Rate(10))
	assert.Equal(t, 10.0, Spec{Count: 1}.Rate(10))
}

func BenchmarkOwns(b *testing.B) {
	s := Spec{Index: 1, Count: 4}
	b.ReportAllocs()
	for b.Loop() {
		s.Owns("cust-0001234567")
	}
}
