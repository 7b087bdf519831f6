package readers

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// newCSV starts the CSV scanner at r.pos, on r.br.
func (r *Reader) newCSV() {
	r.sc = newCSVScanner(r.br, r.opts.Delimiter, r.opts.maxRowBytes, r.pos)
}

// readHeader reads the header row from the start of the stream and builds
// the mapping plan.
func (r *Reader) readHeader() error {
	r.newCSV()
	rec, _, err := r.sc.next()
	var cb *csvBroken
	switch {
	case err == io.EOF:
		return &headerError{Err: errNoHeader}
	case errors.As(err, &cb):
		return &headerError{Err: fmt.Errorf("line %d: %w", cb.line, cb.err)}
	case err != nil:
		return &parseError{Line: r.sc.pos.Line, Err: err}
	}
	r.pos = r.sc.pos
	r.header = append([]string(nil), rec...) // rec is reused by the scanner
	r.plan, err = buildPlan(r.opts.Entity, r.header)
	return err
}

// nextCSV reads and maps the next record.
func (r *Reader) nextCSV() (Row, error) {
	resume := r.sc.pos
	rec, line, err := r.sc.next()
	if err != nil {
		var cb *csvBroken
		if !errors.As(err, &cb) {
			if err != io.EOF {
				err = &parseError{Line: r.sc.pos.Line, Err: err}
			}
			return Row{}, err
		}
		re := &rowError{Line: cb.line, Err: cb.err}
		if cb.field >= 0 && cb.field < len(r.header) {
			re.Column = r.header[cb.field]
		}
		row := Row{Line: cb.line, Resume: resume, Err: re}
		if cb.field < 0 {
			row.Record = appendJSONStringLossy(nil, cb.text)
		} else {
			row.Record = r.csvRecord(cb.record)
		}
		return row, nil
	}
	row := Row{Line: line, Resume: resume}
	if len(rec) != len(r.header) {
		detail := fmt.Sprintf("%d fields, header has %d", len(rec), len(r.header))
		if m := r.sc.multi; m != 0 {
			// A quote that lacks its closing one can pull the lines of later
			// rows into this one, until another quote ends it.
			r.sc.resync(m + 1)
			detail += fmt.Sprintf("; the quoted field that opens at line %d, byte %d spans lines and may lack its closing quote%s",
				m, r.sc.multiCol, resumes(m+1))
		}
		row.Err = &rowError{Line: line, Err: withDetail(errFieldCount, detail)}
		row.Record = r.csvRecord(rec)
		return row, nil
	}
	for i, cell := range rec {
		if err := checkCell(cell); err != nil {
			row.Err = &rowError{Line: line, Column: r.header[i], Err: err}
			row.Record = r.csvRecord(rec)
			return row, nil
		}
	}
	r.scratch = r.scratch[:0]
	switch r.opts.Entity {
	case EntityCatalog:
		row.Item, err = r.catalogCSV(rec, line)
	case EntityProfiles:
		row.Item, err = r.profileCSV(rec, line)
	default:
		row.Item, err = r.audienceCSV(rec, line)
	}
	if err != nil {
		row.Err = err
		row.Record = r.csvRecord(rec)
	}
	return row, nil
}

// checkCell rejects invalid UTF-8 and NUL bytes, which no API value can hold.
func checkCell(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return badValue(s, "holds a NUL byte")
	}
	if !utf8.ValidString(s) {
		return badValue(s, "is not valid UTF-8")
	}
	return nil
}

// csvRecord encodes a record for the rejects file: an object of header name
// to cell. Cells past the header are named "column N" (1-based).
func (r *Reader) csvRecord(rec []string) []byte {
	n := 2
	for _, c := range rec {
		n += len(c) + 8
	}
	for _, h := range r.header {
		n += len(h)
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, c := range rec {
		if i > 0 {
			b = append(b, ',')
		}
		if i < len(r.header) {
			b = appendJSONStringLossy(b, r.header[i])
		} else {
			b = appendJSONStringLossy(b, "column "+strconv.Itoa(i+1))
		}
		b = append(b, ':')
		b = appendJSONStringLossy(b, c)
	}
	return append(b, '}')
}

// rowErr builds the *rowError of a cell.
func (r *Reader) rowErr(line int64, col int, err error) error {
	return &rowError{Line: line, Column: r.header[col], Err: err}
}
