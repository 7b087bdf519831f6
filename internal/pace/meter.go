package pace

import "time"

// meterBuckets is how many buckets a meter splits its window into.
const meterBuckets = 10

// meter counts events over a sliding window of fixed length, in buckets of
// window/meterBuckets. It is not safe for concurrent use; its owner locks.
type meter struct {
	window time.Duration
	width  time.Duration
	first  time.Time // the first event, for the rate before a window has passed
	head   int64     // index (time / width) of the newest bucket
	counts [meterBuckets]float64
}

func newMeter(window time.Duration) meter {
	return meter{window: window, width: window / meterBuckets}
}

// advance moves the window to now, dropping buckets that fell out of it.
func (m *meter) advance(now time.Time) {
	idx := now.UnixNano() / int64(m.width)
	if m.first.IsZero() {
		m.head = idx
		return
	}
	for m.head < idx {
		m.head++
		m.counts[m.head%meterBuckets] = 0
		if idx-m.head >= meterBuckets { // the whole window is stale
			clear(m.counts[:])
			m.head = idx
		}
	}
}

// add counts n events at now.
func (m *meter) add(now time.Time, n float64) {
	m.advance(now)
	if m.first.IsZero() {
		m.first = now
	}
	m.counts[m.head%meterBuckets] += n
}

// count returns the events in the window ending at now.
func (m *meter) count(now time.Time) float64 {
	m.advance(now)
	var sum float64
	for _, c := range m.counts {
		sum += c
	}
	return sum
}

// rate returns the events per second over the window ending at now, or
// over the time since the first event when that is shorter (but at least
// one bucket, so a single event does not read as a huge rate). 0 before
// any event.
func (m *meter) rate(now time.Time) float64 {
	if m.first.IsZero() {
		return 0
	}
	sum := m.count(now)
	span := min(now.Sub(m.first), m.window)
	span = max(span, m.width)
	return sum / span.Seconds()
}

// recentRate is rate over the newest n buckets only (the current one
// partly), for a rate that changes faster than the window.
func (m *meter) recentRate(now time.Time, n int) float64 {
	if m.first.IsZero() {
		return 0
	}
	m.advance(now)
	n = min(max(n, 1), meterBuckets)
	var sum float64
	for i := range n {
		sum += m.counts[(m.head-int64(i))%meterBuckets]
	}
	start := time.Unix(0, (m.head-int64(n)+1)*int64(m.width))
	if m.first.After(start) {
		start = m.first
	}
	span := max(now.Sub(start), m.width)
	return sum / span.Seconds()
}
