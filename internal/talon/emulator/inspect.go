package emulator

import (
	"encoding/json"
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
	default:
		inspectAnswer(w, notFound(r.URL.Path))
		return
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
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
