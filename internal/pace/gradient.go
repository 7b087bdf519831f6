package pace

import "time"

// adaptive is the state behind an adaptive Limiter's limit. It is guarded
// by the Limiter's mutex; its methods are the Limiter's, suffixed Locked.
//
// The limit changes once per window of answers: at least MinSamples, and at
// least as many as the limit, so about one round trip of the current limit.
// A window's decision, first match wins:
//   - a 429 or a failure in it: the limit is multiplied by Backoff;
//   - a mean latency above Tolerance times the baseline: the limit is cut to
//     GrowBelow times throughput × baseline (Little's law: the requests the
//     server would hold at the baseline latency), by Backoff at least and to
//     half at most;
//   - a mean latency above GrowBelow times the baseline: the limit holds
//     (queueing has begun); if that has lasted so long that the baseline is
//     about to age out, the limit is halved for one window to measure it
//     afresh (BBR's ProbeRTT), so that a queue the limit keeps up never
//     becomes the baseline and lets the limit creep up;
//   - otherwise, if the requests sent filled the limit at some point of the
//     window (so a higher limit would be used), it grows by one.
//
// Before the first decrease the limit is in slow start: it grows by
// slowStartGrowth per OK answer whose latency is within GrowBelow times the
// baseline while the requests sent fill it, tripling per round trip. A
// rate-limited API answers 429 within the first round trip (the initial
// limit is above a gateway's usual burst), which ends slow start; an API
// that takes everything gets its full concurrency in two round trips.
//
// Every decrease starts an epoch. Answers to requests sent before it are
// not counted: the decrease already answered them, and their latency holds
// the queue of before.
//
// The baseline is the lowest window mean latency within History, kept per
// second in a ring.
type adaptive struct {
	limit     float64 // the adaptive limit; the gate applies effLocked
	slowStart bool
	epoch     uint64
	win       window
	history   baselineHistory
	baseline  time.Duration
	baseAt    time.Time // when the baseline was measured
	probing   bool      // the limit is halved for one window
	lastMean  time.Duration
	throttled int64
	failed    int64
}

// window accumulates the answers of the current window.
type window struct {
	first      time.Time // when its first answer came
	n, ok      int
	sum        time.Duration // of the OK answers' latencies
	throttled  bool
	failed     bool
	maxSending int
	limit      int // the limit when the window began; 0 before the first
}

// observeLocked counts one answer into the window.
func (l *Limiter) observeLocked(now time.Time, t Ticket, o Outcome) {
	if o == Ignored || t.epoch != l.epoch {
		return
	}
	if l.win.limit == 0 {
		l.win.limit = l.effLocked()
	}
	if l.win.n == 0 {
		l.win.first = now
	}
	l.win.n++
	switch o {
	case OK:
		lat := now.Sub(t.sent)
		l.win.ok++
		l.win.sum += lat
		// Full for the limit the window began with: growth since then has
		// had no time to be used yet.
		if l.slowStart && l.win.maxSending >= l.win.limit && l.limit < float64(l.cfg.Max) &&
			(l.baseline == 0 || float64(lat) <= l.cfg.GrowBelow*float64(l.baseline)) {
			l.limit += slowStartGrowth
		}
	case Throttled:
		l.win.throttled = true
	case Failed:
		l.win.failed = true
	}
	if l.win.n >= max(l.cfg.MinSamples, l.win.limit) {
		l.closeWindowLocked(now)
	}
}

// closeWindowLocked makes the window's one decision.
func (l *Limiter) closeWindowLocked(now time.Time) {
	w := l.win
	l.win = window{maxSending: l.sending} // its limit is set by its first answer, after this decision
	var mean time.Duration
	if w.ok > 0 {
		mean = w.sum / time.Duration(w.ok)
		l.lastMean = mean
	}
	if w.ok >= l.cfg.MinSamples {
		l.baseline, l.baseAt = l.history.add(now, mean, l.cfg.History)
	}
	if l.probing {
		// The probe window measured the baseline; the limit is restored.
		l.probing = false
		return
	}
	eff := float64(w.limit)
	inflated := func(f float64) bool {
		return w.ok > 0 && l.baseline > 0 && float64(mean) > f*float64(l.baseline) && mean-l.baseline > l.cfg.Slack
	}
	switch {
	case w.throttled || w.failed:
		l.decreaseLocked(eff * l.cfg.Backoff)
	case inflated(l.cfg.Tolerance):
		// Throughput rather than the limit: it is the right measure while a
		// queue built before drains.
		target := eff / 2
		if span := now.Sub(w.first).Seconds(); w.ok > 1 && span > 0 {
			target = float64(w.ok-1) / span * l.baseline.Seconds() * l.cfg.GrowBelow
		}
		l.decreaseLocked(max(eff/2, min(target, eff*l.cfg.Backoff)))
	case inflated(l.cfg.GrowBelow):
		l.slowStart = false
		if now.Sub(l.baseAt) >= l.cfg.History*2/3 {
			l.probing = true
			l.epoch++
		}
	case w.maxSending >= w.limit && !l.slowStart:
		l.limit = eff + 1
	}
	l.limit = min(max(l.limit, float64(l.cfg.Min)), float64(l.cfg.Max))
}

// slowStartGrowth is how much the limit grows per OK answer in slow start.
const slowStartGrowth = 2

// decreaseLocked lowers the limit to v, ends slow start and starts an epoch.
func (l *Limiter) decreaseLocked(v float64) {
	l.slowStart = false
	l.limit = v
	l.epoch++
}
