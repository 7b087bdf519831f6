package state

import (
	"io"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// seenBatch is how many keys the reader stage collects before it writes
// their last-seen marks in one transaction.
const seenBatch = 10_000

// passedBits is log2 of the bits of the Bloom filter of the keys passed on
// in a run.
const passedBits = 24

// Source yields input rows; *readers.Reader implements it, and so do the
// sources a Tracker returns. Next returns io.EOF at the end.
type Source interface {
	Next() (readers.Row, error)
}

// Tracker connects a Store to one sync run. Its hooks have fixed owners:
// Unchanged and the Source returned by Seen run on the pipeline's reader
// goroutine only; Delivered is safe for concurrent use by the workers.
type Tracker struct {
	store  *Store
	run    uint64
	entity readers.Entity

	// Reader goroutine only.
	passed *bloom // keys of rows passed on to be sent in this run
	bulk   bool   // a PATCH_MANY or REMOVE_MANY row was read

	// Written by the reader goroutine, read after the run.
	unreadable atomic.Int64 // rows that did not parse, so their key is unknown
	bulkRows   atomic.Int64
	eof        atomic.Bool
}

// NewTracker returns a Tracker of run number run (see Store.BeginRun) for
// rows of entity e.
func NewTracker(s *Store, run uint64, e readers.Entity) *Tracker {
	return &Tracker{store: s, run: run, entity: e, passed: newBloom(passedBits)}
}

// Run returns the tracker's run number.
func (t *Tracker) Run() uint64 { return t.run }

// Unchanged reports whether row may be skipped: the API already holds its
// item, as the state's hash says, and no earlier row of its key was passed
// on in this run (a file that sets A=1 then A=2 over a state of A=2 must
// send both). Removals, bulk actions and every row after a bulk action are
// never skipped. A row it does not skip is remembered as passed on. A
// failed lookup counts as changed: sending is always safe.
func (t *Tracker) Unchanged(row *readers.Row) bool {
	it := &row.Item
	if it.Key == "" {
		t.bulk = true
		return false
	}
	if !t.bulk && !it.Remove && !t.passed.has(it.Key) {
		h, ok, err := t.store.lookup(it.Key)
		if err == nil && ok && h == HashItem(it) {
			return true
		}
	}
	t.passed.add(it.Key)
	return false
}

// Delivered records the rows the API confirmed, in one transaction: the
// hash of each item, or the removal of the key for REMOVE and audience
// delete rows; a bulk action clears the state, since it touched items the
// state cannot name. It returns once the records are durable.
func (t *Tracker) Delivered(rows []readers.Row) error {
	changes := make([]change, 0, len(rows))
	for i := range rows {
		it := &rows[i].Item
		switch {
		case it.Key == "":
			changes = append(changes, change{Clear: true})
		case it.Remove:
			changes = append(changes, change{Key: it.Key, Delete: true})
		default:
			changes = append(changes, change{Key: it.Key, Hash: HashItem(it)})
		}
	}
	return t.store.apply(t.run, changes)
}

// Seen wraps src so that every key the feed holds gets this run as its
// last-seen run, in transactions of 10,000 keys, the last one written
// before io.EOF is passed on. It sees every row, the ones a resumed run
// skips included. Rows that did not parse and bulk actions are counted
// (see Complete). The wrapper must be read from one goroutine.
func (t *Tracker) Seen(src Source) Source {
	return &seenSource{t: t, src: src, keys: make([]string, 0, seenBatch)}
}

type seenSource struct {
	t    *Tracker
	src  Source
	keys []string
}

func (s *seenSource) Next() (readers.Row, error) {
	row, err := s.src.Next()
	switch {
	case err == io.EOF:
		if err := s.flush(); err != nil {
			return row, err
		}
		s.t.eof.Store(true)
		return row, io.EOF
	case err != nil:
		return row, err
	case row.Err != nil:
		s.t.unreadable.Add(1)
	case row.Item.Key == "":
		s.t.bulkRows.Add(1)
	case !row.Item.Remove:
		s.keys = append(s.keys, row.Item.Key)
		if len(s.keys) == seenBatch {
			if err := s.flush(); err != nil {
				return row, err
			}
		}
	}
	return row, nil
}

func (s *seenSource) flush() error {
	err := s.t.store.markSeen(s.t.run, s.keys)
	s.keys = s.keys[:0]
	return err
}

// Complete reports whether the wrapped feed was read to its end with every
// key known, so that a key it did not hold is truly absent: no row failed
// to parse and no bulk action touched unnamed items. reason says why not.
func (t *Tracker) Complete() (ok bool, reason string) {
	switch {
	case !t.eof.Load():
		return false, "the input was not read to its end"
	case t.unreadable.Load() > 0:
		return false, strconv.FormatInt(t.unreadable.Load(), 10) + " rows could not be read, so their keys are unknown"
	case t.bulkRows.Load() > 0:
		return false, "the input holds PATCH_MANY or REMOVE_MANY rows"
	}
	return true, ""
}

// Stale returns how many known keys the feed did not hold, and how many
// keys the state knows. Call it after the feed was read (see Complete).
func (t *Tracker) Stale() (stale, total int64, err error) {
	return t.store.countStale(t.run)
}

// StaleKeys calls fn with the keys the feed did not hold, in key order.
func (t *Tracker) StaleKeys(fn func(key string) error) error {
	after := ""
	for {
		keys, err := t.store.stale(t.run, after, 1000)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := fn(k); err != nil {
				return err
			}
		}
		if len(keys) < 1000 {
			return nil
		}
		after = keys[len(keys)-1]
	}
}

