package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestIdeal(t *testing.T) {
	assert.InDelta(t, 4.6, idealFor("rate25", 120), 1e-9)
	assert.InDelta(t, 0.8, idealFor("latency200-100k", 100), 1e-9)
	assert.InDelta(t, 6.4, idealFor("latency200-1m", 1000), 1e-9)
	assert.InDelta(t, 300.0/32, idealFor("capacity16", 300), 1e-9)
	assert.Zero(t, idealFor("zero-latency", 1000))
}

// samplesOf builds samples every 100 ms for 30 s, 10 requests a second,
// with 429s at the given seconds.
func samplesOf(throttledAt ...float64) []sample {
	var s []sample
	var req, lim int64
	for i := 0; i <= 300; i++ {
		at := time.Duration(i) * 100 * time.Millisecond
		req++
		for _, x := range throttledAt {
			if time.Duration(x*float64(time.Second)) == at {
				lim++
			}
		}
		s = append(s, sample{at: at, requests: req, limited: lim})
	}
	return s
}

func TestSettleTime(t *testing.T) {
	step := 10 * time.Second
	for _, tc := range []struct {
		name string
		at   []float64
		want float64
	}{
		{"no 429s", nil, 0},
		{"a burst of 429s right after the drop", []float64{10.1, 10.2, 10.3, 10.4, 10.5, 11, 11.5, 12}, 0.5},
		{"bursts until 16.6 s after the drop", []float64{11, 11.5, 12, 13, 13.5, 14, 15, 15.2, 15.4, 15.6, 20, 20.2, 20.4, 20.6, 26, 26.2, 26.4, 26.6}, 16.5},
		{"bursts to the end", []float64{12, 12.2, 12.4, 12.6, 18, 18.2, 18.4, 18.6, 26, 26.2, 26.4, 26.6, 28.1, 28.2, 28.3, 28.4}, -1},
		{"more than 5% of the requests to the end", []float64{12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 28.5}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, settleTime(samplesOf(tc.at...), step))
		})
	}
	assert.Equal(t, -1.0, settleTime(samplesOf()[:120], step), "a run that ends soon after the step never settled")
}
