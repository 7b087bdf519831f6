package readers

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/talonsync/talonsync/internal/talon"
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
	r.plan, err = buildPlan(&r.opts, r.header)
	if len(r.plan.unnamed) > 0 {
		r.warned = make([]bool, len(r.header))
	}
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
		if !r.owns("") {
			return Row{}, errNotOwned
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
	if n := len(rec); n != len(r.header) && (n < r.plan.minFields || n > len(r.header)) {
		detail := fmt.Sprintf("%d fields, header has %d", len(rec), len(r.header))
		if len(rec) == 1 {
			detail = fmt.Sprintf("1 field, header has %d", len(r.header))
		}
		if m := r.sc.multi; m != 0 {
			// A quote that lacks its closing one can pull the lines of later
			// rows into this one, until another quote ends it.
			r.sc.resync(m + 1)
			detail += fmt.Sprintf("; the quoted field that opens at line %d, byte %d spans lines and may lack its closing quote%s",
				m, r.sc.multiCol, resumes(m+1))
		}
		if !r.owns("") { // after the resync: every shard reads the rows it pulled in
			return Row{}, errNotOwned
		}
		row.Err = &rowError{Line: line, Err: withDetail(errFieldCount, detail)}
		row.Record = r.csvRecord(rec)
		return row, nil
	}
	if !r.owns(r.csvKey(rec)) {
		return Row{}, errNotOwned
	}
	r.bad = r.bad[:0]
	for i, cell := range rec {
		if err := checkCell(cell); err != nil && r.plan.cols[i].kind < colSkip {
			r.badCell(i, err) // a column that is not read cannot make its row bad
		}
	}
	if r.plan.unnamed != nil {
		r.checkUnnamed(rec, line)
	}
	r.scratch = r.scratch[:0]
	switch r.opts.Entity {
	case EntityCatalog:
		row.Item = r.catalogCSV(rec)
	case EntityProfiles:
		row.Item = r.profileCSV(rec)
	default:
		row.Item = r.audienceCSV(rec)
	}
	if len(r.bad) > 0 {
		row.Item = talon.Item{}
		row.Err = r.rowFault(line)
		row.Record = r.csvRecord(rec)
	}
	return row, nil
}

// cellError is one bad cell of the current CSV row.
type cellError struct {
	col  int
	name string // the column's name in messages when it is not r.header[col]
	err  error
}

// badCell records that cell col of the current row is bad.
func (r *Reader) badCell(col int, err error) {
	r.bad = append(r.bad, cellError{col: col, err: err})
}

// rowFault is the rejection of the current row: every bad cell, in column
// order, the first fault of each.
func (r *Reader) rowFault(line int64) error {
	slices.SortStableFunc(r.bad, func(a, b cellError) int { return a.col - b.col })
	re := &rowError{Line: line, Column: r.cellName(r.bad[0]), Err: r.bad[0].err}
	for i, c := range r.bad[1:] {
		if c.col != r.bad[i].col {
			re.More = append(re.More, cellFault{Column: r.cellName(c), Err: c.err})
		}
	}
	return re
}

func (r *Reader) cellName(c cellError) string {
	if c.name != "" {
		return c.name
	}
	return r.header[c.col]
}

// checkUnnamed warns, once per column, about a value in a column without a
// name: it is not sent.
func (r *Reader) checkUnnamed(rec []string, line int64) {
	for _, i := range r.plan.unnamed {
		if i >= len(rec) || r.warned[i] || strings.TrimSpace(rec[i]) == "" {
			continue
		}
		r.warned[i] = true
		if r.opts.Warn != nil {
			v := rec[i]
			if len(v) > 32 {
				v = v[:32] + "..."
			}
			r.opts.Warn(Warning{Line: line, Column: "column " + strconv.Itoa(i+1),
				Message: "the column has no name in the header but holds values (here " + strconv.Quote(v) +
					"); they are not sent: name the column to send them"})
		}
	}
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
		if i < len(r.header) && strings.TrimSpace(r.header[i]) != "" {
			b = appendJSONStringLossy(b, r.header[i])
		} else { // beyond the header, or an unnamed column: a name of its own
			b = appendJSONStringLossy(b, "column "+strconv.Itoa(i+1))
		}
		b = append(b, ':')
		b = appendJSONStringLossy(b, c)
	}
	return append(b, '}')
}
