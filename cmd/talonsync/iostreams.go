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
	// ErrWidth returns the terminal's width in columns, or 0 when unknown.
	ErrWidth func() int
}

// SystemIO returns the real standard streams.
func SystemIO() *IOStreams {
	fd := int(os.Stderr.Fd())
	return &IOStreams{
		In:     os.Stdin,
		Out:    os.Stdout,
		ErrOut: os.Stderr,
		ErrTTY: term.IsTerminal(fd),
		ErrWidth: func() int {
			w, _, err := term.GetSize(fd)
			if err != nil {
				return 0
			}
			return w
		},
	}
}

// TestIO returns streams backed by buffers, for tests, with stdin holding
// stdin.
func TestIO(stdin string) (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &IOStreams{In: bytes.NewBufferString(stdin), Out: &out, ErrOut: &errOut}, &out, &errOut
}

// width is the terminal width of ErrOut, or 0.
func (s *IOStreams) width() int {
	if s.ErrWidth == nil {
		return 0
	}
	return s.ErrWidth()
}