// Removals returns a Source of synthetic rows that remove every key the
// feed did not hold: catalog REMOVE actions, or audience delete actions.
// The rows have Line 0, which marks them in the rejects file. Keys are read
// a page at a time in short transactions, so the removals the pipeline
// confirms meanwhile can be written.
func (t *Tracker) Removals() Source {
	return &removals{t: t}
}

type removals struct {
	t     *Tracker
	page  []string
	after string
	done  bool
	seq   int64
}

const removalsPage = 1000

func (r *removals) Next() (readers.Row, error) {
	for len(r.page) == 0 {
		if r.done {
			return readers.Row{}, io.EOF
		}
		keys, err := r.t.store.stale(r.t.run, r.after, removalsPage)
		if err != nil {
			return readers.Row{}, err
		}
		r.page, r.done = keys, len(keys) < removalsPage
		if len(keys) > 0 {
			r.after = keys[len(keys)-1]
		}
	}
	key := r.page[0]
	r.page = r.page[1:]
	it, err := removalItem(r.t.entity, key)
	if err != nil {
		return readers.Row{}, err
	}
	row := readers.Row{Seq: r.seq, Item: it}
	r.seq++
	return row, nil
}

// removalItem returns the API item that removes key: a catalog REMOVE of
// the SKU, or an audience delete of the membership key
// "audienceId/profileIntegrationId".
func removalItem(e readers.Entity, key string) (talon.Item, error) {
	switch e {
	case readers.EntityCatalog:
		sku, _ := talon.AppendString(nil, key)
		f := talon.CatalogFields{Type: talon.ActionRemove, SKU: sku}
		return talon.Item{Key: key, Type: talon.ActionRemove, Remove: true, JSON: talon.AppendCatalogAction(nil, &f)}, nil
	case readers.EntityAudiences:
		aud, id, ok := strings.Cut(key, "/")
		n, err := strconv.ParseInt(aud, 10, 64)
		if !ok || err != nil {
			return talon.Item{}, &keyError{key: key}
		}
		idJSON, _ := talon.AppendString(nil, id)
		return talon.Item{Key: key, Remove: true, JSON: talon.AppendAudienceAction(nil, idJSON, n, true)}, nil
	}
	return talon.Item{}, &keyError{key: key}
}

type keyError struct{ key string }

func (e *keyError) Error() string {
	return "state: cannot build a removal for key " + strconv.Quote(e.key)
}
