package main

import (
	"fmt"
	"math"
	"time"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// row is one target of issue 13: a server, an input and how the run is
// judged.
type row struct {
	name   string
	rows   int // unique profiles in the input
	faults emulator.Faults
	// stepAt, when positive, is when (after the first request) the faults
	// change to stepTo.
	stepAt time.Duration
	stepTo emulator.Faults
	target string
	// judge returns the figure and whether the target is met; base is the
	// same row of a baseline run, nil without one.
	judge func(r result, base *result) (string, bool)
}

// result is what one run measured.
type result struct {
	Row       string  `json:"row"`
	Flags     string  `json:"flags"`
	Read      int64   `json:"read"`
	Delivered int64   `json:"delivered"`
	Batches   int64   `json:"batches"`
	Requests  int64   `json:"requests"` // answered by the emulator
	Limited   int64   `json:"limited"`  // 429s of its rate limit
	Elapsed   float64 `json:"elapsed"`  // the run's own elapsed_seconds
	Wall      float64 `json:"wall"`     // the process, start to exit
	CPU       float64 `json:"cpu"`      // the process's user + system seconds
	Ideal     float64 `json:"ideal"`    // seconds for ceil(read/1000) batches, 0 if none
	Settle    float64 `json:"settle"`   // step rows: seconds after the step; -1 never
	ExitCode  int     `json:"exit_code"`
	samples   []sample
	stepTime  time.Duration // since the first request
}

// sample is the emulator's counters at one moment of a run.
type sample struct {
	at       time.Duration // since the first request
	requests int64
	limited  int64
}

func (r result) share429() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.Limited) / float64(r.Requests)
}

func (r result) ratio() float64 {
	if r.Ideal == 0 {
		return 0
	}
	return r.Elapsed / r.Ideal
}

const ms = time.Millisecond

// rateIdeal is (batches - burst) / rate: the burst passes at once, the
// rest at the limit.
func rateIdeal(rate float64, burst int) func(batches int64) float64 {
	return func(b int64) float64 { return math.Max(float64(b)-float64(burst), 0) / rate }
}

