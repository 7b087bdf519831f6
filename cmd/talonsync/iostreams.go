package main

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are the process's standard streams. Results go to Out; progress,
// logs and the summary go to ErrOut.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// ErrTTY reports whether ErrOut is a terminal (a progress bar is drawn only then).
	ErrTTY bool
	// Signals delivers SIGINT and SIGTERM; nil in tests that send none.
	Signals <-chan os.Signal
}

// SystemIO returns the real standard streams.
func SystemIO() *IOStreams {
	return &IOStreams{
		In:      os.Stdin,
		Out:     os.Stdout,
		ErrOut:  os.Stderr,
		ErrTTY:  term.IsTerminal(int(os.Stderr.Fd())),
		Signals: notifySignals(),
	}
}

// TestIO returns streams backed by buffers, for tests.
func TestIO(stdin string) (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &IOStreams{In: bytes.NewBufferString(stdin), Out: &out, ErrOut: &errOut}, &out, &errOut
}
