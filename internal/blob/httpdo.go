package blob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// attempts is how many times a GCS or https request is sent at most.
const attempts = 3

// retryable reports whether an answer, or the lack of one, is worth another
// attempt: a 429, a 5xx, or a network error that is not the context's.
func retryable(ctx context.Context, resp *http.Response, err error) bool {
	if err != nil {
		return ctx.Err() == nil
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
}

// send sends the request that mk makes (mk is called again for each attempt,
// so that it can rewind a body), retrying as retryable says with a wait that
// starts at wait and doubles. The caller closes the response's body.
func send(ctx context.Context, c *http.Client, wait time.Duration, mk func() (*http.Request, error)) (*http.Response, error) {
	for i := 1; ; i++ {
		req, err := mk()
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if i == attempts || !retryable(ctx, resp, err) {
			return resp, err
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}

// statusError classifies an HTTP answer that is not a success. pinned says
// the request carried If-Match on a read, so that 412 means the object
// changed; msg is the server's short explanation, if any.
func statusError(op string, l Location, status int, msg string, pinned bool) error {
	var kind error
	switch status {
	case http.StatusNotFound, http.StatusGone:
		kind = ErrNotExist
		if l.Kind == GCS && strings.Contains(strings.ToLower(msg), "bucket") {
			kind = ErrNoBucket
		}
	case http.StatusUnauthorized, http.StatusForbidden:
		kind = ErrAccessDenied
	case http.StatusPreconditionFailed:
		kind = ErrPreconditionFailed
		if pinned {
			kind = ErrChanged
		}
	}
	detail := fmt.Sprintf("HTTP %d", status)
	if msg != "" {
		detail = msg + " (" + detail + ")"
	}
	return &Error{Op: op, Location: l.Redacted(), Kind: kind, Err: errors.New(detail)}
}

// errorMessage reads a short explanation from an error answer: a GCS JSON
// error's message, or the first line of a text body. It closes the body.
func errorMessage(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var j struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &j) == nil && j.Error.Message != "" {
		return j.Error.Message
	}
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 || strings.HasPrefix(s, "<") {
		return "" // an HTML page or a long body says nothing useful here
	}
	return s
}

func transportError(op string, l Location, err error) error {
	return &Error{Op: op, Location: l.Redacted(), Err: redactURLError(err, l)}
}

// redactURLError keeps a URL's query (a signature, a token) out of a
// *url.Error's message.
func redactURLError(err error, l Location) error {
	var ue *url.Error
	if l.Kind != HTTPS || !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: l.Redacted(), Err: ue.Err}
}

// strongETag returns an ETag usable with If-Match, or "" for a weak one.
func strongETag(h http.Header) Generation {
	e := h.Get("ETag")
	if e == "" || strings.HasPrefix(e, "W/") {
		return ""
	}
	return Generation(e)
}

// emptyAt returns a Reader at EOF for a read from offset off of an object
// whose size is a.Size, after a server refused the range (416).
func emptyAt(l Location, o OpenOptions, a Attrs) (*Reader, error) {
	if o.Version != "" && a.Version != "" && a.Version != o.Version {
		return nil, &Error{Op: "open", Location: l.Redacted(), Kind: ErrChanged}
	}
	if a.Size != o.Offset {
		return nil, &Error{Op: "open", Location: l.Redacted(), Err: fmt.Errorf("offset %d is past the end (%d bytes)", o.Offset, a.Size)}
	}
	return &Reader{body: emptyBody{}, loc: l, offset: o.Offset, size: a.Size, version: a.Version}, nil
}
