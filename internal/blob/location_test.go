package blob

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want Location
	}{
		{"-", Location{Kind: Stdin}},
		{"products.csv", Location{Kind: File, Path: "products.csv"}},
		{"/data/in/products.csv.gz", Location{Kind: File, Path: "/data/in/products.csv.gz"}},
		{"./odd://name.csv", Location{Kind: File, Path: "./odd://name.csv"}},
		{"file:///data/in.csv", Location{Kind: File, Path: "/data/in.csv"}},
		{"s3://bkt/in/shard-{shard}.csv", Location{Kind: S3, Bucket: "bkt", Key: "in/shard-{shard}.csv"}},
		{"S3://bkt/k", Location{Kind: S3, Bucket: "bkt", Key: "k"}},
		{"gs://bkt/a/b c.jsonl", Location{Kind: GCS, Bucket: "bkt", Key: "a/b c.jsonl"}},
		{"https://example.com/x.csv?sig=1", Location{Kind: HTTPS, URL: "https://example.com/x.csv?sig=1"}},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			require.NoError(t, err)
			tc.want.raw = tc.in
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.in, got.String())
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, msg string }{
		{"", "parse : bad location: empty location"},
		{"s3://", "parse s3://: bad location: no bucket"},
		{"s3://bkt", "parse s3://bkt: bad location: no object key after the bucket"},
		{"gs://bkt/dir/", "parse gs://bkt/dir/: bad location: no object key after the bucket"},
		{"http://example.com/x.csv", "parse http://example.com/x.csv: bad location: plain http is not supported; use https"},
		{"ftp://example.com/x.csv", `parse ftp://example.com/x.csv: bad location: unknown scheme "ftp": use a path, -, s3://, gs:// or https://`},
		{"https://user:pw@example.com/x.csv", "parse https://user:xxxxx@example.com/x.csv: bad location: user info in the URL is not supported"},
		{"https:///x.csv", "parse https:///x.csv: bad location: no host"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Parse(tc.in)
			assert.ErrorIs(t, err, ErrBadLocation)
			assert.ErrorContains(t, err, tc.msg)
			assert.NotContains(t, err.Error(), ":pw@")
		})
	}
}

func TestRedacted(t *testing.T) {
	l, err := Parse("https://b.s3.amazonaws.com/x.csv?X-Amz-Signature=abc")
	require.NoError(t, err)
	assert.Equal(t, "https://b.s3.amazonaws.com/x.csv?REDACTED", l.Redacted())
	l, err = Parse("s3://bkt/k?v")
	require.NoError(t, err)
	assert.Equal(t, "s3://bkt/k?v", l.Redacted(), "an object key may hold '?'")
}
