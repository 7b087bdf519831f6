package emulator

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// statusClientGone is recorded in Stats.Requests when the client went away
// while its request waited out the injected latency (nginx's convention).
const statusClientGone = 499

// apiError is an error answer in the API's documented shape.
type apiError struct {
	status     int
	allow      string     // Allow header for 405
	Message    string     `json:"message"`
	Errors     []errEntry `json:"errors"`
	StatusCode int        `json:"StatusCode,omitempty"`
}

// errEntry is one element of an error answer's "errors".
type errEntry struct {
	Title   string  `json:"title"`
	Details string  `json:"details"`
	Source  *source `json:"source,omitempty"`
}

// source names what an errEntry is about: one of its fields is set.
type source struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
}

func entry(title, details string, src source) errEntry {
	e := errEntry{Title: title, Details: details}
	if src != (source{}) {
		e.Source = &src
	}
	return e
}

// ptrEntry is an errEntry whose source is a JSON pointer into the body.
func ptrEntry(title, details, pointer string) errEntry {
	return entry(title, details, source{Pointer: pointer})
}

// newError builds an error answer. 401 and 404 answers carry StatusCode, as
// the real API's do.
func newError(status int, msg string, entries ...errEntry) *apiError {
	e := &apiError{status: status, Message: msg, Errors: entries}
	if e.Errors == nil {
		e.Errors = []errEntry{}
	}
	if status == http.StatusUnauthorized || status == http.StatusNotFound {
		e.StatusCode = status
	}
	return e
}

// badRequest is the 400 answer listing every offending item.
func badRequest(entries []errEntry) *apiError {
	return newError(http.StatusBadRequest, "invalid request: "+strconv.Itoa(len(entries))+" error(s), nothing was applied", entries...)
}

// write sends an answer and records its status. A nil body sends no body.
func (s *Server) write(w http.ResponseWriter, status int, body []byte) {
	s.stats.record(status)
	if body != nil {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	if body != nil {
		_, _ = w.Write(body)
	}
}

// writeError sends e at once.
func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	if e.allow != "" {
		w.Header().Set("Allow", e.allow)
	}
	b, _ := json.Marshal(e)
	s.write(w, e.status, b)
}

// fail sends e after the injected latency, which applies to every API
// request.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, e *apiError) {
	if !sleep(r.Context(), s.faults.delay()) {
		s.stats.record(statusClientGone)
		return
	}
	s.writeError(w, e)
}

// job is a validated request ready to be applied.
type job struct {
	items   int
	keys    []lockKey
	idemKey string // Idempotency-Key to remember the answer under, or ""
	// apply runs with s.mu held. It either applies the whole request and
	// returns the answer, or applies nothing and returns an error.
	apply func() (status int, body []byte, aerr *apiError)
}

// run takes a validated request through the conflict check, latency, faults
// and apply, and answers it.
//
// The keys are registered before the latency so that two concurrent
// requests for one key collide even when the first one is sleeping. They
// are released once the request is applied (or rejected) but before any
// byte of the answer is written: a client that reacts to the answer must
// never see a 409 caused by its own finished request.
func (s *Server) run(w http.ResponseWriter, r *http.Request, j job) {
	if key, ok := s.inflight.acquire(j.keys); !ok {
		s.stats.conflicts.Add(1)
		s.writeError(w, newError(http.StatusConflict, "concurrent modification: another request is changing the same entity",
			entry("conflict", "key "+strconv.Quote(key.String())+" is in flight in another request; retry later", source{})))
		return
	}
	released := false
	release := func() {
		if !released {
			released = true
			s.inflight.release(j.keys)
		}
	}
	defer release()

	plan := s.faults.plan()
	if !sleep(r.Context(), plan.delay) {
		release()
		s.stats.record(statusClientGone)
		return
	}
	if plan.status != 0 {
		release()
		s.writeFault(w, plan)
		return
	}
	if s.hookBeforeApply != nil {
		s.hookBeforeApply()
	}
	s.mu.Lock()
	status, body, aerr := j.apply()
	s.mu.Unlock()
	release()
	if aerr != nil {
		s.writeError(w, aerr)
		return
	}
	s.stats.applied.Add(int64(j.items))
	if j.idemKey != "" {
		s.idem.put(j.idemKey, storedAnswer{status: status, body: body})
	}
	if plan.cut {
		s.cut(w)
		return
	}
	s.write(w, status, body)
}

// writeFault answers with an injected 429 or 5xx.
func (s *Server) writeFault(w http.ResponseWriter, plan faultPlan) {
	e := newError(plan.status, "emulated fault: "+http.StatusText(plan.status),
		entry(http.StatusText(plan.status), "injected by the emulator; the request was not applied", source{}))
	if plan.status == http.StatusTooManyRequests && plan.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(plan.retryAfter))
	}
	s.writeError(w, e)
}

// rateLimited answers 429 for the rate limit, at once.
func (s *Server) rateLimited(w http.ResponseWriter, retryAfter int) {
	s.stats.rateLimited.Add(1)
	if !s.faults.noRetryAfter() {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	s.writeError(w, newError(http.StatusTooManyRequests, "rate limit exceeded",
		entry("too many requests", "the emulator's rate limit is exceeded; the request was not applied", source{})))
}

// cut closes the connection without answering. It hijacks the connection
// where it can (HTTP/1.x); elsewhere it aborts the handler, which makes
// net/http drop the connection or reset the stream.
func (s *Server) cut(w http.ResponseWriter) {
	s.stats.cuts.Add(1)
	s.stats.record(0)
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
