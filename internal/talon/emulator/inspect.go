package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// serveInspect serves the /emulator/ endpoints. They need no auth, get no
// faults and are not counted in Stats.
func (s *Server) serveInspect(w http.ResponseWriter, r *http.Request) {
	var method string
	switch r.URL.Path {
	case "/emulator/state", "/emulator/stats":
		method = http.MethodGet
	case "/emulator/reset", "/emulator/save":
		method = http.MethodPost
	case "/emulator/schema":
		method = http.MethodGet
		if r.Method == http.MethodPut {
			method = http.MethodPut
		}
	default:
		inspectAnswer(w, notFound(r.URL.Path))
		return
	}
	if r.Method != method {
		allow := method
		if r.URL.Path == "/emulator/schema" {
			allow = "GET, PUT"
		}
		w.Header().Set("Allow", allow)
		inspectAnswer(w, newError(http.StatusMethodNotAllowed, "method not allowed",
			entry("method not allowed", r.Method+" "+r.URL.Path+" is not allowed; use "+method, source{})))
		return
	}
	switch r.URL.Path {
	case "/emulator/state":
		// Compact, like the state file: stored attribute values are compact
		// and re-indenting them would change them.
		inspectJSON(w, s.State(), false)
	case "/emulator/stats":
		inspectJSON(w, s.Stats(), true)
	case "/emulator/reset":
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case "/emulator/schema":
		if r.Method == http.MethodPut {
			s.putSchema(w, r)
			return
		}
		inspectJSON(w, s.currentSchema(), true)
	case "/emulator/save":
		if s.opts.StateFile == "" {
			inspectAnswer(w, newError(http.StatusConflict, "no state file configured",
				entry("no state file", "start the emulator with a state file to save", source{})))
			return
		}
		if err := s.save(s.opts.StateFile); err != nil {
			inspectAnswer(w, newError(http.StatusInternalServerError, "save failed", entry("save failed", err.Error(), source{})))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// putSchema replaces the schema with the request's body, a Schema in the
// shape of the --schema file.
func (s *Server) putSchema(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil {
		inspectAnswer(w, newError(http.StatusBadRequest, "invalid schema", entry("invalid schema", err.Error(), source{})))
		return
	}
	var sc Schema
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err = dec.Decode(&sc)
	if err == nil {
		err = s.SetSchema(sc)
	}
	if err != nil {
		inspectAnswer(w, newError(http.StatusBadRequest, "invalid schema", entry("invalid schema", err.Error(), source{})))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func inspectJSON(w http.ResponseWriter, v any, indent bool) {
	b, err := json.Marshal(v)
	if indent {
		b, err = json.MarshalIndent(v, "", "  ")
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}

func inspectAnswer(w http.ResponseWriter, e *apiError) {
	b, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}
