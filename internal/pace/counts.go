package pace

import "sync/atomic"

// counts are a Pacer's outcome counters.
type counts struct {
	requests, throttled, failed atomic.Int64
}

type countsSnapshot struct {
	requests, throttled, failed int64
}

func (c *counts) add(o Outcome) {
	c.requests.Add(1)
	switch o {
	case Throttled:
		c.throttled.Add(1)
	case Failed:
		c.failed.Add(1)
	}
}

func (c *counts) load() countsSnapshot {
	return countsSnapshot{c.requests.Load(), c.throttled.Load(), c.failed.Load()}
}
