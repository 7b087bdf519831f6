package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/talonsync/talonsync/internal/batch"
	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/pace"
	"github.com/talonsync/talonsync/internal/readers"
)

// progress shows how far a run is: a bar that fits the terminal when
// stderr is one, otherwise a status line every --stats-interval. Both count
// rows done (delivered, rejected, unchanged) over the whole input, the
// runs a checkpoint resumes included, and say when the run is retrying or
// paused by a 429. Its goroutine ends in stop.
type progress struct {
	done chan struct{}
	wg   sync.WaitGroup
}

// progressSource is what the display reads: the live counters, the input's
// position, and the counts of the earlier runs of a checkpoint.
type progressSource struct {
	entity string
	stats  *batch.Stats
	pacer  *pace.Pacer
	in     *readers.Input
	prior  checkpoint.Counts
	start  time.Time
}

func startProgress(o *syncOptions, stats *batch.Stats, pacer *pace.Pacer, in *readers.Input, prior checkpoint.Counts, con *console) *progress {
	p := &progress{done: make(chan struct{})}
	src := &progressSource{entity: o.Entity.String(), stats: stats, pacer: pacer, in: in, prior: prior, start: time.Now()}
	// A bar is for a person at a terminal; with JSON logs, the status
	// lines are the progress.
	bar := o.LogFormat != "json" && (o.Progress == "always" || (o.Progress == "auto" && o.io().ErrTTY))
	if o.Progress == "never" || (!bar && o.StatsInterval <= 0) {
		return p
	}
	p.wg.Go(func() {
		if bar {
			p.drawBar(src, con, o.io().width)
			return
		}
		p.logStatus(src, o.log(), o.StatsInterval)
	})
	return p
}

func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
}

// view is one moment of a run, as the display shows it.
type view struct {
	done      int64 // rows done over the whole input
	total     int64 // estimated rows of the whole input; 0 when unknown
	delivered int64
	rejected  int64
	rate      float64 // rows done per second in this run; 0 in its first second
	eta       time.Duration
	state     string // "", "retrying", "paced at 25/s"
	pace      pace.Stats
}

// look takes a view. retries is the retry count of the previous look, to
// tell whether the run is retrying now.
func (s *progressSource) look(retries *int64) view {
	c := s.stats.Snapshot()
	v := view{
		done:      s.prior.Read + c.Delivered + c.Rejected + c.Unchanged + s.stats.WouldSend.Load(),
		delivered: s.prior.Delivered + c.Delivered,
		rejected:  s.prior.Rejected + c.Rejected,
	}
	// Rows read run ahead of rows done; their share of the input read so
	// far estimates the rows of the whole input. The reader's offset is
	// exact for a plain file; a gzip file has only the compressed bytes.
	read := s.stats.ReadOffset.Load()
	if s.in.Compressed() {
		read = s.in.BytesRead()
	}
	if size := s.in.Size(); size > 0 && read > size/200 {
		rows := s.prior.Read + c.Read + s.stats.Skipped.Load()
		v.total = max(int64(float64(rows)*float64(size)/float64(read)), v.done)
	}
	if el := time.Since(s.start); el >= time.Second {
		v.rate = float64(c.Delivered+c.Rejected+c.Unchanged) / el.Seconds()
		if v.total > 0 && v.rate > 0 {
			v.eta = time.Duration(float64(v.total-v.done) / v.rate * float64(time.Second))
		}
	}
	v.pace = s.pacer.Stats()
	switch {
	case c.Retries > *retries:
		v.state = "retrying"
	case v.pace.Learned > 0:
		// After a 429 the pacer spaces requests at the rate it learned.
		v.state = fmt.Sprintf("paced at %.3g req/s", v.pace.Learned)
	}
	*retries = c.Retries
	return v
}

func (p *progress) drawBar(src *progressSource, con *console, width func() int) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	defer con.clear()
	var retries int64
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		w := width()
		if w <= 0 {
			w = 80
		}
		// Room is left for the terminal's echo of a Ctrl-C (^C), which
		// would wrap a full-width line.
		con.draw(barFrame(src.entity, src.look(&retries), w-3))
	}
}

