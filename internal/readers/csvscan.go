package readers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"strconv"
	"unicode/utf8"
)

// csvScanner splits a CSV stream into records by the rules of encoding/csv
// (RFC 4180, a quote inside an unquoted field is an error, blank lines are
// skipped, "\r\n" reads as "\n"), and tracks the stream position of every
// record. Unlike encoding/csv it never loses lines to a broken quote: a
// record that cannot be read is rejected, and reading resumes at the line
// after the one where the trouble began (see resync), from bytes it kept.
type csvScanner struct {
	br       *bufio.Reader
	comma    []byte // the delimiter, UTF-8
	max      int    // bound on a record's bytes
	pos      Position
	push     []byte // bytes to read before br: lines of a broken record read again
	pushed   int    // how much of push is read
	spare    []byte // the other push buffer
	long     []byte // a line longer than br's buffer, or split between push and br
	raw      []byte // the current record's lines after its first, as read
	rawStart []int  // where each of those lines starts in raw
	buf      []byte // the current record's field contents
	ends     []int  // end of each field in buf
	rec      []string
	// first is the line where the current record starts; multi the line
	// where its first field that spans lines opens (0 if none), and
	// multiCol that field's byte.
	first, multi int64
	multiCol     int
}

// csvBroken is why a record could not be split into fields. The Reader
// turns it into a *rowError; reading has already moved to where it resumes.
type csvBroken struct {
	line   int64 // the record's first line
	field  int   // index of the field at fault; -1 if none
	err    error // wraps csv.ErrQuote, csv.ErrBareQuote, errUnterminated or errRowTooLong
	record []string
	text   string // for a record too long to split: its start, for the rejects file
}

func (e *csvBroken) Error() string { return e.err.Error() }

func newCSVScanner(br *bufio.Reader, comma rune, max int, pos Position) csvScanner {
	return csvScanner{br: br, comma: utf8.AppendRune(nil, comma), max: max, pos: pos}
}

// readLine returns the next line with its "\n", if it has one, and moves
// s.pos past it. A line longer than limit is consumed only until that is
// known (at most limit plus one buffer more), and comes back partial with
// tooLong set. The slice is valid until the next read. err is io.EOF when
// no byte is left, else an I/O error with no line.
func (s *csvScanner) readLine(limit int) (line []byte, tooLong bool, err error) {
	if s.pushed < len(s.push) {
		rest := s.push[s.pushed:]
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
			s.pushed += len(line)
			s.consumed(line)
			return line, len(line) > limit, nil
		}
		// The line goes on in br.
		s.long = append(s.long[:0], rest...)
		s.pushed = len(s.push)
	} else {
		s.long = s.long[:0]
	}
	if s.pushed == len(s.push) && len(s.push) > 0 {
		s.push, s.pushed = s.push[:0], 0
	}
	line, err = s.br.ReadSlice('\n')
	if len(s.long) > 0 || err == bufio.ErrBufferFull {
		s.long = append(s.long, line...)
		for err == bufio.ErrBufferFull && len(s.long) <= limit {
			line, err = s.br.ReadSlice('\n')
			s.long = append(s.long, line...)
		}
		line = s.long
		if err == bufio.ErrBufferFull {
			err, tooLong = nil, true
		}
	}
	if err == io.EOF && len(line) > 0 {
		err = nil
	}
	if err != nil {
		return nil, false, err
	}
	s.consumed(line)
	return line, tooLong || len(line) > limit, nil
}

func (s *csvScanner) consumed(line []byte) {
	s.pos.Offset += int64(len(line))
	if len(line) > 0 && line[len(line)-1] == '\n' {
		s.pos.Line++
	}
}

// discardLine consumes the rest of the current line without keeping it.
func (s *csvScanner) discardLine() error {
	for {
		// A limit of 0 reads one buffer at a time.
		line, _, err := s.readLine(0)
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		case line[len(line)-1] == '\n':
			return nil
		}
	}
}

// trimEOL returns a line without its line end ("\n" or "\r\n"; a last line
// loses a trailing "\r", as encoding/csv has it), and whether it had one.
func trimEOL(line []byte) ([]byte, bool) {
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		n--
		if n > 0 && line[n-1] == '\r' {
			n--
		}
		return line[:n], true
	}
	if n > 0 && line[n-1] == '\r' {
		n--
	}
	return line[:n], false
}

func (s *csvScanner) indexComma(b []byte) int {
	if len(s.comma) == 1 {
		return bytes.IndexByte(b, s.comma[0])
	}
	return bytes.Index(b, s.comma)
}

