package batch

import (
	"encoding/json"
	"sync"

	"github.com/talonsync/talonsync/internal/readers"
)

// Progress is what a checkpoint needs to know about the rows: where to start
// reading again and which rows after that point are already done.
type Progress struct {
	// Resume is the position of the first row that is not done (or of the
	// last row read, when every row read is done).
	Resume readers.Position `json:"resume"`
	// Done marks the rows at or after Resume that are done (delivered, or
	// rejected and written to the rejects file): bit k, least significant
	// first, is the k-th row a reader started at Resume yields. A bitmap
	// stays small however the lanes interleave: the window between the
	// resume point and the read head is a few thousand rows. In JSON it is
	// base64.
	Done []byte `json:"done,omitempty"`
	// RejectsSize is the length of the rejects file that holds every row
	// rejected so far and no other.
	RejectsSize int64 `json:"rejects_size"`
	// Delivered and Rejected count the rows done in this run.
	Delivered int64 `json:"-"`
	Rejected  int64 `json:"-"`
	// Unchanged counts the rows of this run the API already held.
	Unchanged int64 `json:"-"`
}

// Ledger records the outcome of every row: it writes rejects, updates the
// counters and, when tracking is on, remembers which rows are done so a
// checkpoint can be taken at any moment. A row counts as done only once its
// outcome is final: delivered, or rejected and written. Safe for concurrent use.
type Ledger struct {
	stats   *Stats
	mu      sync.Mutex
	rejects *RejectsFile
	track   bool

	// q holds the tracked rows from the low-water mark on, in read order;
	// q[i] is the row with Seq base+i.
	q     []entry
	base  int64
	start Progress // what to report before any row is registered
}

type entry struct {
	line   int64
	resume readers.Position
	done   bool
}

// NewLedger returns a Ledger that writes rejects to rejects and counts into
// stats. With track set it keeps what Snapshot needs; start is the progress
// the run resumes from (the zero value for a fresh run).
func NewLedger(stats *Stats, rejects *RejectsFile, track bool, start Progress) *Ledger {
	return &Ledger{stats: stats, rejects: rejects, track: track, start: start}
}

// Add registers a row as read. Rows must be added in Seq order, each once.
func (l *Ledger) Add(r *readers.Row) {
	l.stats.Read.Add(1)
	if !l.track {
		return
	}
	l.mu.Lock()
	l.push(r, false)
	l.mu.Unlock()
}

// AddRows registers rows as read, like Add for each, under one lock.
func (l *Ledger) AddRows(rows []readers.Row) {
	if len(rows) == 0 {
		return
	}
	l.stats.Read.Add(int64(len(rows)))
	if !l.track {
		return
	}
	l.mu.Lock()
	for i := range rows {
		l.push(&rows[i], false)
	}
	l.mu.Unlock()
}

// AddDone registers a row an earlier run already finished. It is not counted
// as read again.
func (l *Ledger) AddDone(r *readers.Row) {
	l.stats.Skipped.Add(1)
	if !l.track {
		return
	}
	l.mu.Lock()
	l.push(r, true)
	l.advance()
	l.mu.Unlock()
}

func (l *Ledger) push(r *readers.Row, done bool) {
	if len(l.q) == 0 {
		l.base = r.Seq
	}
	l.q = append(l.q, entry{line: r.Line, resume: r.Resume, done: done})
}

// Delivered marks rows the API confirmed.
func (l *Ledger) Delivered(rows []readers.Row) {
	if !l.track {
		l.stats.Delivered.Add(int64(len(rows)))
		return
	}
	l.mu.Lock()
	// Counted under the lock, with the marks, so that a Snapshot never
	// counts rows it does not also report as done.
	l.stats.Delivered.Add(int64(len(rows)))
	for i := range rows {
		l.mark(rows[i].Seq)
	}
	l.advance()
	l.mu.Unlock()
}

// Unchanged marks a row done that needs no request: the API already holds
// its item (see Config.Unchanged).
func (l *Ledger) Unchanged(r *readers.Row) {
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

// Reject writes a row to the rejects file and marks it done. record replaces
// the row's own Record when non-nil.
func (l *Ledger) Reject(r *readers.Row, reason string, record json.RawMessage) error {
	if record == nil {
		record = r.Record
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.rejects.Write(Reject{Line: r.Line, Error: reason, Record: record}); err != nil {
		return err
	}
	l.stats.Rejected.Add(1)
	if l.track {
		l.mark(r.Seq)
		l.advance()
	}
	return nil
}

func (l *Ledger) mark(seq int64) {
	i := seq - l.base
	if i >= 0 && i < int64(len(l.q)) {
		l.q[i].done = true
	}
}

// advance drops done rows from the front, keeping at least one so the
// resume position stays known.
func (l *Ledger) advance() {
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

// Snapshot makes every reject written so far durable and returns the
// progress a checkpoint should store. The rejects file length it reports
// covers exactly the rows it reports as done.
func (l *Ledger) Snapshot() (Progress, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.rejects.Sync(); err != nil {
		return Progress{}, err
	}
	p := Progress{
		RejectsSize: l.rejects.Size(),
		Delivered:   l.stats.Delivered.Load(),
		Rejected:    l.stats.Rejected.Load(),
		Unchanged:   l.stats.Unchanged.Load(),
	}
	if len(l.q) == 0 {
		p.Resume, p.Done = l.start.Resume, l.start.Done
		return p, nil
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
	return p, nil
}

// Close flushes the rejects file.
func (l *Ledger) Close(removeIfEmpty bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rejects.Close(removeIfEmpty)
}

// Skipper returns a function that reports whether the next row is done. It
// must be called once for every row a reader started at Resume yields, in
// order.
func (p Progress) Skipper() func(line int64) bool {
	done, k := p.Done, 0
	return func(int64) bool {
		i := k
		k++
		return i/8 < len(done) && done[i/8]&(1<<(i%8)) != 0
	}
}
