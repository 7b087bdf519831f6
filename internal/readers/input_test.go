package readers

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpen(t *testing.T) {
	csvPath := fixtures + "profiles_tricky.csv"
	plain, err := os.ReadFile(csvPath)
	require.NoError(t, err)
	// A gzipped file named .csv is still gunzipped: detection is by content.
	gzNoExt := writeFile(t, "sneaky.csv", string(gzipBytes(t, plain)))

	tests := []struct {
		name         string
		path         string
		stdin        io.Reader
		wantSize     int64
		wantSeekable bool
	}{
		{"plain file", csvPath, nil, int64(len(plain)), true},
		{"gzip by extension", csvPath + ".gz", nil, -2, false},
		{"gzip by magic", gzNoExt, nil, -2, false},
		{"stdin", "-", strings.NewReader(string(plain)), -1, false},
		{"gzip on stdin", "-", strings.NewReader(string(gzipBytes(t, plain))), -1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Open(tc.path, tc.stdin)
			require.NoError(t, err)
			defer in.Close()
			if tc.wantSize != -2 {
				assert.Equal(t, tc.wantSize, in.Size())
			} else {
				assert.Positive(t, in.Size())
			}
			assert.Equal(t, tc.wantSeekable, in.seekable)
			rows, err := readAll(t, in, Options{Entity: EntityProfiles, Format: FormatCSV})
			require.NoError(t, err)
			assert.Len(t, rows, 10)
			if in.Size() > 0 {
				assert.Equal(t, in.Size(), in.BytesRead())
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing.csv"), nil)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = Open("-", nil)
	assert.Error(t, err)
}

func TestTruncatedGzip(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("integrationId,Note\n")
	for i := range 5000 {
		sb.WriteString("user")
		sb.WriteString(strings.Repeat("x", i%17))
		sb.WriteString(",some note text\n")
	}
	gz := gzipBytes(t, []byte(sb.String()))
	for _, format := range []Format{FormatCSV, FormatJSONL} {
		t.Run(format.String(), func(t *testing.T) {
			path := writeFile(t, "cut.gz", string(gz[:len(gz)*2/3]))
			rows, err := readPath(t, path, Options{Entity: EntityProfiles, Format: format})
			var pe *parseError
			require.ErrorAs(t, err, &pe)
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
			assert.Positive(t, pe.Line)
			assert.NotEmpty(t, rows)
		})
	}
}

func TestFormatFromPath(t *testing.T) {
	tests := []struct {
		path string
		want Format
		ok   bool
	}{
		{"a.csv", FormatCSV, true},
		{"dir.x/A.CSV.GZ", FormatCSV, true},
		{"a.tsv", FormatCSV, true},
		{"a.jsonl", FormatJSONL, true},
		{"a.ndjson.gz", FormatJSONL, true},
		{"a.json", 0, false},
		{"-", 0, false},
		{"a.gz", 0, false},
	}
	for _, tc := range tests {
		got, ok := FormatFromPath(tc.path)
		assert.Equal(t, tc.ok, ok, tc.path)
		assert.Equal(t, tc.want, got, tc.path)
	}
	f, err := ParseFormat("NDJSON")
	require.NoError(t, err)
	assert.Equal(t, FormatJSONL, f)
	_, err = ParseFormat("xml")
	assert.Error(t, err)
}

func TestNewReaderOptionErrors(t *testing.T) {
	for name, opts := range map[string]Options{
		"no entity":      {Format: FormatCSV},
		"no format":      {Entity: EntityProfiles},
		"bad delimiter":  {Entity: EntityProfiles, Format: FormatCSV, Delimiter: '"'},
		"bad action":     {Entity: EntityAudiences, Format: FormatCSV, AudienceAction: "join"},
		"negative max":   {Entity: EntityProfiles, Format: FormatCSV, maxRowBytes: -1},
		"negative audId": {Entity: EntityAudiences, Format: FormatCSV, AudienceID: -1},
	} {
		t.Run(name, func(t *testing.T) {
			in, err := Open("-", strings.NewReader("integrationId\n"))
			require.NoError(t, err)
			_, err = NewReader(in, opts)
			assert.Error(t, err)
		})
	}
}
