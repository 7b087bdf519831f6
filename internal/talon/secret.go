package talon

import (
	"fmt"
	"io"
	"strings"
)

// redacted is what every printed form of a Secret shows.
const redacted = "[redacted]"

// Secret holds an API key. Its String, GoString, Format and MarshalJSON
// methods print "[redacted]", so a Secret inside a Config, a log line or a
// JSON dump never shows the key. Only the Client reads it, to build the
// Authorization header.
type Secret string

// reveal returns the key itself. Call it only to build a request header.
func (s Secret) reveal() string { return string(s) }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]", so %#v does not show the key either.
func (s Secret) GoString() string { return redacted }

// Format writes "[redacted]" for every verb, including %x and %q, which would
// otherwise print the underlying string.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalJSON returns the JSON string "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// minPartialKey is the shortest tail of a cut-off key that scrub removes: a
// shorter match is more likely ordinary text than a leaked key.
const minPartialKey = 4

// scrub replaces every occurrence of key in s with "[redacted]", cuts s to at
// most limit bytes (on a rune boundary, marking the cut with "…"), and removes
// a trailing fragment of the key left by a cut, ours or the server's.
func scrub(s string, key Secret, limit int) string {
	k := string(key)
	if k != "" && strings.Contains(s, k) {
		s = strings.ReplaceAll(s, k, redacted)
	}
	cut := false
	if limit > 0 && len(s) > limit {
		n := limit
		for n > 0 && !isRuneStart(s[n]) {
			n--
		}
		s, cut = s[:n], true
	}
	for l := min(len(k)-1, len(s)); l >= minPartialKey; l-- {
		if strings.HasSuffix(s, k[:l]) {
			s = s[:len(s)-l] + redacted
			break
		}
	}
	if cut {
		s += "…"
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// redactedError replaces the text of an error that contained the key. Unwrap
// keeps errors.Is and errors.As working on the original chain.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// scrubErr returns err unchanged unless its text holds the key.
func scrubErr(err error, key Secret) error {
	if err == nil || key == "" {
		return err
	}
	msg := err.Error()
	if !strings.Contains(msg, string(key)) {
		return err
	}
	return &redactedError{msg: scrub(msg, key, 0), err: err}
}
