package readers

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCSVUnterminatedQuote is issue 11's case: an unterminated quote on
// line 5 of a 7-line file swallowed the rows after it. Every data line is
// now a row: the broken one rejected, the ones after it delivered.
func TestCSVUnterminatedQuote(t *testing.T) {
	in := "sku,price\nr-1,1\nr-2,2\nr-3,3\nr-4,\"unterminated,5\nr-5,5\nr-6,6\n"
	rows, err := readString(t, in, Options{Entity: EntityCatalog, Format: FormatCSV})
	require.NoError(t, err)
	require.Len(t, rows, 6, "one row per data line")
	var lines []int64
	var keys []string
	for _, r := range rows {
		lines = append(lines, r.Line)
		keys = append(keys, r.Item.Key)
		checkRow(t, r)
	}
	assert.Equal(t, []int64{2, 3, 4, 5, 6, 7}, lines)
	assert.Equal(t, []string{"r-1", "r-2", "r-3", "", "r-5", "r-6"}, keys)
	require.Error(t, rows[3].Err)
	assert.ErrorIs(t, rows[3].Err, errUnterminated)
	assert.Equal(t, `line 5: column "price": unterminated quote: the quoted field that opens at line 5, byte 5 `+
		`does not close before the end of the input; reading resumes at line 6`, rows[3].Err.Error())
	assert.JSONEq(t, `{"sku":"r-4","price":"unterminated,5"}`, string(rows[3].Record))
	assert.Equal(t, Position{Offset: int64(strings.Index(in, "r-5")), Line: 6}, rows[4].Resume)
}

func TestCSVBrokenQuotes(t *testing.T) {
	tests := []struct {
		name  string
		in    string // after the header "integrationId,A"
		want  []string
		lines []int64
	}{
		{
			name:  "closed by a later row's quote",
			in:    "u1,\"open\nu2,b\nu3,\"c\"\n",
			want:  []string{`ERR line 2: column "A": extraneous or missing " in quoted-field (line 4, byte 4): the quoted field that opens at line 2, byte 4 may lack its closing quote; reading resumes at line 3`, `u2 b`, `u3 c`},
			lines: []int64{2, 3, 4},
		},
		{
			name: "closed by a later quote and a delimiter: field count",
			in:   "u1,\"open\nu2,\",x\nu3,c\n",
			want: []string{
				`ERR line 2: wrong number of fields: 3 fields, header has 2; the quoted field that opens at line 2, byte 4 spans lines and may lack its closing quote; reading resumes at line 3`,
				`ERR line 3: column "A": unterminated quote: the quoted field that opens at line 3, byte 4 does not close before the end of the input; reading resumes at line 4`,
				`u3 c`,
			},
			lines: []int64{2, 3, 4},
		},
		{
			name:  "a quoted field over many lines, then garbage on its last line",
			in:    "u1,\"a\nb\"x\nu2,c\n",
			want:  []string{`ERR line 2: column "A": extraneous or missing " in quoted-field (line 3, byte 2): the quoted field that opens at line 2, byte 4 may lack its closing quote; reading resumes at line 3`, `ERR line 3: column "integrationId": bare " in non-quoted-field (line 3, byte 2)`, `u2 c`},
			lines: []int64{2, 3, 4},
		},
		{
			name:  "bare quote after a field that spans lines resumes after the bad line",
			in:    "u1,\"a\nb\",x\"y\nu2,c\n",
			want:  []string{`ERR line 2: bare " in non-quoted-field (line 3, byte 5)`, `u2 c`},
			lines: []int64{2, 4},
		},
		{
			name:  "unterminated on the last line",
			in:    "u1,a\nu2,\"b",
			want:  []string{`u1 a`, `ERR line 3: column "A": unterminated quote: the quoted field that opens at line 3, byte 4 does not close before the end of the input`},
			lines: []int64{2, 3},
		},
		{
			name:  "a legitimate multi-line field stays one row",
			in:    "u1,\"a\r\nb\"\r\nu2,c\r\n",
			want:  []string{"u1 a\nb", `u2 c`},
			lines: []int64{2, 4},
		},
		{
			name:  "CRLF in the lines read again",
			in:    "u1,\"open\r\nu2,b\r\n\r\nu3,c\r\n",
			want:  []string{`ERR line 2: column "A": unterminated quote: the quoted field that opens at line 2, byte 4 does not close before the end of the input; reading resumes at line 3`, `u2 b`, `u3 c`},
			lines: []int64{2, 3, 5},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := readString(t, "integrationId,A\n"+tc.in, Options{Entity: EntityProfiles, Format: FormatCSV})
			require.NoError(t, err)
			var got []string
			var lines []int64
			for _, r := range rows {
				checkRow(t, r)
				lines = append(lines, r.Line)
				if r.Err != nil {
					got = append(got, "ERR "+r.Err.Error())
					continue
				}
				var p struct {
					ID    string            `json:"integrationId"`
					Attrs map[string]string `json:"attributes"`
				}
				require.NoError(t, json.Unmarshal(r.Item.JSON, &p))
				got = append(got, p.ID+" "+p.Attrs["A"])
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.lines, lines)
		})
	}
}

