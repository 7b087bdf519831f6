package main

import (
	"bytes"
	"io"
	"sync"
)

// console is stderr shared by the log lines and the progress bar. While a
// bar is shown, a log line first clears the bar's line, and the bar is
// drawn again under it, so messages (a Ctrl-C notice, a warning) never
// land in the middle of a bar. Safe for concurrent use.
type console struct {
	mu    sync.Mutex
	w     io.Writer
	frame []byte // the bar's last frame, without its leading \r; nil when no bar is shown
}

func newConsole(w io.Writer) *console { return &console{w: w} }

// clearLine returns the cursor to the line's start and erases the line.
const clearLine = "\r\x1b[K"

// Write writes log lines, around the bar when one is shown.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frame == nil {
		return c.w.Write(p)
	}
	var b bytes.Buffer
	b.WriteString(clearLine)
	b.Write(p)
	b.WriteByte('\r')
	b.Write(c.frame)
	if _, err := c.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// draw shows frame, one line without a newline, in place of the last one.
func (c *console) draw(frame string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frame = append(c.frame[:0], frame...)
	io.WriteString(c.w, clearLine+frame)
}

// clear removes the bar; later writes go straight through.
func (c *console) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frame != nil {
		io.WriteString(c.w, clearLine)
	}
	c.frame = nil
}