// barFrame lays a view out in at most width columns. The entity, the
// percentage and the counts are always shown; then, as room allows and in
// this order of priority, what the run is waiting for, the bar, the rate,
// the ETA and the outcome counts. Parts are dropped, never wrapped.
func barFrame(entity string, v view, width int) string {
	const minBar, maxBar = 10, 40
	head, count := entity, itoaGroup(v.done)+" rows"
	if v.total > 0 {
		head += fmt.Sprintf(" %3d%%", min(100, 100*v.done/max(v.total, 1)))
		count = itoaGroup(v.done) + "/~" + itoaGroup(v.total)
	}
	var rate, eta string
	if v.rate > 0 {
		rate = itoaGroup(int64(v.rate)) + " rows/s"
	}
	if v.eta > 0 {
		eta = "ETA " + v.eta.Round(time.Second).String()
	}
	details := fmt.Sprintf("(%s delivered, %s rejected)", itoaGroup(v.delivered), itoaGroup(v.rejected))
	type part struct {
		text string
		prio int // 0 always shown; higher goes first when room is short
		bar  bool
	}
	parts := []part{{head, 0, false}, {"", 2, v.total > 0}, {count, 0, false}, {v.state, 1, false},
		{rate, 3, false}, {eta, 4, false}, {details, 5, false}}
	shown := make([]bool, len(parts))
	used := -1 // no space before the first part
	for prio := 0; prio <= 5; prio++ {
		for i, p := range parts {
			if p.prio != prio || (p.text == "" && !p.bar) {
				continue
			}
			need := 1 + len(p.text)
			if p.bar {
				need = 1 + minBar + 2
			}
			if prio == 0 || used+need <= width {
				shown[i], used = true, used+need
			}
		}
	}
	var out []string
	for i, p := range parts {
		switch {
		case !shown[i]:
		case p.bar:
			out = append(out, renderBar(v.done, v.total, min(maxBar, minBar+width-used)))
		default:
			out = append(out, p.text)
		}
	}
	line := strings.Join(out, " ")
	if r := []rune(line); len(r) > width {
		line = string(r[:max(width, 0)])
	}
	return line
}

// renderBar draws done of total as a bar of width cells, with the project's
// progress bar library.
func renderBar(done, total int64, width int) string {
	b := progressbar.NewOptions64(total, progressbar.OptionSetWriter(io.Discard), progressbar.OptionSetWidth(width),
		progressbar.OptionThrottle(0), progressbar.OptionSetPredictTime(false), progressbar.OptionSetElapsedTime(false))
	_ = b.Set64(min(done, total))
	s := strings.TrimSpace(strings.TrimPrefix(b.String(), "\r"))
	// The library writes "42% |████   |"; the percentage is ours already.
	if i := strings.IndexByte(s, '|'); i >= 0 {
		s = s[i:]
	}
	return s
}

func (p *progress) logStatus(src *progressSource, log *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var retries int64
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		c := src.stats.Snapshot()
		v := src.look(&retries)
		msg := fmt.Sprintf("progress: %s rows done", itoaGroup(v.done))
		if v.total > 0 {
			msg = fmt.Sprintf("progress: %s of ~%s rows done (%d%%)", itoaGroup(v.done), itoaGroup(v.total), 100*v.done/v.total)
		}
		msg += fmt.Sprintf(", %s delivered, %s rejected, %s rows/s, %d requests, %d retries",
			itoaGroup(v.delivered), itoaGroup(v.rejected), itoaGroup(int64(v.rate)), c.Requests, c.Retries)
		ps := v.pace
		msg += fmt.Sprintf("; %.1f req/s, %d in flight of %d", ps.Achieved, ps.InFlight, ps.Limit)
		if ps.Learned > 0 {
			msg += fmt.Sprintf(", paced at %.3g req/s after %d 429s", ps.Learned, ps.Throttled)
		}
		if v.state == "retrying" {
			msg += "; retrying"
		}
		log.Info(msg, slog.Group("progress", "entity", src.entity, "done", v.done, "total_estimate", v.total,
			"delivered", v.delivered, "rejected", v.rejected, "unchanged", src.prior.Unchanged+c.Unchanged,
			"rows_per_second", int64(v.rate), "requests", c.Requests, "retries", c.Retries,
			"requests_per_second", ps.Achieved, "learned_rate", ps.Learned, "rate_cap", ps.Cap,
			"in_flight", ps.InFlight, "concurrency_limit", ps.Limit, "throttled", ps.Throttled, "state", v.state))
	}
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
