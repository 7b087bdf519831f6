package main

import (
	"os"
	"os/signal"
	"syscall"
)

func notifySignals() <-chan os.Signal {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	return ch
}

// watchSignals turns the first signal into a graceful stop (closing stop)
// and the second into an immediate exit. The checkpoint stays valid either
// way, because it is only ever replaced by an atomic rename. The goroutine
// ends when done is closed.
func watchSignals(sigs <-chan os.Signal, stop chan<- struct{}, done <-chan struct{}, onFirst func(os.Signal), exit func(code int)) {
	if sigs == nil {
		return
	}
	go func() {
		select {
		case s := <-sigs:
			onFirst(s)
			close(stop)
		case <-done:
			return
		}
		select {
		case <-sigs:
			exit(exitInterrupted)
		case <-done:
		}
	}()
}
