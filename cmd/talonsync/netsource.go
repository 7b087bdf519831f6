package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/talonsync/talonsync/internal/batch"
	"github.com/talonsync/talonsync/internal/fold"
	"github.com/talonsync/talonsync/internal/group"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/state"
	"github.com/talonsync/talonsync/internal/talon"
)

// invalidateEvery is how many changed keys share one durable invalidation
// of the state (one fsync) before their net effects are sent.
const invalidateEvery = 1000

// maxPending bounds the units one compare step makes pending, unchanged
// keys' included, so that memory does not grow with a feed that changed
// little.
const maxPending = 16384

// netSource is the batch.UnitSource of a --state run. It reads the input
// into a group.Spool (rows rejected while reading go out at once), then
// goes through the keys in the state's order: it folds each key's rows
// into its net effect (package fold), compares that with the state, and
// yields the rows of an unchanged key as unchanged and the net effect of a
// changed one as units to send, after invalidating the key's old value. A
// PATCH_MANY or REMOVE_MANY row ends a segment of the input: the segment's
// keys go first, then the bulk row alone, then the next segment. It is
// used from the pipeline's reader goroutine only.
type netSource struct {
	inc    *incremental
	rd     *readers.Reader
	folder *fold.Folder

	spool   *group.Spool
	groups  *group.Groups
	pending []batch.Unit
	units   []fold.Unit
	readErr error // a fatal input error, returned after the rows before it
	eof     bool
	bulkRow *readers.Row // the bulk row that ended the segment being compared

	// Counts, for completeness and the report.
	rejected int64 // rows rejected while reading: their keys are unknown
	keys     int64
	changed  int64
}

func newNetSource(inc *incremental, rd *readers.Reader) *netSource {
	return &netSource{inc: inc, rd: rd, folder: fold.New(endpointOf(inc.o.Entity))}
}

// Next is never called: the pipeline reads a UnitSource with NextUnit.
func (s *netSource) Next() (readers.Row, error) {
	return readers.Row{}, errors.New("netSource: use NextUnit")
}

// NextUnit returns the next unit, io.EOF at the end.
func (s *netSource) NextUnit() (batch.Unit, error) {
	for len(s.pending) == 0 {
		if err := s.fill(); err != nil {
			s.closeSpool()
			return batch.Unit{}, err
		}
	}
	u := s.pending[0]
	s.pending = s.pending[1:]
	return u, nil
}

// fill makes pending units: by reading rows while a segment is being
// spooled, by comparing keys once it is.
func (s *netSource) fill() error {
	if s.groups != nil {
		return s.compare()
	}
	if s.eof {
		if s.readErr != nil {
			return s.readErr
		}
		return io.EOF
	}
	if s.spool == nil {
		sp, err := group.New(group.Options{Dir: spoolDir()})
		if err != nil {
			return fmt.Errorf("group the input by key: %w", err)
		}
		s.spool = sp
	}
	return s.read()
}

// read spools rows until the segment ends (input end or a bulk row), or a
// row is rejected (which goes out at once).
func (s *netSource) read() error {
	for {
		row, err := s.rd.Next()
		switch {
		case err == io.EOF:
			s.eof = true
			return s.endSegment(nil)
		case err != nil:
			s.eof, s.readErr = true, err
			return s.endSegment(nil)
		case row.Err != nil:
			s.rejected++
			s.pending = append(s.pending, batch.Unit{Rows: []readers.Row{row}})
			return nil
		case row.Item.Key == "":
			return s.endSegment(&row)
		}
		err = s.spool.Add(group.Record{Hash: state.KeyHash(row.Item.Key), Seq: row.Seq, Line: row.Line, Item: row.Item})
		if err != nil {
			return fmt.Errorf("group the input by key: %w", err)
		}
	}
}

// endSegment starts comparing the spooled keys; bulk, when set, is the
// row that ended the segment, to send after them.
func (s *netSource) endSegment(bulk *readers.Row) error {
	g, err := s.spool.Groups()
	if err != nil {
		return fmt.Errorf("group the input by key: %w", err)
	}
	s.groups = g
	s.bulkRow = bulk
	return nil
}

