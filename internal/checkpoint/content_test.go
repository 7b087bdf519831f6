package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zeebo/xxh3"
)

func xxh3Hex(b []byte) string {
	s := xxh3.Hash128(b).Bytes()
	return hex.EncodeToString(s[:])
}

func testInput(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		b.WriteString("sku-")
		b.WriteString(strings.Repeat("x", i%13))
		b.WriteString(",10.90\n")
	}
	return b.Bytes()[:n]
}

// tap feeds data[from:to] to c in chunks of size step, as a reader would.
func tap(t *testing.T, c *ContentHasher, data []byte, from, to, step int) error {
	t.Helper()
	for off := from; off < to; off += step {
		end := min(off+step, to)
		if err := c.Tap(int64(off), data[off:end]); err != nil {
			return err
		}
	}
	return nil
}

func TestContentHasherTap(t *testing.T) {
	data := testInput(300_000)
	tests := []struct {
		name string
		feed func(c *ContentHasher) error
		n    int
	}{
		{name: "one pass", n: len(data), feed: func(c *ContentHasher) error { return tap(t, c, data, 0, len(data), 4096) }},
		{name: "a header read, a rewind, then all", n: len(data), feed: func(c *ContentHasher) error {
			require.NoError(t, tap(t, c, data, 0, 68_000, 7000))
			return tap(t, c, data, 0, len(data), 65536)
		}},
		{name: "a resume inside the hashed prefix", n: len(data), feed: func(c *ContentHasher) error {
			require.NoError(t, c.Fill(bytes.NewReader(data[:200_000])))
			require.NoError(t, tap(t, c, data, 0, 10_000, 4096)) // the CSV header
			return tap(t, c, data, 150_000, len(data), 999)      // from the resume offset
		}},
		{name: "a seek past the prefix stops the hash", n: 68_000, feed: func(c *ContentHasher) error {
			require.NoError(t, tap(t, c, data, 0, 68_000, 4096))
			return tap(t, c, data, 150_000, len(data), 4096)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewContentHasher()
			require.NoError(t, tc.feed(c))
			n, sum := c.Sum()
			assert.Equal(t, int64(tc.n), n)
			assert.Equal(t, xxh3Hex(data[:tc.n]), sum)
		})
	}
}

func TestContentHasherExpect(t *testing.T) {
	data := testInput(100_000)
	prefix := Fingerprint{Size: -1, Hashed: 60_000, Content: xxh3Hex(data[:60_000])}
	edited := bytes.Clone(data)
	copy(edited[30_000:], "99.99") // a same-size edit inside the prefix
	later := bytes.Clone(data)
	copy(later[80_000:], "99.99") // after it: bytes the earlier run never read

	tests := []struct {
		name    string
		input   []byte
		wantErr bool
	}{
		{name: "the same bytes", input: data},
		{name: "changed after the prefix", input: later},
		{name: "changed inside the prefix", input: edited, wantErr: true},
		{name: "shorter than the prefix", input: data[:50_000], wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewContentHasher()
			c.Expect(prefix)
			// Before the prefix is verified, a checkpoint keeps the old one.
			fp := prefix
			require.NoError(t, c.Tap(0, tc.input[:1000]))
			c.Into(&fp)
			assert.Equal(t, prefix, fp, "unverified: the checkpoint keeps the earlier run's prefix")

			err := tap(t, c, tc.input, 1000, len(tc.input), 4096)
			if err == nil {
				err = c.End(int64(len(tc.input)))
			}
			if tc.wantErr {
				assert.ErrorIs(t, err, ErrMismatch)
				c.Into(&fp)
				assert.Equal(t, prefix, fp, "a mismatch never reaches the checkpoint")
				return
			}
			require.NoError(t, err)
			c.Into(&fp)
			assert.Equal(t, int64(len(tc.input)), fp.Hashed)
			assert.Equal(t, xxh3Hex(tc.input), fp.Content)
		})
	}
}

func TestContentHasherInto(t *testing.T) {
	data := testInput(10_000)
	c := NewContentHasher()
	fp := Fingerprint{Size: 10_000}
	c.Into(&fp)
	assert.Zero(t, fp.Hashed, "nothing read: nothing to record")

	require.NoError(t, tap(t, c, data, 0, 4000, 1000))
	longer := Fingerprint{Size: 10_000, Hashed: 8000, Content: xxh3Hex(data[:8000])}
	got := longer
	c.Into(&got)
	assert.Equal(t, longer, got, "a shorter prefix does not replace a longer one")

	require.NoError(t, tap(t, c, data, 4000, len(data), 1000))
	c.Into(&got)
	assert.True(t, got.Whole())
	assert.Equal(t, xxh3Hex(data), got.Content)
}

func TestFingerprintSameSizeEdit(t *testing.T) {
	data := testInput(5 << 20)
	edited := bytes.Clone(data)
	i := bytes.Index(edited[2<<20:], []byte("10.90")) + 2<<20
	copy(edited[i:], "99.99")

	whole := func(b []byte) Fingerprint {
		fp := FingerprintOf(int64(len(b)), b[:FingerprintSpan], b[len(b)-FingerprintSpan:], "")
		fp.Hashed, fp.Content = int64(len(b)), xxh3Hex(b)
		return fp
	}
	a, b := whole(data), whole(edited)
	assert.True(t, a.Same(b), "size, head and tail cannot tell a same-size edit in the middle")
	assert.False(t, a.SameContent(b), "the content hash does")
	assert.True(t, a.SameContent(whole(data)))
	assert.True(t, a.Whole())
}

// The content hash runs beside every checkpointed read, so its speed is
// what a normal run pays. Compare: go test -bench 'Hash' ./internal/checkpoint
func BenchmarkContentHashXXH3(b *testing.B) {
	buf := testInput(64 << 10)
	c := NewContentHasher()
	b.SetBytes(int64(len(buf)))
	var off int64
	for b.Loop() {
		c.Tap(off, buf)
		off += int64(len(buf))
	}
}

func BenchmarkContentHashSHA256(b *testing.B) {
	buf := testInput(64 << 10)
	h := sha256.New()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		h.Write(buf)
	}
}
