package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/shard"
)

func TestApplyShard(t *testing.T) {
	tests := []struct {
		name    string
		shard   string
		env     map[string]string
		paths   [4]string // checkpoint, state, rejects, report
		rate    float64
		wantErr string
		want    [4]string
		rateNow float64
		input   string
	}{
		{name: "unsharded", paths: [4]string{"c.ckpt", "", "", "r.json"}, rate: 40, want: [4]string{"c.ckpt", "", "", "r.json"}, rateNow: 40, input: "in.csv"},
		{name: "I/N expands every path and splits the rate", shard: "2/4",
			paths: [4]string{"s3://b/c-{shard}.ckpt", "st-{shard}", "s3://b/rej-{shard}.jsonl", "r-{shard}.json"}, rate: 40,
			want: [4]string{"s3://b/c-2.ckpt", "st-2", "s3://b/rej-2.jsonl", "r-2.json"}, rateNow: 10, input: "in.csv"},
		{name: "auto/N from the Indexed Job", shard: "auto/4", env: map[string]string{shard.EnvJobCompletionIndex: "3"},
			paths: [4]string{"c-{shard}.ckpt", "", "", ""}, want: [4]string{"c-3.ckpt", "", "", ""}, input: "in.csv"},
		{name: "auto/N from the Airflow variable", shard: "auto/3", env: map[string]string{shard.EnvIndex: "1"},
			paths: [4]string{"", "", "", "r{shard}.json"}, want: [4]string{"", "", "", "r1.json"}, input: "in.csv"},
		{name: "a shared output without {shard}", shard: "0/2", paths: [4]string{"c.ckpt", "", "", ""}, wantErr: "would be written by all 2 shards"},
		{name: "a shared state in a bucket without {shard}", shard: "1/2", paths: [4]string{"", "s3://b/st.state", "", ""}, wantErr: "--state s3://b/st.state would be written by all 2 shards"},
		{name: "{shard} without --shard", paths: [4]string{"c-{shard}.ckpt", "", "", ""}, wantErr: "needs --shard"},
		{name: "auto without an index", shard: "auto/4", wantErr: "JOB_COMPLETION_INDEX"},
		{name: "an index out of range", shard: "4/4", wantErr: "from 0 to 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{getenv: func(k string) string { return tc.env[k] }}
			o := e.newSyncOptions(readers.EntityCatalog)
			o.Input, o.Shard, o.Rate = "in.csv", tc.shard, tc.rate
			o.Checkpoint, o.State, o.Rejects, o.Report = tc.paths[0], tc.paths[1], tc.paths[2], tc.paths[3]
			err := o.applyShard()
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Equal(t, exitUsage, exitCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, [4]string{o.Checkpoint, o.State, o.Rejects, o.Report})
			assert.Equal(t, tc.rateNow, o.Rate, "each shard takes R/N")
			assert.Equal(t, tc.input, o.Input)
		})
	}
}

// A shard's state is bound to the shard: another shard, another count of
// shards, or an unsharded run refuses it (state.ErrMismatch), since its
// prune would remove the keys of the shards it does not hold.
func TestStateIdentityHasTheShard(t *testing.T) {
	for _, tc := range []struct{ shard, want string }{{"", ""}, {"2/4", "2/4"}} {
		e := &env{getenv: func(string) string { return "" }}
		o := e.newSyncOptions(readers.EntityCatalog)
		o.Input, o.Shard = "in.csv", tc.shard
		require.NoError(t, o.applyShard())
		assert.Equal(t, tc.want, o.stateIdentity().Shard)
	}
}

// The default rejects file of a shard has the shard's index in it, so that
// shards on one host do not share one.
func TestDefaultRejectsOfAShard(t *testing.T) {
	e := &env{getenv: func(string) string { return "" }}
	o := e.newSyncOptions(readers.EntityCatalog)
	o.Input, o.Shard = "/data/in.csv", "1/4"
	require.NoError(t, o.applyShard())
	assert.Equal(t, "/data/in.csv.shard-1.rejects.jsonl", o.rejectsPath())
	o.Checkpoint = "s3://b/c-1.ckpt"
	assert.Equal(t, "s3://b/c-1.ckpt.rejects.jsonl", o.rejectsPath(), "beside a checkpoint in a bucket")
	o.Checkpoint, o.Input = "", "s3://exports/feeds/in.csv.gz"
	assert.Equal(t, "in.csv.gz.shard-1.rejects.jsonl", o.rejectsPath(), "an object input's in the working directory")
}

func TestFormatOfAPresignedURL(t *testing.T) {
	e := &env{getenv: func(string) string { return "" }}
	o := e.newSyncOptions(readers.EntityCatalog)
	o.Input = "https://bkt.s3.amazonaws.com/feeds/items.tsv.gz?X-Amz-Signature=abc.json&X-Amz-Expires=60"
	f, err := o.format()
	require.NoError(t, err)
	assert.Equal(t, readers.FormatCSV, f)
	assert.True(t, o.isTSV(), "the extension before the query")
}
