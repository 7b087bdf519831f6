package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
)

// peakRSS returns the process's peak resident set size in bytes (VmHWM of
// /proc/self/status), or 0 where that is not available. getrusage is no
// substitute: on Linux a child started with vfork, as Go starts them,
// inherits its parent's high-water mark in ru_maxrss.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("VmHWM:")) {
			continue
		}
		f := bytes.Fields(line[len("VmHWM:"):])
		if len(f) == 2 && string(f[1]) == "kB" {
			kb, err := strconv.ParseInt(string(f[0]), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
