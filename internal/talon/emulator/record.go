package emulator

import (
	"bytes"
	"io"
	"net/http"
	"strings"
)

// RequestRecord is one API request as the emulator received it, for
// Options.OnRequest. It never holds the API key.
type RequestRecord struct {
	// Method, Path and RawQuery are the request line's parts.
	Method   string
	Path     string
	RawQuery string
	// Header is a copy of the request headers without Authorization.
	Header http.Header
	// AuthScheme is the first word of the Authorization header
	// ("ApiKey-v1"), "" when there was none. The key itself is not kept.
	AuthScheme string
	// Body is the whole body as received, at most maxBodyBytes+1 bytes.
	Body []byte
	// BodyErr is why the body could not be read whole, nil when it was:
	// for example the client went away mid-request (it was killed). Such
	// a request is answered with an error and changes nothing.
	BodyErr error
}

// recordRequest reads the body of an API request, hands a RequestRecord to
// Options.OnRequest, and gives the handler a body that reads the same bytes
// (and then the rest of the stream, so the handler's own size limit and
// error paths are unchanged).
func (s *Server) recordRequest(r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	rest := r.Body
	if err != nil {
		rest = io.NopCloser(errReader{err})
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), rest), r.Body}
	h := r.Header.Clone()
	scheme, _, _ := strings.Cut(h.Get("Authorization"), " ")
	h.Del("Authorization")
	s.opts.OnRequest(RequestRecord{
		Method:     r.Method,
		Path:       r.URL.Path,
		RawQuery:   r.URL.RawQuery,
		Header:     h,
		AuthScheme: scheme,
		Body:       body,
		BodyErr:    err,
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
