package talon

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Class says what a caller should do about a failed request.
type Class int

const (
	// ClassRetryable: the request may succeed later unchanged (429, 409, 408,
	// 5xx, transport failures). Wait and send it again.
	ClassRetryable Class = iota + 1
	// ClassFatal: no request will succeed until the configuration changes
	// (401, 403, 404, a cancelled context, an invalid batch). Stop the run.
	ClassFatal
	// ClassItem: the content of the request was refused (400 and other 4xx).
	// Reject the items its pointers name, or split the batch, and go on.
	ClassItem
)

// String returns "retryable", "fatal", "item", or "unknown".
func (c Class) String() string {
	switch c {
	case ClassRetryable:
		return "retryable"
	case ClassFatal:
		return "fatal"
	case ClassItem:
		return "item"
	}
	return "unknown"
}

// ErrInsecureURL is returned by New for an http:// base URL whose host is not
// a loopback address, unless Config.AllowInsecureHTTP is set.
var ErrInsecureURL = errors.New("talon: plain http to a non-loopback host; use https or set AllowInsecureHTTP")

// ErrInvalidBatch is returned by Send, before any request is made, for a batch
// the API would refuse as a whole: an unknown endpoint, no items or more than
// MaxItems, an empty item, a catalog batch without a catalog ID or with more
// than one action type. ClassOf reports it as fatal: it is a program error.
var ErrInvalidBatch = errors.New("talon: invalid batch")

// ErrorDetail is one element of an error answer's "errors" array.
type ErrorDetail struct {
	Title     string
	Details   string
	Pointer   string // source.pointer, e.g. "/customerProfiles/3/attributes/Age"
	Parameter string // source.parameter
	// Index is the index of the request item that Pointer names, or -1 when
	// it names none (no pointer, an unparsable one, or one past the batch).
	Index int
	// Field is the rest of the pointer after the index, e.g. "attributes/Age".
	Field string
}

// APIError is a non-2xx answer of the API. Its strings come from the answer's
// body, bounded in size and with the API key scrubbed out.
type APIError struct {
	Endpoint Endpoint
	Status   int
	// Message is the answer's "message", or a lower-case status text when the
	// body has none; for a body that is not JSON, its first bytes.
	Message string
	// Details are the answer's "errors", at most MaxItems of them.
	Details []ErrorDetail
	// RetryAfter is the wait the Retry-After header asks for, capped at
	// 24 h; 0 when the header is absent or unparsable.
	RetryAfter time.Duration
	Class      Class
}

// Error returns a lower-case one-line summary such as
// `syncCatalog: 400 bad request: <message> (items 3, 7)`.
func (e *APIError) Error() string {
	var b strings.Builder
	st := statusText(e.Status)
	b.WriteString(e.Endpoint.String())
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.Status))
	b.WriteByte(' ')
	b.WriteString(st)
	if e.Message != "" && e.Message != st {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	idx := e.itemIndexes()
	switch {
	case len(idx) == 1:
		b.WriteString(" (item " + strconv.Itoa(idx[0]) + ")")
	case len(idx) > 1:
		b.WriteString(" (items ")
		for i, n := range idx {
			if i == maxListed {
				b.WriteString(", … " + strconv.Itoa(len(idx)-maxListed) + " more")
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Itoa(n))
		}
		b.WriteByte(')')
	default:
		// Without pointers the first detail is often the only useful words.
		for _, d := range e.Details {
			if t := firstNonEmpty(d.Details, d.Title); t != "" && t != e.Message {
				b.WriteString(": ")
				b.WriteString(t)
				break
			}
		}
	}
	return b.String()
}

// maxListed bounds the item indexes Error spells out.
const maxListed = 10

// itemIndexes returns the sorted, unique indexes of the request items the
// error's pointers name; nil if none.
func (e *APIError) itemIndexes() []int {
	var idx []int
	for _, d := range e.Details {
		if d.Index >= 0 {
			idx = append(idx, d.Index)
		}
	}
	slices.Sort(idx)
	return slices.Compact(idx)
}

// TransportError is a request that got no HTTP answer: a refused or reset
// connection, a timeout of the HTTP client, a connection closed before the
// answer. ClassOf reports it as retryable. Err is the error from net/http.
type TransportError struct {
	Endpoint Endpoint
	// Host is the scheme and host of the base URL, e.g. https://acme.talon.one.
	Host string
	Err  error
}

