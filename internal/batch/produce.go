package batch

import (
	"context"
	"io"

	"github.com/talonsync/talonsync/internal/readers"
)

// blockSize is how many rows the reader hands to the chunker at once.
const blockSize = 256

// produce runs the first two stages: a reader goroutine that parses rows,
// registers them in the ledger and writes parse rejects, and the chunker on
// the calling goroutine. They overlap, so parsing and batching use both cores.
func (r *run) produce(ctx context.Context, src Source, lanes []chan *Batch, barrier *worker) {
	blocks := make(chan []readers.Row, 4)
	free := make(chan []readers.Row, 6)
	readDone := make(chan struct{})
	go func() { // owned by produce: it waits for readDone
		defer close(readDone)
		defer close(blocks)
		r.read(src, blocks, free)
	}()
	defer func() {
		// Unblock and wait for the reader if the chunker stops first.
		for range blocks {
		}
		<-readDone
	}()

	emit := func(b *Batch) error {
		if b.Barrier {
			return r.sendBarrier(ctx, barrier, b)
		}
		r.pmu.Lock()
		r.pending++
		r.pmu.Unlock()
		select {
		case lanes[b.Lane] <- b:
			return nil
		case <-r.stopping:
			r.pmu.Lock()
			r.pending--
			r.pmu.Unlock()
			return errStopped
		}
	}
	ch := NewChunker(r.cfg.Lanes, r.cfg.BatchSize, r.cfg.MaxOpen, r.cfg.MaxHeld, emit)
	for blk := range blocks {
		for i := range blk {
			if err := ch.Add(blk[i]); err != nil {
				r.fail(err)
				return
			}
		}
		clear(blk)
		select {
		case free <- blk[:0]:
		default:
		}
	}
	if r.stopped() {
		return
	}
	if err := ch.Flush(); err != nil {
		r.fail(err)
	}
}

// read parses src to the end (or until the run stops) and sends accepted
// rows to blocks. A fatal input error fails the run.
func (r *run) read(src Source, blocks chan<- []readers.Row, free <-chan []readers.Row) {
	ledger := r.cfg.Ledger
	blk := make([]readers.Row, 0, blockSize)
	// The rows of blk are registered in the ledger a block at a time, one
	// lock instead of one per row; registered counts those already in.
	// Every row is registered before the chunker sees it, and in Seq order.
	registered := 0
	register := func() {
		ledger.AddRows(blk[registered:])
		registered = len(blk)
	}
	send := func() bool {
		register()
		if len(blk) == 0 {
			return true
		}
		select {
		case blocks <- blk:
		case <-r.stopping:
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
		if n&255 == 0 && r.stopped() {
			register()
			return
		}
		row, err := src.Next()
		if err == io.EOF {
			send()
			return
		}
		if err != nil {
			// A fatal input error ends the input, not the run's rows: the
			// ones read before it are still sent, then Run returns err.
			if send() {
				r.mu.Lock()
				r.readErr = err
				r.mu.Unlock()
			} else {
				r.fail(err)
			}
			return
		}
		if r.cfg.Skip != nil && r.cfg.Skip(row.Line) {
			register()
			ledger.AddDone(&row)
			continue
		}
		if row.Err != nil {
			register()
			ledger.Add(&row)
			if err := ledger.Reject(&row, row.Err.Error(), nil); err != nil {
				r.fail(err)
				return
			}
			continue
		}
		if r.cfg.Unchanged != nil && r.cfg.Unchanged(&row) {
			register()
			ledger.Add(&row)
			ledger.Unchanged(&row)
			continue
		}
		blk = append(blk, row)
		if len(blk) == blockSize && !send() {
			return
		}
	}
}

// sendBarrier waits until every lane is idle, then sends a batch of bulk
// actions on the producer's goroutine.
func (r *run) sendBarrier(ctx context.Context, w *worker, b *Batch) error {
	r.pmu.Lock()
	for r.pending > 0 && !r.stopped() {
		r.pcond.Wait()
	}
	r.pmu.Unlock()
	if r.stopped() {
		return errStopped
	}
	r.finish(ctx, w, b)
	if r.stopped() {
		return errStopped
	}
	return nil
}
