package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// interruptSignals are the signals that stop talonsync: the first cancels
// the command's context (a graceful stop), the second exits at once.
var interruptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// watchSecondSignal calls exit(exitInterrupted) when a second SIGINT or
// SIGTERM arrives; the first one is NotifyContext's. It returns the function
// that ends the watch.
func watchSecondSignal(exit func(int)) (stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, interruptSignals...)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for n := 0; ; {
			select {
			case <-ch:
				if n++; n == 2 {
					exit(exitInterrupted)
				}
			case <-done:
				return
			}
		}
	})
	return func() {
		signal.Stop(ch)
		close(done)
		wg.Wait()
	}
}

// interruptibleReader makes a stream whose Read may block for good (stdin
// fed by a slow producer) give way to ctx: a Read returns ctx's error once
// ctx is done. The blocking reads run on a pump goroutine that ends at the
// stream's end or error; a Read of the underlying stream that never returns
// cannot be interrupted, so that goroutine then ends with the process.
type interruptibleReader struct {
	ctx  context.Context
	src  io.Reader
	once sync.Once
	ch   chan chunk
	cur  chunk
	err  error
}

type chunk struct {
	b   []byte
	err error
}

func interruptible(ctx context.Context, r io.Reader) io.Reader {
	return &interruptibleReader{ctx: ctx, src: r, ch: make(chan chunk, 4)}
}

func (r *interruptibleReader) pump() {
	defer close(r.ch)
	for {
		buf := make([]byte, 64<<10)
		n, err := r.src.Read(buf)
		select {
		case r.ch <- chunk{b: buf[:n], err: err}:
		case <-r.ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func (r *interruptibleReader) Read(p []byte) (int, error) {
	r.once.Do(func() { go r.pump() })
	for len(r.cur.b) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.cur.err != nil {
			r.err = r.cur.err
			continue
		}
		select {
		case c, ok := <-r.ch:
			if !ok {
				r.err = r.ctx.Err()
				if r.err == nil {
					r.err = io.ErrUnexpectedEOF
				}
				continue
			}
			r.cur = c
		case <-r.ctx.Done():
			r.err = r.ctx.Err()
		}
	}
	n := copy(p, r.cur.b)
	r.cur.b = r.cur.b[n:]
	return n, nil
}