// TestCSVOverlongQuotedField: an unterminated quote in a large file stops at
// the row bound, and the lines after it are read again from memory.
func TestCSVOverlongQuotedField(t *testing.T) {
	var b strings.Builder
	b.WriteString("integrationId,A\nu0,\"never closed\n")
	for i := range 100 {
		b.WriteString("u" + strings.Repeat("x", 20) + string(rune('a'+i%26)) + ",v\n")
	}
	rows, err := readString(t, b.String(), Options{Entity: EntityProfiles, Format: FormatCSV, maxRowBytes: 300})
	require.NoError(t, err)
	require.Len(t, rows, 101)
	assert.ErrorIs(t, rows[0].Err, errRowTooLong)
	assert.Contains(t, rows[0].Err.Error(), "the quoted field that opens at line 2, byte 4 does not close within 300 bytes; reading resumes at line 3")
	for i, r := range rows[1:] {
		require.NoError(t, r.Err, "row %d", i)
		assert.Equal(t, int64(i+3), r.Line)
	}
}

// TestCSVScannerPush reads a record through bytes read again and the
// stream at once: a line that starts in the pushed-back bytes and ends in
// the stream.
func TestCSVScannerPush(t *testing.T) {
	sc := newCSVScanner(bufio.NewReaderSize(strings.NewReader("tail,x\nnext\n"), 16), ',', 1<<20, Position{Line: 1})
	sc.push = []byte("a,b\nhead-")
	rec, line, err := sc.next()
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, rec)
	assert.Equal(t, int64(1), line)
	rec, line, err = sc.next()
	require.NoError(t, err)
	assert.Equal(t, []string{"head-tail", "x"}, rec)
	assert.Equal(t, int64(2), line)
	rec, _, err = sc.next()
	require.NoError(t, err)
	assert.Equal(t, []string{"next"}, rec)
	_, _, err = sc.next()
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, int64(len("a,b\nhead-tail,x\nnext\n")), sc.pos.Offset)
}

// FuzzCSVScanner checks the scanner against encoding/csv: up to the first
// record encoding/csv refuses, both read the same records, starting on the
// same lines, and end at the same offset.
func FuzzCSVScanner(f *testing.F) {
	seedFiles(f, ".csv")
	f.Add("a,b\r\n\"c\r\nd\",e\n\n\"\"\"\",f\r")
	f.Add("x;\"y;z\"\n;;\n")
	f.Fuzz(func(t *testing.T, data string) {
		for _, comma := range []rune{',', ';', '\t', 'é'} {
			cr := csv.NewReader(strings.NewReader(data))
			cr.Comma = comma
			cr.FieldsPerRecord = -1
			sc := newCSVScanner(bufio.NewReaderSize(strings.NewReader(data), 16), comma, 1<<20, Position{Line: 1})
			for {
				want, werr := cr.Read()
				got, line, gerr := sc.next()
				if werr != nil {
					if errors.Is(werr, io.EOF) {
						require.ErrorIs(t, gerr, io.EOF, "comma %q", comma)
					} else {
						var cb *csvBroken
						require.ErrorAs(t, gerr, &cb, "comma %q: encoding/csv: %v", comma, werr)
					}
					break
				}
				require.NoError(t, gerr, "comma %q", comma)
				assert.Equal(t, want, got, "comma %q", comma)
				wl, _ := cr.FieldPos(0)
				assert.Equal(t, int64(wl), line, "comma %q", comma)
				assert.Equal(t, cr.InputOffset(), sc.pos.Offset, "comma %q", comma)
			}
		}
	})
}

// TestResumeThroughPushback: a Reader started at the Resume of any row
// that follows a broken quote, even one read again from kept bytes, yields
// the rows a full read yields, from a file (seeking) or from stdin.
func TestResumeThroughPushback(t *testing.T) {
	var b strings.Builder
	b.WriteString("integrationId,A\r\nu0,\"never closed\r\n")
	for i := range 40 {
		if i%10 == 9 {
			fmt.Fprintf(&b, "m%d,\"two\r\nlines\"\r\n", i) // a quoted field that spans lines and closes
		} else {
			fmt.Fprintf(&b, "u%d,v%d\r\n", i, i)
		}
	}
	b.WriteString("x,\"open at the end\r\nlast,row\r\n")
	content := b.String()
	opts := Options{Entity: EntityProfiles, Format: FormatCSV, maxRowBytes: 60}
	path := writeFile(t, "p.csv", content)
	full, err := readPath(t, path, opts)
	require.NoError(t, err)
	require.Len(t, full, 43)
	assert.ErrorIs(t, full[0].Err, errRowTooLong, "u0's quote runs past the row bound")
	assert.ErrorIs(t, full[41].Err, errUnterminated, "x's quote runs to the end")
	assert.Equal(t, `{"integrationId":"last","attributes":{"A":"row"}}`, string(full[42].Item.JSON))
	for i, row := range full {
		o := opts
		o.Start = row.Resume
		fromFile, err := readPath(t, path, o)
		require.NoError(t, err, "row %d", i)
		assertSameRows(t, full[i:], fromFile)
		fromStdin, err := readString(t, content, o)
		require.NoError(t, err, "row %d", i)
		assertSameRows(t, full[i:], fromStdin)
	}
}