// next reads the next record. It returns its fields, valid until the next
// call, and the line where it starts; or a *csvBroken, with reading moved
// to where it resumes; or io.EOF; or an I/O error.
func (s *csvScanner) next() ([]string, int64, error) {
	var line []byte
	var tooLong bool
	var err error
	for {
		s.first = s.pos.Line
		line, tooLong, err = s.readLine(s.max)
		if err != nil {
			return nil, 0, err
		}
		if body, _ := trimEOL(line); len(body) > 0 || tooLong {
			break
		}
	}
	s.buf, s.ends, s.raw, s.rawStart = s.buf[:0], s.ends[:0], s.raw[:0], s.rawStart[:0]
	s.multi, s.multiCol = 0, 0
	if tooLong {
		// A quote that opens on this line resumes after it too: drop the rest.
		body, nl := trimEOL(line)
		text := string(body[:min(len(body), recordPrefix)]) + "..."
		if !nl {
			if err := s.discardLine(); err != nil {
				return nil, 0, err
			}
		}
		return nil, s.first, &csvBroken{line: s.first, field: -1, text: text,
			err: withDetail(errRowTooLong, "CSV record longer than "+strconv.Itoa(s.max)+" bytes")}
	}
	lineNo, size := s.first, len(line)
	body, nl := trimEOL(line)
	rest := body
	col := func() int { return len(body) - len(rest) + 1 }
fields:
	for {
		if len(rest) == 0 || rest[0] != '"' {
			i := s.indexComma(rest)
			field := rest
			if i >= 0 {
				field = rest[:i]
			}
			if j := bytes.IndexByte(field, '"'); j >= 0 {
				s.buf = append(s.buf, field...)
				return s.broken(len(s.ends), positioned(csv.ErrBareQuote, lineNo, col()+j))
			}
			s.buf = append(s.buf, field...)
			s.ends = append(s.ends, len(s.buf))
			if i < 0 {
				break fields
			}
			rest = rest[i+len(s.comma):]
			continue
		}
		qLine, qCol := lineNo, col()
		rest = rest[1:]
		for {
			i := bytes.IndexByte(rest, '"')
			if i < 0 {
				// The line ends inside the quotes: the field goes on.
				s.buf = append(s.buf, rest...)
				if nl {
					line, tooLong, err = s.readLine(s.max - size)
				}
				if !nl || err == io.EOF {
					detail := "the quoted field that opens at line " + strconv.FormatInt(qLine, 10) + ", byte " +
						strconv.Itoa(qCol) + " does not close before the end of the input"
					if s.resync(qLine + 1) {
						detail += resumes(qLine + 1)
					}
					return s.broken(len(s.ends), withDetail(errUnterminated, detail))
				}
				if err != nil {
					return nil, 0, err
				}
				s.buf = append(s.buf, '\n')
				if s.multi == 0 {
					s.multi, s.multiCol = qLine, qCol
				}
				s.rawStart = append(s.rawStart, len(s.raw))
				s.raw = append(s.raw, line...)
				size += len(line)
				lineNo++
				if tooLong {
					s.resync(qLine + 1)
					return s.broken(len(s.ends), withDetail(errRowTooLong, "the quoted field that opens at line "+
						strconv.FormatInt(qLine, 10)+", byte "+strconv.Itoa(qCol)+" does not close within "+strconv.Itoa(s.max)+" bytes"+
						resumes(qLine+1)))
				}
				body, nl = trimEOL(line)
				rest = body
				continue
			}
			s.buf = append(s.buf, rest[:i]...)
			rest = rest[i+1:]
			switch {
			case len(rest) > 0 && rest[0] == '"':
				s.buf = append(s.buf, '"')
				rest = rest[1:]
			case bytes.HasPrefix(rest, s.comma):
				rest = rest[len(s.comma):]
				s.ends = append(s.ends, len(s.buf))
				continue fields
			case len(rest) == 0:
				s.ends = append(s.ends, len(s.buf))
				break fields
			default:
				err := positioned(csv.ErrQuote, lineNo, col()-1)
				if qLine < lineNo {
					// The quote that closed here may have opened a field of a later row.
					s.resync(qLine + 1)
					err = withDetail(err, "the quoted field that opens at line "+strconv.FormatInt(qLine, 10)+
						", byte "+strconv.Itoa(qCol)+" may lack its closing quote"+resumes(qLine+1))
				}
				return s.broken(len(s.ends), err)
			}
		}
	}
	return s.record(), s.first, nil
}

// resumes is the end of a message about a record read again from line at.
func resumes(at int64) string {
	return "; reading resumes at line " + strconv.FormatInt(at, 10)
}

// record returns the fields of the current record, as one string sliced.
func (s *csvScanner) record() []string {
	str := string(s.buf)
	s.rec = s.rec[:0]
	prev := 0
	for _, end := range s.ends {
		s.rec = append(s.rec, str[prev:end])
		prev = end
	}
	return s.rec
}

// broken ends a record that cannot be read. Its record holds the fields
// read whole, and the field at fault up to the end of its first line.
func (s *csvScanner) broken(field int, err error) ([]string, int64, error) {
	if field >= 0 {
		start := 0
		if n := len(s.ends); n > 0 {
			start = s.ends[n-1]
		}
		part := s.buf[start:]
		if i := bytes.IndexByte(part, '\n'); i >= 0 {
			part = part[:i]
		}
		s.buf = append(s.buf[:start], part...)
		s.ends = append(s.ends, len(s.buf))
	}
	return nil, s.first, &csvBroken{line: s.first, field: field, err: err, record: s.record()}
}

// resync makes reading resume at line `at` of the current record (after
// its first): its bytes, kept in raw, are read again before the rest. It
// reports false, and does nothing, when the record has no such line. It is
// also valid after next returned the record whole, until the next call.
func (s *csvScanner) resync(at int64) bool {
	k := int(at - s.first - 1)
	if k < 0 || k >= len(s.rawStart) {
		return false
	}
	back := s.raw[s.rawStart[k]:]
	np := append(s.spare[:0], back...)
	np = append(np, s.push[s.pushed:]...)
	s.spare, s.push, s.pushed = s.push[:0], np, 0
	s.pos = Position{Offset: s.pos.Offset - int64(len(back)), Line: at}
	s.raw, s.rawStart = s.raw[:0], s.rawStart[:0]
	return true
}

// positioned is a quote error with its place, as encoding/csv words it.
func positioned(err error, line int64, col int) error {
	return &posError{err: err, line: line, col: col}
}

type posError struct {
	err  error
	line int64
	col  int
}

func (e *posError) Error() string {
	return e.err.Error() + " (line " + strconv.FormatInt(e.line, 10) + ", byte " + strconv.Itoa(e.col) + ")"
}

func (e *posError) Unwrap() error { return e.err }
