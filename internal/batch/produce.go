package batch

import (
	"context"
	"errors"
	"io"

	"github.com/talonsync/talonsync/internal/readers"
)

// blockSize is how many rows the reader hands to the chunker at once.
const blockSize = 256

// read parses src to its end, or until ctx is done, and sends the accepted
// rows to blocks a block at a time. It registers every row in the ledger
// first, in Seq order, and writes parse rejects. A fatal input error ends
// the input but not the run: the rows read before it are still sent, and
// the run then fails with it (r.readErr).
func (r *run) read(ctx context.Context, src Source, blocks chan<- []readers.Row, free <-chan []readers.Row) error {
	if us, ok := src.(UnitSource); ok {
		return r.readUnits(ctx, us, blocks)
	}
	l := r.ledger
	blk := make([]readers.Row, 0, blockSize)
	// The rows of blk are registered a block at a time, one lock instead of
	// one per row; registered counts those already in.
	registered := 0
	register := func() {
		l.addRows(blk[registered:])
		registered = len(blk)
	}
	send := func() bool {
		register()
		if len(blk) == 0 {
			return true
		}
		select {
		case blocks <- blk:
		case <-ctx.Done():
			return false
		}
		select {
		case blk = <-free:
		default:
			blk = make([]readers.Row, 0, blockSize)
		}
		registered = 0
		return true
	}
	for n := 0; ; n++ {
		if n&255 == 0 && ctx.Err() != nil {
			register()
			return nil
		}
		row, err := src.Next()
		switch {
		case err == io.EOF:
			send()
			return nil
		case err != nil && ctx.Err() != nil:
			// The stop ended the read (an interrupted stdin, say).
			register()
			return nil
		case err != nil:
			if send() {
				r.readErr = err
			}
			return nil
		}
		if r.cfg.Skip != nil && r.cfg.Skip(row.Line) {
			register()
			l.addDone(&row)
			continue
		}
		if row.Err != nil {
			register()
			l.add(&row)
			if err := l.reject(&row, rejectSource(row.Err), row.Err.Error(), nil); err != nil {
				return err
			}
			continue
		}
		if r.cfg.Unchanged != nil && r.cfg.Unchanged(&row) {
			register()
			l.add(&row)
			l.unchanged(&row)
			continue
		}
		blk = append(blk, row)
		if len(blk) == blockSize && !send() {
			return nil
		}
	}
}

// chunk runs the chunker over the blocks the reader sends and hands each
// batch to its lane. Reading and chunking overlap on two goroutines, so
// parsing and batching use both cores. A barrier batch is sent here, once
// every lane is idle.
func (r *run) chunk(ctx, sendCtx context.Context, blocks <-chan []readers.Row, free chan<- []readers.Row, lanes []chan *batch, commit func(context.Context) error) error {
	barrier := r.newWorker()
	emit := func(b *batch) error {
		if b.barrier {
			return r.sendBarrier(ctx, sendCtx, barrier, b, lanes, commit)
		}
		select {
		case r.queued <- struct{}{}:
			lanes[b.lane] <- b // never blocks: see pipeline
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ch := newChunker(r.cfg.Lanes, r.cfg.BatchSize, r.cfg.MaxOpen, r.cfg.MaxHeld, emit)
	ch.merge = r.cfg.Merge
	var merges int64
	for blk := range blocks {
		for i := range blk {
			if err := ch.add(blk[i], r.takeUnit(blk[i].Seq)); err != nil {
				return r.stopErr(ctx, err)
			}
		}
		r.cfg.Stats.Merged.Add(ch.merges - merges)
		merges = ch.merges
		clear(blk)
		select {
		case free <- blk[:0]:
		default:
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return r.stopErr(ctx, ch.flush())
}

// stopErr drops an error that only reports the stop itself.
func (r *run) stopErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && isContextErr(err) {
		return nil
	}
	return err
}

// sendBarrier waits until every lane has finished the batches it was given
// (a fence in each lane), then delivers b on the chunker's goroutine.
func (r *run) sendBarrier(ctx, sendCtx context.Context, w *worker, b *batch, lanes []chan *batch, commit func(context.Context) error) error {
	acks := make(chan struct{}, len(lanes))
	for _, ch := range lanes {
		select {
		case ch <- &batch{lane: -1, fence: acks}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for range lanes {
		select {
		case <-acks:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := r.finish(ctx, sendCtx, w, b, commit)
	recycle(b)
	if err == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// readUnits is read for a UnitSource. A unit's rows are registered and
// counted as read together; its item goes to the chunker as one row, with
// the unit's rows (when more than one) waiting in r.units for it.
func (r *run) readUnits(ctx context.Context, src UnitSource, blocks chan<- []readers.Row) error {
	l := r.ledger
	blk := make([]readers.Row, 0, blockSize)
	send := func() bool {
		if len(blk) == 0 {
			return true
		}
		select {
		case blocks <- blk:
			blk = make([]readers.Row, 0, blockSize)
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		if ctx.Err() != nil {
			return nil
		}
		u, err := src.NextUnit()
		switch {
		case err == io.EOF:
			send()
			return nil
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil:
			if send() {
				r.readErr = err
			}
			return nil
		case len(u.Rows) == 0:
			return errors.New("batch: a unit without rows")
		}
		l.addRows(u.Rows)
		switch {
		case u.Unchanged:
			for i := range u.Rows {
				l.unchanged(&u.Rows[i])
			}
			continue
		case len(u.Rows) == 1 && u.Rows[0].Err != nil:
			if err := l.reject(&u.Rows[0], rejectSource(u.Rows[0].Err), u.Rows[0].Err.Error(), nil); err != nil {
				return err
			}
			continue
		}
		row := u.Rows[0]
		row.Item = u.Item
		if len(u.Rows) > 1 {
			r.putUnit(row.Seq, &mergedRows{first: u.Rows[0], rest: u.Rows[1:]})
			r.cfg.Stats.Merged.Add(int64(len(u.Rows) - 1))
		}
		blk = append(blk, row)
		if len(blk) == blockSize && !send() {
			return nil
		}
	}
}

// putUnit keeps the rows of a unit of several rows until the chunker
// takes its item.
func (r *run) putUnit(seq int64, m *mergedRows) {
	r.umu.Lock()
	defer r.umu.Unlock()
	if r.units == nil {
		r.units = make(map[int64]*mergedRows)
	}
	r.units[seq] = m
}

// takeUnit returns and forgets the rows of the unit whose item has seq, or
// nil for a row that stands for itself.
func (r *run) takeUnit(seq int64) *mergedRows {
	if !r.unitMode {
		return nil
	}
	r.umu.Lock()
	defer r.umu.Unlock()
	m := r.units[seq]
	delete(r.units, seq)
	return m
}
