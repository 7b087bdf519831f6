package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
)

// The rows of a retry come from the rejects file through the JSONL reader
// of its entity, so a replayed record is checked and keyed exactly as an
// input line of the same shape would be. replayStream turns the rejects
// file into that JSONL, line for line: the record of an API reject, a line
// that is no JSON for an input reject (the reader rejects it, and
// replaySource puts the original reject in its place), and a blank line
// for a blank one. Every non-blank line thus yields exactly one row at the
// rejects file's line number, and replaySource matches the two in step.
// The queue between them holds the lines the reader has taken but not yet
// returned: a few dozen, since a Read hands over at most linesPerRead.

// linesPerRead bounds the lines one Read of replayStream hands over, and
// so the queue.
const linesPerRead = 64

// notJSON stands in the stream for an input reject.
var notJSON = []byte("-\n")

// replayEntry is a non-blank line of the rejects file in the stream.
type replayEntry struct {
	n   int64 // its line in the rejects file
	rej checkpoint.Reject
	api bool
}

// replayQueue holds the entries the stream emitted and the source has not
// taken yet, oldest first. Both use it on the reader's goroutine.
type replayQueue struct{ q []replayEntry }

func (rq *replayQueue) push(e replayEntry) { rq.q = append(rq.q, e) }

func (rq *replayQueue) pop() (replayEntry, bool) {
	if len(rq.q) == 0 {
		return replayEntry{}, false
	}
	e := rq.q[0]
	rq.q[0] = replayEntry{}
	rq.q = rq.q[1:]
	return e, true
}

// replayStream is an io.Reader of the JSONL the rows are read from.
type replayStream struct {
	f          *os.File
	br         *bufio.Reader
	path       string
	queue      *replayQueue
	audienceID int64 // replaces the audienceId of every record when set
	n          int64 // lines read
	pending    []byte
	err        error // sticky: io.EOF or the error that ended the stream
}

func (s *replayStream) Read(p []byte) (int, error) {
	written := 0
	for lines := 0; written < len(p); {
		if len(s.pending) == 0 {
			if s.err != nil || lines == linesPerRead {
				break
			}
			s.err = s.next()
			lines++
			continue
		}
		c := copy(p[written:], s.pending)
		s.pending = s.pending[c:]
		written += c
	}
	if written > 0 {
		return written, nil
	}
	return 0, s.err
}

// next reads the next line of the rejects file into pending.
func (s *replayStream) next() error {
	line, err := s.br.ReadBytes('\n')
	if len(line) == 0 && errors.Is(err, io.EOF) {
		return io.EOF
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", s.path, err)
	}
	s.n++
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		s.pending = []byte("\n")
		return nil
	}
	rej, err := checkpoint.ParseReject(line)
	if err != nil {
		return fmt.Errorf("%s:%d changed while it was retried: %w", s.path, s.n, err)
	}
	e := replayEntry{n: s.n, rej: rej, api: sourceOf(rej) == checkpoint.SourceAPI}
	s.queue.push(e)
	if !e.api || len(rej.Record) == 0 {
		s.pending = notJSON
		return nil
	}
	rec := []byte(rej.Record)
	if s.audienceID > 0 {
		rec = withAudience(rec, s.audienceID)
	}
	s.pending = append(rec, '\n')
	return nil
}

// withAudience returns a membership record with its audienceId replaced;
// a record that is not an object is returned as it is, for the reader to
// reject.
func withAudience(rec []byte, id int64) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(rec, &m) != nil || m == nil {
		return rec
	}
	m["audienceId"] = json.RawMessage(strconv.FormatInt(id, 10))
	b, err := json.Marshal(m)
	if err != nil {
		return rec
	}
	return b
}

// replaySource is the batch.Source of a retry: the rows of the API
// rejects, with their input lines, and the input rejects, to be rejected
// again as they were.
type replaySource struct {
	rd    *readers.Reader
	queue *replayQueue
	path  string
}

// carriedError is an input reject carried over to the new rejects file,
// with its reason as it was.
type carriedError struct{ reason string }

func (e *carriedError) Error() string { return e.reason }

// replayError is a record that fails the local checks again before it is
// sent (an edit of the rejects file that broke it). Its reject stays an API
// reject, for the next retry once it is fixed.
type replayError struct{ reason string }

func (e *replayError) Error() string        { return e.reason }
func (e *replayError) RejectSource() string { return checkpoint.SourceAPI }

// Next returns the row of the next non-blank line of the rejects file.
func (s *replaySource) Next() (readers.Row, error) {
	row, err := s.rd.Next()
	if err != nil {
		return readers.Row{}, err
	}
	e, ok := s.queue.pop()
	if !ok || e.n != row.Line {
		return readers.Row{}, fmt.Errorf("retry: %s: line %d read out of step", s.path, row.Line)
	}
	out := readers.Row{Seq: row.Seq, Line: e.rej.Line, Resume: row.Resume}
	switch {
	case !e.api:
		out.Err, out.Record = &carriedError{reason: e.rej.Error}, e.rej.Record
	case len(e.rej.Record) == 0:
		out.Err = &replayError{reason: fmt.Sprintf("line %d: no record to send (%s:%d); the reject was: %s", e.rej.Line, s.path, e.n, e.rej.Error)}
	case row.Err != nil:
		// The reader's reason names the rejects file's line; say so.
		why := strings.TrimPrefix(row.Err.Error(), "line "+strconv.FormatInt(row.Line, 10)+": ")
		out.Err = &replayError{reason: fmt.Sprintf("line %d: %s (the record at %s:%d)", e.rej.Line, why, s.path, e.n)}
		out.Record = e.rej.Record
	default:
		out.Item = row.Item
	}
	return out, nil
}