// rows returns the targets. rowsScale scales the inputs (QUICK runs).
func rows() []row {
	rl := emulator.Faults{RateLimit: 25, Burst: 5, Latency: 20 * ms}
	noRA := rl
	noRA.NoRetryAfter = true
	okRun := func(r result) bool { return r.ExitCode == 0 && r.Delivered == r.Read }
	ratioRow := func(max float64, max429 float64) func(result, *result) (string, bool) {
		return func(r result, _ *result) (string, bool) {
			fig := fmt.Sprintf("%.2f s = %.3f x ideal %.2f s; %d of %d requests 429 (%.1f%%)",
				r.Elapsed, r.ratio(), r.Ideal, r.Limited, r.Requests, 100*r.share429())
			return fig, okRun(r) && r.ratio() <= max && (max429 == 0 || r.share429() <= max429)
		}
	}
	vsBase := func(fig string, ok bool, r result, base *result, better func(r, b result) bool) (string, bool) {
		if base == nil {
			return fig + " (no baseline)", ok
		}
		return fmt.Sprintf("%s; baseline %.2f s (%s)", fig, base.Elapsed, base.Flags), ok && better(r, *base)
	}
	return []row{
		{
			name: "rate25", rows: 120_000, faults: rl,
			target: "<= 1.15 x (batches - 5) / 25 s; <= 5% 429",
			judge:  ratioRow(1.15, 0.05),
		},
		{
			name: "rate25-no-retry-after", rows: 120_000, faults: noRA,
			target: "<= 1.25 x (batches - 5) / 25 s",
			judge:  ratioRow(1.25, 0),
		},
		{
			name: "step25to10", rows: 300_000, faults: rl,
			stepAt: 8 * time.Second, stepTo: emulator.Faults{RateLimit: 10, Burst: 5, Latency: 20 * ms},
			target: "settles within 3 s of the drop; nothing lost",
			judge: func(r result, _ *result) (string, bool) {
				settle := "never"
				if r.Settle >= 0 {
					settle = fmt.Sprintf("%.1f s", r.Settle)
				}
				fig := fmt.Sprintf("settled %s after the drop; %d of %d rows delivered; %d of %d requests 429 (%.1f%%); %.1f s",
					settle, r.Delivered, r.Read, r.Limited, r.Requests, 100*r.share429(), r.Elapsed)
				return fig, okRun(r) && r.Settle >= 0 && r.Settle <= 3
			},
		},
		{
			name: "capacity16", rows: 300_000, faults: emulator.Faults{Latency: 500 * ms, Capacity: 16},
			target: ">= 0.85 x 32 requests/s",
			judge: func(r result, _ *result) (string, bool) {
				rps := float64(r.Batches) / r.Elapsed
				return fmt.Sprintf("%.1f requests/s = %.3f x 32 (%.2f s)", rps, rps/32, r.Elapsed), okRun(r) && rps >= 0.85*32
			},
		},
		{
			name: "latency200-100k", rows: 100_000, faults: emulator.Faults{Latency: 200 * ms},
			target: "at least today's figure at --workers 32",
			judge: func(r result, base *result) (string, bool) {
				fig := fmt.Sprintf("%.2f s = %.3f x ceil(batches/32) x 0.2 s", r.Elapsed, r.ratio())
				return vsBase(fig, okRun(r), r, base, func(r, b result) bool { return r.Elapsed <= b.Elapsed*1.02 })
			},
		},
		{
			name: "latency200-1m", rows: 1_000_000, faults: emulator.Faults{Latency: 200 * ms},
			target: "at least today's figure at --workers 32",
			judge: func(r result, base *result) (string, bool) {
				fig := fmt.Sprintf("%.2f s = %.3f x ceil(batches/32) x 0.2 s", r.Elapsed, r.ratio())
				return vsBase(fig, okRun(r), r, base, func(r, b result) bool { return r.Elapsed <= b.Elapsed*1.02 })
			},
		},
		{
			name: "zero-latency", rows: 1_000_000,
			target: "no regression from today's rows/s (judged on CPU seconds: rows/s move by a fifth with the VM's neighbours)",
			judge: func(r result, base *result) (string, bool) {
				fig := fmt.Sprintf("%.0f rows/s (%.2f s), %.2f CPU s", float64(r.Read)/r.Elapsed, r.Elapsed, r.CPU)
				if base != nil {
					fig += fmt.Sprintf("; baseline %.0f rows/s, %.2f CPU s (%s)", float64(base.Read)/base.Elapsed, base.CPU, base.Flags)
					return fig, okRun(r) && r.CPU <= base.CPU*1.10
				}
				return fig + " (no baseline)", okRun(r)
			},
		},
	}
}

// idealFor returns a row's ideal seconds for its batches, 0 if none.
func idealFor(name string, batches int64) float64 {
	switch name {
	case "rate25", "rate25-no-retry-after":
		return rateIdeal(25, 5)(batches)
	case "capacity16":
		return float64(batches) / 32
	case "latency200-100k", "latency200-1m":
		return math.Ceil(float64(batches)/32) * 0.2
	}
	return 0
}

// settleTime returns how long after the step the run settled: the first
// half-second s from which, until a second before the end, at most 5% of
// the requests were answered 429 and no 2 s held more than three of them.
// It returns -1 if the run never settled, or ends within 5 s of the step.
func settleTime(samples []sample, step time.Duration) float64 {
	if len(samples) == 0 {
		return -1
	}
	end := samples[len(samples)-1].at - time.Second
	if end < step+5*time.Second {
		return -1
	}
	at := func(t time.Duration) sample { // the last sample at or before t
		s := samples[0]
		for _, x := range samples {
			if x.at > t {
				break
			}
			s = x
		}
		return s
	}
	for s := step; s+2*time.Second <= end; s += 500 * ms {
		a, b := at(s), at(end)
		if req := b.requests - a.requests; req > 0 && float64(b.limited-a.limited) > 0.05*float64(req) {
			continue
		}
		ok := true
		for w := s; w+2*time.Second <= end; w += 500 * ms {
			if at(w+2*time.Second).limited-at(w).limited > 3 {
				ok = false
				break
			}
		}
		if ok {
			return (s - step).Seconds()
		}
	}
	return -1
}
