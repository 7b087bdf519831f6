package main

import (
	"log/slog"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/talonsync/talonsync/internal/batch"
	"github.com/talonsync/talonsync/internal/readers"
)

// progress draws a bar on a terminal, or logs a status line every
// --stats-interval otherwise. Its goroutine ends in stop.
type progress struct {
	done chan struct{}
	wg   sync.WaitGroup
}

func startProgress(o *syncOptions, stats *batch.Stats, in *readers.Input, logger *slog.Logger) *progress {
	p := &progress{done: make(chan struct{})}
	bar := o.Progress == "always" || (o.Progress == "auto" && o.io().ErrTTY)
	if o.Progress == "never" || (!bar && o.StatsInterval <= 0) {
		return p
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if bar {
			p.drawBar(o, stats, in)
			return
		}
		p.logStatus(o, stats, in, logger)
	}()
	return p
}

func (p *progress) drawBar(o *syncOptions, stats *batch.Stats, in *readers.Input) {
	size := in.Size()
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(o.io().ErrOut),
		progressbar.OptionSetDescription(o.Entity.String()),
		progressbar.OptionThrottle(200 * time.Millisecond),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetPredictTime(size > 0),
		progressbar.OptionClearOnFinish(),
	}
	if size > 0 {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"))
	}
	b := progressbar.NewOptions64(max(size, -1), opts...)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-p.done:
			_ = b.Finish()
			return
		case <-t.C:
		}
		c := stats.Snapshot()
		rate := float64(c.Read) / time.Since(start).Seconds()
		// Set the value before the description: Describe draws the bar.
		// Bytes read run ahead of the rows confirmed, so the bar stops
		// short of its end until the run is over (a bar at its end is
		// finished and no longer drawn).
		if size > 0 {
			_ = b.Set64(min(in.BytesRead(), size-1))
		} else {
			_ = b.Set64(c.Read)
		}
		b.Describe(o.Entity.String() + " " + itoaGroup(c.Delivered) + " delivered, " + itoaGroup(c.Rejected) + " rejected, " + itoaGroup(int64(rate)) + " rows/s")
	}
}

func (p *progress) logStatus(o *syncOptions, stats *batch.Stats, in *readers.Input, logger *slog.Logger) {
	t := time.NewTicker(o.StatsInterval)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		c := stats.Snapshot()
		attrs := []any{"entity", o.Entity.String(), "read", c.Read, "delivered", c.Delivered, "rejected", c.Rejected,
			"requests", c.Requests, "retries", c.Retries, "rows_per_second", int64(float64(c.Read) / time.Since(start).Seconds())}
		if size := in.Size(); size > 0 {
			attrs = append(attrs, "percent", int(100*in.BytesRead()/size))
		}
		logger.Info("progress", attrs...)
	}
}

func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
}

// itoaGroup formats n with thousands separators.
func itoaGroup(n int64) string {
	s := []byte{}
	neg := n < 0
	if neg {
		n = -n
	}
	for i := 0; ; i++ {
		if i > 0 && i%3 == 0 {
			s = append(s, ',')
		}
		s = append(s, byte('0'+n%10))
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		s = append(s, '-')
	}
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
	return string(s)
}
