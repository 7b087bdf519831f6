package readers

import (
	"bufio"
	"io"
	"strconv"
)

// recordPrefix is how much of an over-long line its reject record keeps.
const recordPrefix = 256

// nextJSONL reads and maps the next non-blank line.
func (r *Reader) nextJSONL() (Row, error) {
	for {
		resume := r.pos
		line, n, tooLong, err := r.readLine()
		if n == 0 && err == io.EOF {
			return Row{}, io.EOF
		}
		if err != nil && err != io.EOF {
			return Row{}, &parseError{Line: r.pos.Line, Err: err}
		}
		r.pos.Offset += n
		r.pos.Line++
		row := Row{Line: resume.Line, Resume: resume}
		if tooLong {
			if !r.owns("") {
				return Row{}, errNotOwned
			}
			row.Err = &rowError{Line: row.Line, Err: withDetail(errRowTooLong,
				"line longer than "+strconv.Itoa(r.opts.maxRowBytes)+" bytes")}
			rec := appendJSONStringLossy(nil, string(line)+"...")
			row.Record = rec
			return row, nil
		}
		if skipSpace(line, 0) == len(line) {
			continue // blank lines carry no row
		}
		if r.opts.Owns != nil && !r.opts.Owns(r.jsonlKey(line)) {
			return Row{}, errNotOwned
		}
		switch r.opts.Entity {
		case EntityCatalog:
			row.Item, err = r.catalogJSONL(line, row.Line)
		case EntityProfiles:
			row.Item, err = r.profileJSONL(line, row.Line)
		default:
			row.Item, err = r.audienceJSONL(line, row.Line)
		}
		if err != nil {
			row.Err = err
			row.Record = jsonlRecord(line)
		}
		return row, nil
	}
}

// readLine reads one line and returns it without its "\n" or "\r\n", with
// the number of bytes it took from the stream. A line longer than
// maxRowBytes is consumed without being kept: tooLong is set and line holds
// its first bytes. The error is io.EOF only with the last line, or alone.
func (r *Reader) readLine() (line []byte, n int64, tooLong bool, err error) {
	max := r.opts.maxRowBytes
	line, err = r.br.ReadSlice('\n')
	n = int64(len(line))
	if err == bufio.ErrBufferFull {
		r.lineBuf = append(r.lineBuf[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			n += int64(len(line))
			if tooLong {
				continue
			}
			// +2: the limit is on the line without its line end.
			if len(r.lineBuf)+len(line) > max+2 {
				tooLong = true
				r.lineBuf = r.lineBuf[:min(len(r.lineBuf), recordPrefix)]
				continue
			}
			r.lineBuf = append(r.lineBuf, line...)
		}
		line = r.lineBuf
	}
	if len(line) > 0 && line[len(line)-1] == '\n' {
		line = line[:len(line)-1]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
	}
	if !tooLong && len(line) > max {
		tooLong = true
	}
	if tooLong {
		line = line[:min(len(line), recordPrefix)]
	}
	return line, n, tooLong, err
}

// jsonlRecord is the reject record of a line: the line itself when it is
// strict JSON (see jsonscan.go), else a JSON string of it, so that the
// rejects file decodes everywhere: a line with 1e400 or a name twice is
// valid JSON that decoders refuse or read two ways.
func jsonlRecord(line []byte) []byte {
	if end, err := scanValue(line, skipSpace(line, 0), 0); err == nil && skipSpace(line, end) == len(line) {
		return append([]byte(nil), line...)
	}
	return appendJSONStringLossy(nil, string(line))
}
