package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNotReject marks a line of a rejects file that is not a reject.
var ErrNotReject = errors.New("not a reject")

// ParseReject decodes one line of a rejects file, as Write writes it. The
// line must be a JSON object with "line" (an integer, 0 or more) and
// "error" (a string); "source", when present, must be SourceInput or
// SourceAPI. Fields it does not know are ignored, so that a file a later
// version wrote still reads. Errors wrap ErrNotReject.
func ParseReject(b []byte) (Reject, error) {
	var aux struct {
		Line   *int64          `json:"line"`
		Error  *string         `json:"error"`
		Record json.RawMessage `json:"record"`
		Source string          `json:"source"`
		Origin
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return Reject{}, fmt.Errorf("%w: %w", ErrNotReject, err)
	}
	switch {
	case aux.Line == nil:
		return Reject{}, fmt.Errorf("%w: no \"line\"", ErrNotReject)
	case *aux.Line < 0:
		return Reject{}, fmt.Errorf("%w: \"line\" %d is negative", ErrNotReject, *aux.Line)
	case aux.Error == nil:
		return Reject{}, fmt.Errorf("%w: no \"error\"", ErrNotReject)
	}
	switch aux.Source {
	case "", SourceInput, SourceAPI:
	default:
		return Reject{}, fmt.Errorf("%w: \"source\" %q is neither %q nor %q", ErrNotReject, aux.Source, SourceAPI, SourceInput)
	}
	if bytes.Equal(bytes.TrimSpace(aux.Record), []byte("null")) {
		aux.Record = nil
	}
	return Reject{Line: *aux.Line, Error: *aux.Error, Record: aux.Record, Source: aux.Source, Origin: aux.Origin}, nil
}
