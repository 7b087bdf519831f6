package pace

import "time"

// baselineHistory keeps the lowest window latency per second for a
// stretch of time, so that the lowest over the stretch costs a few dozen
// entries whatever the window rate.
type baselineHistory struct {
	mins []secondMin // oldest first
}

type secondMin struct {
	sec  int64 // Unix second
	mean time.Duration
}

// add records a window's mean latency at now and returns the lowest one
// recorded within keep before now, and the second it was recorded in.
func (h *baselineHistory) add(now time.Time, mean time.Duration, keep time.Duration) (time.Duration, time.Time) {
	sec := now.Unix()
	if n := len(h.mins); n > 0 && h.mins[n-1].sec == sec {
		h.mins[n-1].mean = min(h.mins[n-1].mean, mean)
	} else {
		h.mins = append(h.mins, secondMin{sec: sec, mean: mean})
	}
	oldest := now.Add(-keep).Unix()
	drop := 0
	for drop < len(h.mins)-1 && h.mins[drop].sec < oldest {
		drop++
	}
	h.mins = append(h.mins[:0], h.mins[drop:]...)
	low := h.mins[0]
	for _, m := range h.mins[1:] {
		if m.mean <= low.mean {
			low = m
		}
	}
	return low.mean, time.Unix(low.sec, 0)
}
