package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Verdict is what Compare found for a key.
type Verdict uint8

const (
	// KeyNew: the state does not know the key. Send it; nothing to
	// invalidate.
	KeyNew Verdict = iota + 1
	// KeyChanged: the state holds another value for the key, or one that
	// is unknown. Invalidate it, then send it.
	KeyChanged
	// KeyRefresh: the state holds this value, confirmed before the refresh
	// horizon. Invalidate it, send it again and confirm it: the entry
	// claims this value, but if the API refuses the item and its rows are
	// sent one by one, the API may end up holding another.
	KeyRefresh
	// KeyUnchanged: the API holds this value, as confirmed since the
	// horizon. Send nothing.
	KeyUnchanged
)

func (v Verdict) String() string {
	switch v {
	case KeyNew:
		return "new"
	case KeyChanged:
		return "changed"
	case KeyRefresh:
		return "refresh"
	case KeyUnchanged:
		return "unchanged"
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

var errNoRun = errors.New("state: no run in progress (call Begin)")

// Begin starts a run and returns its number. It creates the run's journal
// and makes it durable before it returns. Bind first: the journal records
// the identity.
func (f *File) Begin() (run uint64, err error) {
	if f.lock == nil {
		return 0, errors.New("state: opened read-only")
	}
	if f.j != nil {
		return 0, errors.New("state: a run is in progress")
	}
	if f.stale {
		if err := f.reload(); err != nil {
			return 0, err
		}
	}
	j, err := createJournal(f.path, journalHeader{gen: f.snap.h.gen, run: f.meta.Runs + 1, identity: f.meta.Identity})
	if err != nil {
		return 0, err
	}
	f.meta.Runs++
	f.j, f.seen, f.cleared = j, newBitmap(f.snap.t.len()), false
	return f.meta.Runs, nil
}

// Compare looks key up, marks it as held by the feed (so it is not
// stale), and compares v, the Value of its net effect, with the state. A
// confirmation older than refreshBefore is due again (KeyRefresh); a zero
// refreshBefore turns refreshing off.
func (f *File) Compare(key string, v Value, refreshBefore time.Time) Verdict {
	t := &f.snap.t
	i, ok := t.find(KeyOf(key))
	if !ok {
		return KeyNew
	}
	if f.seen != nil {
		f.seen.set(i)
	}
	r := &t.recs[i]
	switch {
	case r.value != v || f.cleared:
		return KeyChanged
	case !refreshBefore.IsZero() && r.meta&minutesMask < toMinutes(refreshBefore):
		return KeyRefresh
	}
	return KeyUnchanged
}

// toMinutes returns t in minutes since the Unix epoch, as entries keep it.
func toMinutes(t time.Time) uint32 {
	return uint32(min(max(t.Unix()/60, 0), minutesMask))
}

// Invalidate durably records that the values the state holds for keys are
// unknown, before the net effects that change them are sent: when it
// returns, a kill at any later point leaves no entry claiming a value the
// API may no longer hold. Keys the state does not know, or whose value is
// unknown already, need nothing and cost nothing; when no key needs it
// there is no sync. Call it once for a batch of keys (one sync).
func (f *File) Invalidate(keys ...string) error {
	if f.j == nil {
		return errNoRun
	}
	if f.cleared {
		return nil // every value is unknown already
	}
	t := &f.snap.t
	f.j.mu.Lock()
	defer f.j.mu.Unlock()
	n := 0
	for _, key := range keys {
		k := KeyOf(key)
		if i, ok := t.find(k); !ok || t.recs[i].value == 0 {
			continue
		}
		if err := f.j.addLocked(recInvalidate, &entry{key: k}, key); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return nil
	}
	return f.j.syncLocked()
}

// InvalidateAll durably records that every value is unknown: call it
// before a PATCH_MANY or REMOVE_MANY is sent, since it touches items the
// state cannot name. The keys stay known, for prune and mirror. For the
// rest of the run Compare answers KeyChanged for every key it knows, and
// confirmations made after it hold.
func (f *File) InvalidateAll() error {
	if f.j == nil {
		return errNoRun
	}
	f.j.mu.Lock()
	defer f.j.mu.Unlock()
	if err := f.j.addLocked(recInvalidateAll, &entry{}, ""); err != nil {
		return err
	}
	if err := f.j.syncLocked(); err != nil {
		return err
	}
	f.cleared = true
	return nil
}

// Confirm records that the API confirmed key's net effect, of Value v, now
// (Options.Now); absent says that the net effect leaves the key absent (a
// catalog REMOVE, an audience delete), so that prune and mirror do not
// remove it again. The record is buffered: a kill may lose it, which only
// costs a re-send. Safe for concurrent use.
func (f *File) Confirm(key string, v Value, absent bool) error {
	if f.j == nil {
		return errNoRun
	}
	meta := toMinutes(f.opts.Now())
	if absent {
		meta |= absentBit
	}
	return f.j.add(recConfirm, &entry{key: KeyOf(key), meta: meta, value: v}, key)
}

// Flush writes the buffered confirmations to the journal without syncing
// it: after Flush, a kill of the process loses none of them (a power cut
// still may). Call it now and then, say with each checkpoint, so that a
// rerun after a kill re-sends fewer keys. Safe for concurrent use.
func (f *File) Flush() error {
	if f.j == nil {
		return errNoRun
	}
	return f.j.flush()
}

// Flushed writes the buffered records to the journal, as Flush does, and
// returns the journal's length: its first n bytes are whole chunks, and
// stay as they are until Commit, since the journal is only appended to.
// It is how a copy of the journal elsewhere (a state in object storage)
// is kept up to date: copy the bytes from where the last copy ended to n.
// Safe for concurrent use.
func (f *File) Flushed() (n int64, err error) {
	if f.j == nil {
		return 0, errNoRun
	}
	f.j.mu.Lock()
	defer f.j.mu.Unlock()
	if err := f.j.flushLocked(); err != nil {
		return 0, err
	}
	return f.j.off, nil
}

// Reject records that the API rejected what was sent for key, so its
// state is unknown. Buffered like Confirm; safe for concurrent use.
func (f *File) Reject(key string) error {
	if f.j == nil {
		return errNoRun
	}
	k := KeyOf(key)
	if _, ok := f.snap.t.find(k); !ok {
		return nil
	}
	return f.j.add(recInvalidate, &entry{key: k}, key)
}

// CountStale returns how many keys the run's feed did not hold (see
// Compare) among the keys the API may hold, and how many of those there
// are; keys whose removal the API confirmed are in neither count. Call it
// after the feed was compared.
func (f *File) CountStale() (stale, total int) {
	t := &f.snap.t
	for i := range t.len() {
		if droppable(t.at(i)) {
			continue
		}
		total++
		if !f.seen.has(i) {
			stale++
		}
	}
	return stale, total
}

// StaleKeys calls fn, in Key order, with each key CountStale counts as
// stale: the keys to remove for --prune or --mirror. Invalidate them
// before their removals are sent, and Confirm each removal with absent
// set; Commit then forgets them.
func (f *File) StaleKeys(fn func(key string) error) error {
	t := &f.snap.t
	cur := strCursor{s: f.snap}
	for i := range t.len() {
		key, err := cur.next()
		if err != nil {
			return err
		}
		if droppable(t.at(i)) || f.seen.has(i) {
			continue
		}
		if err := fn(string(key)); err != nil {
			return err
		}
	}
	return nil
}

// Commit ends the run: it records info as the last run and, when the run
// changed anything, writes the new snapshot (the old entries, with the
// run's invalidations and confirmations applied) atomically, then removes
// the journal. Call it after a failed run too, so that what was confirmed
// is kept. With complete (the whole feed was read and every key in it is
// known), entries of removed keys the feed no longer holds are forgotten.
// After Commit, Begin starts another run.
func (f *File) Commit(info RunInfo, complete bool) error {
	if f.j == nil {
		return errNoRun
	}
	if err := f.j.flush(); err != nil {
		return err
	}
	f.meta.LastRun = &info
	rewrite := f.dirty || f.j.n > 0 || (complete && f.dropsAny())
	if rewrite {
		if err := f.commitRewrite(complete); err != nil {
			return err
		}
	}
	if err := f.writeLastRun(); err != nil {
		return err
	}
	err := f.j.close()
	f.j, f.seen, f.cleared = nil, nil, false
	if err != nil {
		return err
	}
	if err := removeJournal(f.path); err != nil {
		return err
	}
	f.dirty = false
	f.stale = f.stale || rewrite
	return nil
}

// dropsAny reports whether a complete run forgets an entry.
func (f *File) dropsAny() bool {
	t := &f.snap.t
	for i := range t.len() {
		if droppable(t.at(i)) && !f.seen.has(i) {
			return true
		}
	}
	return false
}

func (f *File) commitRewrite(complete bool) error {
	ji, ok, err := openJournal(f.path)
	if err != nil {
		return err
	}
	if ji != nil {
		defer ji.f.Close()
	}
	if !ok {
		return fmt.Errorf("%w: the run's journal is unreadable", ErrCorrupt)
	}
	return withJournal(ji, func(ch *changes) error { return f.rewrite(f.seen, ch, complete) })
}

// KeyInfo is one key of a state file, as Each yields it.
type KeyInfo struct {
	Key string
	// Value is the Value of the net effect the API last confirmed; 0 when
	// unknown (invalidated and not confirmed since, or converted from the
	// old format).
	Value Value
	// Confirmed is when that was; zero when unknown.
	Confirmed time.Time
	// Absent: the confirmed net effect removed the key.
	Absent bool
}

// Each calls fn for every key in Key order, stopping at fn's first error.
// A read-only File includes the journal of a run in progress or killed; a
// writer shows the last snapshot, without the changes of a run in
// progress.
func (f *File) Each(fn func(KeyInfo) error) error {
	if f.stale && f.j == nil {
		if err := f.reload(); err != nil {
			return err
		}
	}
	emit := func(e entry, key []byte) error {
		ki := KeyInfo{Key: string(key), Value: e.value, Absent: e.meta&absentBit != 0}
		if m := e.meta & minutesMask; m != 0 {
			ki.Confirmed = time.Unix(int64(m)*60, 0).UTC()
		}
		return fn(ki)
	}
	if f.lock == nil {
		ji, ok, err := openJournal(f.path)
		if err != nil {
			return err
		}
		if ji != nil {
			defer ji.f.Close()
		}
		if ok && ji.h.gen == f.snap.h.gen {
			// A damaged chunk (not a cut-short tail, which is skipped)
			// ends the walk with an error: fn has seen keys already, so
			// the walk cannot start again without them.
			ch, err := newChanges(ji)
			if err != nil {
				return err
			}
			return merge(f.snap, nil, ch, false, emit)
		}
	}
	return merge(f.snap, nil, nil, false, emit)
}

// String returns the Value as 16 hex digits.
func (v Value) String() string { return fmt.Sprintf("%016x", uint64(v)) }

// MarshalJSON encodes a Value as its String.
func (v Value) MarshalJSON() ([]byte, error) { return json.Marshal(v.String()) }
