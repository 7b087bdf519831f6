//go:build race

package talon_test

// raceEnabled: the race detector's instrumentation adds allocations that
// allocation counts must not be held to.
const raceEnabled = true
