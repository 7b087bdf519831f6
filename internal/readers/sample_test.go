package readers

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSample(t *testing.T) {
	sample := func(t *testing.T, content string, delim rune, n int) ([]string, [][]string, error) {
		in, err := Open("-", strings.NewReader(content))
		require.NoError(t, err)
		defer in.Close()
		return Sample(in, delim, n)
	}
	t.Run("as a reader splits it", func(t *testing.T) {
		h, rows, err := sample(t, "\xEF\xBB\xBFKunde;Notiz;\r\nK-1;\"zwei\r\nZeilen\";\r\n\r\nK-2;\"kaputt;\nK-3;x;\n", ';', 10)
		require.NoError(t, err)
		assert.Equal(t, []string{"Kunde", "Notiz", ""}, h)
		assert.Equal(t, [][]string{{"K-1", "zwei\nZeilen", ""}, {"K-3", "x", ""}}, rows, "the broken record is left out, the next one read")
	})
	t.Run("at most n rows", func(t *testing.T) {
		_, rows, err := sample(t, "a\n1\n2\n3\n", 0, 2)
		require.NoError(t, err)
		assert.Equal(t, [][]string{{"1"}, {"2"}}, rows)
	})
	t.Run("the wrong delimiter", func(t *testing.T) {
		_, _, err := sample(t, "Kunde;Notiz\n", ',', 10)
		assert.ErrorIs(t, err, errBadColumn)
		assert.ErrorContains(t, err, "give --delimiter ';'")
	})
	t.Run("one column is fine", func(t *testing.T) {
		h, _, err := sample(t, "Kunde\nK-1\n", ',', 10)
		require.NoError(t, err)
		assert.Equal(t, []string{"Kunde"}, h)
	})
	t.Run("no header", func(t *testing.T) {
		_, _, err := sample(t, "\n\n", ',', 10)
		assert.ErrorIs(t, err, errNoHeader)
	})
	t.Run("gzip", func(t *testing.T) {
		h, rows, err := readGzSample(t, "a,b\n1,2\n")
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b"}, h)
		assert.Equal(t, [][]string{{"1", "2"}}, rows)
	})
}

func readGzSample(t *testing.T, content string) ([]string, [][]string, error) {
	p := writeFile(t, "x.csv.gz", string(gzipBytes(t, []byte(content))))
	in, err := Open(p, nil)
	require.NoError(t, err)
	defer in.Close()
	return Sample(in, ',', 10)
}