// compare folds and compares keys until invalidateEvery of them are to be
// sent (new or changed), maxPending units are pending, or the segment's
// keys are done; it invalidates in the state the keys sent with a value it
// claims, and makes their units pending. So memory stays bounded whatever the feed and the
// state hold.
func (s *netSource) compare() error {
	var stale []string
	before := s.changed
	done := true
	for s.changed-before < invalidateEvery && len(s.pending) < maxPending {
		if !s.groups.NextKey() {
			done = true
			break
		}
		done = false
		mustInvalidate, err := s.key()
		if err != nil {
			return err
		}
		if mustInvalidate {
			stale = append(stale, s.groups.Key())
		}
	}
	if err := s.groups.Err(); err != nil {
		return fmt.Errorf("group the input by key: %w", err)
	}
	if len(stale) > 0 && !s.inc.o.DryRun {
		// Durable before any of their net effects can reach the API.
		if err := s.inc.invalidate(stale...); err != nil {
			return err
		}
	}
	if done {
		return s.segmentDone()
	}
	return nil
}

// key folds the current key's rows and queues its units or its unchanged
// rows. It reports whether the key's entry must be invalidated before its
// units are sent: the state claims a value for it, which the sends may
// change. That holds for a key sent again with the value it claims
// (--refresh-after, --full) too: if the API refuses the item, its rows go
// one by one and the API may end up holding neither value.
func (s *netSource) key() (stale bool, err error) {
	key := s.groups.Key()
	s.keys++
	s.folder.Reset()
	var rows []readers.Row
	for s.groups.NextRecord() {
		rec := s.groups.Record()
		if err := s.folder.Add(rec.Item); err != nil {
			return false, fmt.Errorf("line %d: net effect of %q: %w", rec.Line, key, err)
		}
		rows = append(rows, readers.Row{Seq: rec.Seq, Line: rec.Line, Item: rec.Item})
	}
	s.units = s.folder.Units(s.units[:0])
	items := make([]talon.Item, len(s.units))
	for i := range s.units {
		items[i] = s.units[i].Item
	}
	v := state.ValueOf(key, items...)
	verdict := s.inc.file.Compare(key, v, s.inc.refreshBefore)
	if verdict == state.KeyUnchanged && !s.inc.o.Full {
		s.pending = append(s.pending, batch.Unit{Rows: rows, Unchanged: true})
		return false, nil
	}
	s.changed++
	for i := range rows {
		rows[i].Item.JSON = append([]byte(nil), rows[i].Item.JSON...) // valid until the next record
	}
	for i, u := range s.units {
		item := u.Item
		item.JSON = append([]byte(nil), item.JSON...) // the folder's buffer
		items[i] = item
		s.pending = append(s.pending, batch.Unit{Item: item, Rows: rows[u.From:u.To]})
	}
	if len(items) > 1 {
		s.inc.expect(key, items, v)
	}
	return verdict != state.KeyNew, nil
}

// segmentDone ends a segment: the bulk row that ended it goes out alone,
// after every value is made unknown; the input's end ends the source.
func (s *netSource) segmentDone() error {
	s.groups = nil
	s.closeSpool()
	if b := s.bulkRow; b != nil {
		s.bulkRow = nil
		if err := s.inc.sawBulk(); err != nil {
			return err
		}
		s.pending = append(s.pending, batch.Unit{Item: b.Item, Rows: []readers.Row{*b}})
	}
	return nil
}

func (s *netSource) closeSpool() {
	if s.spool != nil {
		s.spool.Close()
		s.spool = nil
	}
}

// complete reports whether the feed was read to its end with every key
// known: no row failed to parse and no bulk action touched unnamed items.
// Then a key it did not hold is truly absent. reason says why not.
func (s *netSource) complete() (ok bool, reason string) {
	switch {
	case s == nil:
		return false, "the input was not read"
	case !s.eof || s.readErr != nil:
		return false, "the input was not read to its end"
	case s.rejected > 0:
		return false, rowsText(s.rejected) + " could not be read, so their keys are unknown"
	case s.inc.bulk:
		return false, "the input holds PATCH_MANY or REMOVE_MANY rows"
	}
	return true, ""
}

// spoolDir is where a --state run groups its input: $TMPDIR.
func spoolDir() string { return os.TempDir() }
