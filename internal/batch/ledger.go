package batch

import (
	"encoding/json"
	"sync"

	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
)

// ledger records the outcome of every row: it writes rejects, updates the
// counters and, when tracking is on, remembers which rows are done so a
// checkpoint can be taken at any moment. A row counts as done only once its
// outcome is final: delivered, unchanged, or rejected and written. Safe for
// concurrent use.
type ledger struct {
	stats   *Stats
	mu      sync.Mutex
	rejects *checkpoint.RejectsFile
	track   bool

	// q holds the tracked rows from the low-water mark on, in read order;
	// q[i] is the row with Seq base+i.
	q     []entry
	base  int64
	start checkpoint.Progress // what to report before any row is registered
}

type entry struct {
	resume readers.Position
	done   bool
}

// newLedger returns a ledger that writes rejects to rejects and counts into
// stats. With track set it keeps what snapshot needs; start is the progress
// the run resumes from (the zero value for a fresh run).
func newLedger(stats *Stats, rejects *checkpoint.RejectsFile, track bool, start checkpoint.Progress) *ledger {
	return &ledger{stats: stats, rejects: rejects, track: track, start: start}
}

// add registers a row as read. Rows must be added in Seq order, each once.
func (l *ledger) add(r *readers.Row) {
	l.stats.Read.Add(1)
	if !l.track {
		return
	}
	l.mu.Lock()
	l.push(r, false)
	l.mu.Unlock()
}

// addRows registers rows as read, like add for each, under one lock.
func (l *ledger) addRows(rows []readers.Row) {
	if len(rows) == 0 {
		return
	}
	l.stats.Read.Add(int64(len(rows)))
	l.stats.ReadOffset.Store(rows[len(rows)-1].Resume.Offset)
	if !l.track {
		return
	}
	l.mu.Lock()
	for i := range rows {
		l.push(&rows[i], false)
	}
	l.mu.Unlock()
}

// addDone registers a row an earlier run already finished. It is not
// counted as read again.
func (l *ledger) addDone(r *readers.Row) {
	l.stats.Skipped.Add(1)
	if !l.track {
		return
	}
	l.mu.Lock()
	l.push(r, true)
	l.advance()
	l.mu.Unlock()
}

func (l *ledger) push(r *readers.Row, done bool) {
	if len(l.q) == 0 {
		l.base = r.Seq
	}
	l.q = append(l.q, entry{resume: r.Resume, done: done})
}

// delivered marks rows the API confirmed.
func (l *ledger) delivered(rows []readers.Row) {
	if !l.track {
		l.stats.Delivered.Add(int64(len(rows)))
		return
	}
	l.mu.Lock()
	// Counted under the lock, with the marks, so that a snapshot never
	// counts rows it does not also report as done.
	l.stats.Delivered.Add(int64(len(rows)))
	for i := range rows {
		l.mark(rows[i].Seq)
	}
	l.advance()
	l.mu.Unlock()
}

// wouldSend marks rows done that a dry run validated and did not send.
func (l *ledger) wouldSend(rows []readers.Row) {
	l.stats.WouldSend.Add(int64(len(rows)))
}

// unchanged marks a row done that needs no request: the API already holds
// its item (see Config.Unchanged).
func (l *ledger) unchanged(r *readers.Row) {
	if !l.track {
		l.stats.Unchanged.Add(1)
		return
	}
	l.mu.Lock()
	l.stats.Unchanged.Add(1)
	l.mark(r.Seq)
	l.advance()
	l.mu.Unlock()
}

// reject writes a row to the rejects file and marks it done. source is
// checkpoint.SourceInput or SourceAPI; record replaces the row's own
// Record when non-nil.
func (l *ledger) reject(r *readers.Row, source, reason string, record json.RawMessage) error {
	if record == nil {
		record = r.Record
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.rejects.Write(checkpoint.Reject{Line: r.Line, Error: reason, Record: record, Source: source}); err != nil {
		return err
	}
	l.stats.Rejected.Add(1)
	if l.track {
		l.mark(r.Seq)
		l.advance()
	}
	return nil
}

func (l *ledger) mark(seq int64) {
	i := seq - l.base
	if i >= 0 && i < int64(len(l.q)) {
		l.q[i].done = true
	}
}

// advance drops done rows from the front, keeping at least one so the
// resume position stays known.
func (l *ledger) advance() {
	n := 0
	for n < len(l.q)-1 && l.q[n].done {
		n++
	}
	if n == 0 {
		return
	}
	l.base += int64(n)
	l.q = l.q[n:]
	// Reclaim the dropped prefix now and then so memory stays bounded.
	if cap(l.q) > 4096 && len(l.q) < cap(l.q)/4 {
		l.q = append(make([]entry, 0, 2*len(l.q)+16), l.q...)
	}
}

// snapshot is a consistent view of the done rows, for a checkpoint.
type snapshot struct {
	progress checkpoint.Progress
	// The rows of this run that are done, by outcome.
	delivered, rejected, unchanged int64
}

// snapshot makes every reject written so far durable and returns the
// progress a checkpoint should store. The rejects file length it reports
// covers exactly the rows it reports as done.
func (l *ledger) snapshot() (snapshot, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.rejects.Sync(); err != nil {
		return snapshot{}, err
	}
	s := snapshot{
		delivered: l.stats.Delivered.Load(),
		rejected:  l.stats.Rejected.Load(),
		unchanged: l.stats.Unchanged.Load(),
	}
	p := &s.progress
	p.RejectsSize = l.rejects.Size()
	if len(l.q) == 0 {
		p.Resume, p.Done = l.start.Resume, l.start.Done
		return s, nil
	}
	p.Resume = l.q[0].resume
	// Every row read since the resume point is in q, in read order.
	for i, e := range l.q {
		if !e.done {
			continue
		}
		if p.Done == nil {
			p.Done = make([]byte, (len(l.q)+7)/8)
		}
		p.Done[i/8] |= 1 << (i % 8)
	}
	for len(p.Done) > 0 && p.Done[len(p.Done)-1] == 0 {
		p.Done = p.Done[:len(p.Done)-1]
	}
	return s, nil
}

// sync makes the rejects written so far durable.
func (l *ledger) sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rejects.Sync()
}
