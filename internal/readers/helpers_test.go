package readers

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fixtures is the directory of the input fixtures and their golden files.
const fixtures = "testdata/"

// writeFile writes content to a file in a test's temp dir and returns its path.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// gzipBytes compresses b.
func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// readAll reads every row of in; err is the first error other than io.EOF.
func readAll(t testing.TB, in *Input, opts Options) ([]Row, error) {
	t.Helper()
	r, err := NewReader(in, opts)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
}

// readString reads content given on stdin.
func readString(t testing.TB, content string, opts Options) ([]Row, error) {
	t.Helper()
	in, err := Open("-", strings.NewReader(content))
	require.NoError(t, err)
	defer in.Close()
	return readAll(t, in, opts)
}

// readPath reads a file.
func readPath(t testing.TB, path string, opts Options) ([]Row, error) {
	t.Helper()
	in, err := Open(path, nil)
	require.NoError(t, err)
	defer in.Close()
	return readAll(t, in, opts)
}

// checkRow asserts the fuzz property of a row: an item with valid JSON, or a
// *rowError with a line, and valid JSON in Record.
func checkRow(t testing.TB, row Row) {
	t.Helper()
	if row.Err == nil {
		require.NotEmpty(t, row.Item.JSON, "row at line %d", row.Line)
		require.True(t, json.Valid(row.Item.JSON), "invalid JSON %q", row.Item.JSON)
		require.GreaterOrEqual(t, row.Line, int64(1))
		return
	}
	var re *rowError
	require.ErrorAs(t, row.Err, &re)
	require.GreaterOrEqual(t, re.Line, int64(1))
	require.True(t, json.Valid(row.Record), "invalid record %q", row.Record)
}

// items returns the JSON of each row, or "ERR line col: message" for rejects.
func summary(rows []Row) []string {
	var out []string
	for _, r := range rows {
		if r.Err != nil {
			out = append(out, "ERR "+r.Err.Error())
		} else {
			out = append(out, string(r.Item.JSON))
		}
	}
	return out
}
