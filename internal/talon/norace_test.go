//go:build !race

package talon_test

const raceEnabled = false
