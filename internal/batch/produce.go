package batch

import (
	"context"
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
		case lanes[b.lane] <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ch := newChunker(r.cfg.Lanes, r.cfg.BatchSize, r.cfg.MaxOpen, r.cfg.MaxHeld, emit)
	for blk := range blocks {
		for i := range blk {
			if err := ch.add(blk[i]); err != nil {
				return r.stopErr(ctx, err)
			}
		}
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
