package readers

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// newCSV starts a csv.Reader at r.pos. encoding/csv reuses r.br, which is
// big enough, so it buffers nothing of its own: its InputOffset plus
// r.base.Offset is the stream offset, and a new csv.Reader can take over.
func (r *Reader) newCSV() {
	cr := csv.NewReader(r.br)
	cr.Comma = r.opts.Delimiter
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	r.cr = cr
	r.base = r.pos
}

// readHeader reads the header row from the start of the stream and builds
// the mapping plan.
func (r *Reader) readHeader() error {
	r.newCSV()
	rec, line, err := r.readRecord()
	switch {
	case err == io.EOF:
		return &headerError{Err: errNoHeader}
	case err != nil:
		var re *rowError
		if errors.As(err, &re) {
			return &headerError{Err: fmt.Errorf("line %d: %w", line, re.Err)}
		}
		return err
	}
	r.header = append([]string(nil), rec...) // rec is reused by the csv.Reader
	r.plan, err = buildPlan(r.opts.Entity, r.header)
	return err
}

// readRecord reads one CSV record and moves r.pos past it. It returns the
// record, the line where it starts, and: nil; a *rowError for a malformed
// quote (reading may go on); io.EOF; or a fatal *parseError.
func (r *Reader) readRecord() ([]string, int64, error) {
	cr := r.cr
	start := r.base.Offset + cr.InputOffset()
	max := int64(r.opts.maxRowBytes)
	// bufSize of slack: the buffer reads ahead of what encoding/csv consumed.
	r.lim.limit = start + max + bufSize
	rec, err := cr.Read()
	r.lim.limit = math.MaxInt64
	end := r.base.Offset + cr.InputOffset()
	if (err != nil && errors.Is(err, errLimit)) || (err == nil && end-start > max) {
		return nil, r.pos.Line, &parseError{Line: r.pos.Line,
			Err: withDetail(errRowTooLong, "CSV record longer than "+strconv.FormatInt(max, 10)+" bytes")}
	}
	if err == io.EOF {
		r.pos.Offset = end
		return nil, 0, io.EOF
	}
	if err == nil {
		return r.recordDone(rec, end)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		line := r.base.Line + int64(pe.StartLine) - 1
		errLine := r.base.Line + int64(pe.Line) - 1
		// encoding/csv drops the rest of the line where it found the error.
		r.pos = Position{Offset: end, Line: errLine + 1}
		return rec, line, &rowError{Line: line,
			Err: fmt.Errorf("%w (line %d, byte %d)", pe.Err, errLine, pe.Column)}
	}
	return nil, r.pos.Line, &parseError{Line: r.pos.Line, Err: err}
}

// recordDone moves r.pos past a record read whole, which ends at offset end.
func (r *Reader) recordDone(rec []string, end int64) ([]string, int64, error) {
	cr := r.cr
	l, _ := cr.FieldPos(0)
	last := len(rec) - 1
	ll, _ := cr.FieldPos(last)
	// The record ends on the line where its last field starts, plus the
	// newlines inside that field if it is quoted.
	endLine := r.base.Line + int64(ll) - 1 + int64(strings.Count(rec[last], "\n"))
	r.pos = Position{Offset: end, Line: endLine + 1}
	return rec, r.base.Line + int64(l) - 1, nil
}

// nextCSV reads and maps the next record.
func (r *Reader) nextCSV() (Row, error) {
	resume := r.pos
	rec, line, err := r.readRecord()
	row := Row{Line: line, Resume: resume}
	if err != nil {
		var re *rowError
		if !errors.As(err, &re) {
			return Row{}, err
		}
		if !r.owns("") {
			return Row{}, errNotOwned
		}
		row.Err = re
		row.Record = r.csvRecord(rec)
		return row, nil
	}
	if r.opts.Owns != nil && !r.opts.Owns(r.csvOwner(rec)) {
		return Row{}, errNotOwned
	}
	if len(rec) != len(r.header) {
		row.Err = &rowError{Line: line, Err: withDetail(errFieldCount,
			fmt.Sprintf("%d fields, header has %d", len(rec), len(r.header)))}
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