// Error returns "<endpoint>: send: <cause>".
func (e *TransportError) Error() string {
	cause := "unknown error"
	if ue, ok := e.Err.(*url.Error); ok && ue.Err != nil {
		cause = ue.Err.Error()
	} else if e.Err != nil {
		cause = e.Err.Error()
	}
	return e.Endpoint.String() + ": send: " + cause
}

// Unwrap returns Err.
func (e *TransportError) Unwrap() error { return e.Err }

// ClassOf classifies an error returned by this package: an *APIError has its
// Class, a request that got no answer is retryable, and anything else (the
// caller's context ending, an invalid batch) is fatal. ClassOf(nil) is 0.
// Callers that may have cancelled their context check ctx.Err() first.
func ClassOf(err error) Class {
	if err == nil {
		return 0
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Class
	}
	var te *TransportError
	if errors.As(err, &te) {
		return ClassRetryable
	}
	return ClassFatal
}

// classify maps an HTTP status to a Class.
func classify(status int) Class {
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusConflict,
		status == http.StatusRequestTimeout, status >= 500 && status < 600:
		return ClassRetryable
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound:
		return ClassFatal
	case status >= 400 && status < 500:
		return ClassItem
	}
	// 1xx and 3xx (too many redirects) cannot succeed as configured.
	return ClassFatal
}

func statusText(status int) string {
	if t := http.StatusText(status); t != "" {
		return strings.ToLower(t)
	}
	return "status"
}

// Bounds on the strings copied out of an error body.
const (
	maxMessage = 512
	maxField   = 256
)

// maxRetryAfter caps Retry-After, which a broken server could set to years.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After value: delta-seconds or an HTTP-date,
// measured from now. It returns 0 for an absent, past or unparsable value.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

type wireError struct {
	Message json.RawMessage `json:"message"`
	Errors  []struct {
		Title   json.RawMessage `json:"title"`
		Details json.RawMessage `json:"details"`
		Source  struct {
			Pointer   json.RawMessage `json:"pointer"`
			Parameter json.RawMessage `json:"parameter"`
		} `json:"source"`
	} `json:"errors"`
}

// fillFromBody sets e.Message and e.Details from an error body. n is the
// number of items in the request, to drop pointers past its end.
func (e *APIError) fillFromBody(body []byte, n int, key Secret) {
	var w wireError
	if err := json.Unmarshal(body, &w); err != nil {
		// Not JSON, or cut off by the size bound: keep the first words.
		e.Message = scrub(strings.Join(strings.Fields(string(body[:min(len(body), 4*maxMessage)])), " "), key, maxMessage)
	} else {
		e.Message = scrub(rawString(w.Message), key, maxMessage)
		for i := range w.Errors[:min(len(w.Errors), MaxItems)] {
			we := &w.Errors[i]
			d := ErrorDetail{
				Title:     scrub(rawString(we.Title), key, maxMessage),
				Details:   scrub(rawString(we.Details), key, maxMessage),
				Pointer:   scrub(rawString(we.Source.Pointer), key, maxField),
				Parameter: scrub(rawString(we.Source.Parameter), key, maxField),
			}
			d.Index, d.Field = parsePointer(d.Pointer, n)
			e.Details = append(e.Details, d)
		}
	}
	if e.Message == "" {
		e.Message = statusText(e.Status)
	}
}

// rawString returns a JSON string's value, or the raw text of any other value.
func rawString(r json.RawMessage) string {
	if len(r) == 0 || string(r) == "null" {
		return ""
	}
	var s string
	if r[0] == '"' && json.Unmarshal(r, &s) == nil {
		return strings.TrimSpace(s)
	}
	return string(r)
}

// parsePointer finds the item index in a JSON pointer such as
// "/actions/3/payload/sku" or "/3/sku" and returns it with the rest of the
// pointer ("payload/sku"). It returns -1 and "" when the pointer names no item
// of a request of n items.
func parsePointer(p string, n int) (int, string) {
	segs := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
	for i := 0; i < len(segs) && i < 2; i++ {
		idx, ok := parseIndex(segs[i])
		if !ok {
			continue
		}
		if idx >= n {
			return -1, ""
		}
		return idx, strings.Join(segs[i+1:], "/")
	}
	return -1, ""
}

// parseIndex accepts a JSON pointer array index: decimal digits, no sign, no
// leading zero, small enough to be an item index.
func parseIndex(s string) (int, bool) {
	if s == "" || len(s) > 6 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
