package spectest

import (
	"context"
	"net/http"
	"sync"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// FromRecord turns a request the emulator recorded into a Request. The
// record holds no key, so Authorization is rebuilt from its scheme with a
// placeholder key; a request that had none still has none.
func FromRecord(rec emulator.RequestRecord) Request {
	h := rec.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if rec.AuthScheme != "" {
		h.Set("Authorization", rec.AuthScheme+" redacted")
	}
	return Request{Method: rec.Method, Path: rec.Path, RawQuery: rec.RawQuery, Header: h, Body: rec.Body}
}

// Recorder collects the requests an emulator receives: pass its Record
// method as emulator.Options.OnRequest. It is safe for concurrent use.
type Recorder struct {
	mu   sync.Mutex
	recs []emulator.RequestRecord
}

// Record keeps rec.
func (r *Recorder) Record(rec emulator.RequestRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
}

// Records returns a copy of the records so far, in arrival order.
func (r *Recorder) Records() []emulator.RequestRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]emulator.RequestRecord(nil), r.recs...)
}

// Failure is a recorded request that does not conform.
type Failure struct {
	Record emulator.RequestRecord
	Err    *Error
}

// Check validates every recorded request against s and returns those that
// do not conform, in arrival order. A request whose body did not arrive
// whole (its client was killed mid-send) is not the client's choice of
// body, so it is skipped.
func (r *Recorder) Check(ctx context.Context, s *Spec) []Failure {
	var out []Failure
	for _, rec := range r.Records() {
		if rec.BodyErr != nil {
			continue
		}
		if err := s.Validate(ctx, FromRecord(rec)); err != nil {
			out = append(out, Failure{Record: rec, Err: err.(*Error)})
		}
	}
	return out
}
