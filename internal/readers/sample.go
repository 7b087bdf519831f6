package readers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// Sample reads the header and up to n records of a CSV input the way a
// Reader splits them (a BOM, quotes, CRLF, the delimiter), without mapping
// them: for proposing a column mapping (columns.Infer). A record that does
// not split is left out. The header is an error when there is none, and
// when it is one column that holds another delimiter and not delim: the
// error then says which --delimiter to give. Sample reads in from its
// start and does not close it.
func Sample(in *Input, delim rune, n int) (header []string, rows [][]string, err error) {
	if delim == 0 {
		delim = ','
	}
	if delim == '"' || delim == '\r' || delim == '\n' || delim == utf8.RuneError || !utf8.ValidRune(delim) {
		return nil, nil, fmt.Errorf("sample: invalid delimiter %q", delim)
	}
	if in.used {
		if !in.seekable {
			return nil, nil, errors.New("sample: input already read and not seekable")
		}
		if err := in.seek(0); err != nil {
			return nil, nil, fmt.Errorf("sample: %w", err)
		}
	}
	in.used = true
	br := bufio.NewReaderSize(in.stream, bufSize)
	if b, _ := br.Peek(3); bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
		br.Discard(3)
	}
	sc := newCSVScanner(br, delim, defaultMaxRowBytes, Position{Line: 1})
	rec, _, err := sc.next()
	var cb *csvBroken
	switch {
	case err == io.EOF:
		return nil, nil, &headerError{Err: errNoHeader}
	case errors.As(err, &cb):
		return nil, nil, &headerError{Err: fmt.Errorf("line %d: %w", cb.line, cb.err)}
	case err != nil:
		return nil, nil, &parseError{Line: sc.pos.Line, Err: err}
	}
	header = append([]string(nil), rec...)
	if len(header) == 1 {
		if d, ok := otherDelimiter(header[0], delim); ok {
			return nil, nil, &headerError{Column: header[0], Err: withDetail(errBadColumn,
				"the header is one column that holds "+strconv.QuoteRune(d)+" but no "+strconv.QuoteRune(delim)+
					": for a file separated by "+delimiterName(d)+", give --delimiter "+delimiterFlag(d))}
		}
	}
	for len(rows) < n {
		rec, _, err := sc.next()
		if errors.As(err, &cb) {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, &parseError{Line: sc.pos.Line, Err: err}
		}
		rows = append(rows, append([]string(nil), rec...))
	}
	return header, rows, nil
}
