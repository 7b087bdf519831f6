package emulator

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/talonsync/talonsync/internal/talon"
)

// DefaultAPIKey is the API key New uses when Options.APIKey is empty.
const DefaultAPIKey = "emulator-key"

// maxBodyBytes bounds a request body outside discard mode. 1000 items of a
// few KiB each stay far below it.
const maxBodyBytes = 64 << 20

// shutdownTimeout bounds how long Close and Serve wait for handlers.
const shutdownTimeout = 10 * time.Second

// Options configures a Server. The zero value is usable: New fills in the
// defaults documented on each field.
type Options struct {
	// APIKey is the key every API request must carry as
	// "Authorization: ApiKey-v1 <APIKey>". Default "emulator-key".
	APIKey string
	// Catalogs are the known catalog IDs. Default [1]. Catalogs found in a
	// loaded StateFile are known too.
	Catalogs []int64
	// Audiences are the known audience IDs. Default [1, 2, 3]. Audiences
	// found in a loaded StateFile are known too.
	Audiences []int64
	// Schema, when set for an entity, restricts attribute names and types;
	// SetSchema changes it later.
	Schema Schema
	// Faults are the injected faults; SetFaults changes them later.
	Faults Faults
	// Seed seeds the fault and jitter RNG; 0 means a time-based seed.
	Seed int64
	// Discard turns the server into a cheap sink for benchmarks: it checks
	// auth and the item count, applies faults, and keeps no state, no
	// history and no conflict tracking.
	Discard bool
	// History keeps, per entity key, the ordered JSON of applied items;
	// read it with Server.History.
	History bool
	// StateFile, when set, is loaded by New if it exists and saved
	// atomically (mode 0600) by Close, by Serve on shutdown and by
	// POST /emulator/save.
	StateFile string
	// OnRequest, when set, is called with every API request (not the
	// /emulator/ endpoints) as soon as its body is read, before it is
	// checked or answered, whatever the answer will be. It runs on the
	// request's goroutine, so it must be safe for concurrent use, and the
	// request waits for it. The record is the callee's to keep.
	OnRequest func(RequestRecord)
}

// Server is the emulator. It is an http.Handler and is safe for concurrent
// use. Create it with New (then serve it yourself or call Serve) or Start.
type Server struct {
	opts      Options
	auth      []byte         // the exact expected Authorization header value
	catalogs  map[int64]bool // known catalogs; read-only after New
	audiences map[int64]bool // known audiences; read-only after New
	created   time.Time      // reported as the catalogs' creation time
	inflight  inflight       // keys of requests between validation and apply
	idem      idempotencyCache
	stats     counters
	faults    faultState
	bucket    tokenBucket
	capacity  capacityGate
	// now is the rate limit's clock; tests replace it.
	now    func() time.Time
	schema atomic.Pointer[Schema] // the current Options.Schema; see SetSchema

	mu sync.Mutex // guards st
	st store

	// hookBeforeApply, when set by a test, runs while a request holds its
	// keys, just before it is applied; tests use it to hold requests in
	// flight without depending on timing.
	hookBeforeApply func()

	lmu      sync.Mutex // guards the fields below
	srv      *http.Server
	url      string
	done     chan struct{} // closed when the Start goroutine's Serve returns
	closed   bool
	closeErr error
}

// New validates opts, fills in defaults and loads Options.StateFile when it
// exists. The returned Server serves nothing until it is used as an
// http.Handler or Serve is called.
func New(opts Options) (*Server, error) {
	if opts.APIKey == "" {
		opts.APIKey = DefaultAPIKey
	}
	if strings.ContainsAny(opts.APIKey, " \t\r\n") {
		return nil, errors.New("emulator: api key contains white space")
	}
	if len(opts.Catalogs) == 0 {
		opts.Catalogs = []int64{1}
	}
	if len(opts.Audiences) == 0 {
		opts.Audiences = []int64{1, 2, 3}
	}
	s := &Server{
		opts:      opts,
		auth:      []byte("ApiKey-v1 " + opts.APIKey),
		catalogs:  make(map[int64]bool),
		audiences: make(map[int64]bool),
		created:   time.Now().UTC().Truncate(time.Second),
		inflight:  newInflight(),
		idem:      newIdempotencyCache(idempotencyKeep),
		st:        newStore(),
		now:       time.Now,
	}
	for _, id := range opts.Catalogs {
		if id <= 0 {
			return nil, fmt.Errorf("emulator: catalog id %d is not positive", id)
		}
		s.catalogs[id] = true
	}
	for _, id := range opts.Audiences {
		if id <= 0 {
			return nil, fmt.Errorf("emulator: audience id %d is not positive", id)
		}
		s.audiences[id] = true
	}
	if err := s.SetSchema(opts.Schema); err != nil {
		return nil, err
	}
	if err := opts.Faults.validate(); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	s.faults.init(opts.Faults, opts.Seed)
	s.applyLimits(opts.Faults)
	s.stats.reset()
	if opts.StateFile != "" {
		if err := s.load(opts.StateFile); err != nil {
			return nil, fmt.Errorf("emulator: %w", err)
		}
	}
	return s, nil
}

// Start is New followed by listening on 127.0.0.1 on a free port and
// serving in a goroutine owned by the Server. Call Close to stop it.
func Start(opts Options) (*Server, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

// start listens on 127.0.0.1 on a free port and serves in a goroutine
// owned by the Server, until Close.
func (s *Server) start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("emulator: listen: %w", err)
	}
	srv := s.httpServer()
	s.lmu.Lock()
	s.srv, s.url, s.done = srv, urlOf(ln.Addr()), make(chan struct{})
	s.lmu.Unlock()
	go func() {
		defer close(s.done)
		_ = srv.Serve(ln) // always ErrServerClosed after Close
	}()
	return nil
}

// Serve listens on addr, calls ready with the base URL, and serves until
// ctx is done. It then shuts down gracefully, waiting for running handlers,
// and saves Options.StateFile if set. It returns nil on a clean shutdown.
// Serve is meant for the CLI; do not combine it with Start.
func (s *Server) Serve(ctx context.Context, addr string, ready func(url string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator: listen: %w", err)
	}
	srv := s.httpServer()
	s.lmu.Lock()
	s.srv, s.url = srv, urlOf(ln.Addr())
	s.lmu.Unlock()
	if ready != nil {
		ready(s.URL())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("emulator: serve: %w", err)
	case <-ctx.Done():
	}
	shutErr := shutdown(srv)
	<-errc
	return errors.Join(shutErr, s.saveIfSet())
}

// URL returns the base URL, "http://127.0.0.1:PORT", once Start or Serve
// listens; "" before.
func (s *Server) URL() string {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	return s.url
}

// Close stops the listener started by Start, waits for running handlers and
// saves Options.StateFile if set. It may be called on a Server that was
// never started (it then only saves). Later calls return the first result.
func (s *Server) Close() error {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if s.closed {
		return s.closeErr
	}
	s.closed = true
	var err error
	if s.srv != nil && s.done != nil {
		err = shutdown(s.srv)
		<-s.done
	}
	s.closeErr = errors.Join(err, s.saveIfSet())
	return s.closeErr
}

func (s *Server) httpServer() *http.Server {
	return &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
}

func shutdown(srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("emulator: shutdown: %w", err)
	}
	return nil
}

// urlOf turns a listener address into a URL a client on this host can use.
func urlOf(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// route is the API operation a request names.
type route struct {
	ep        talon.Endpoint
	catalogID int64
}

// ServeHTTP serves the three API endpoints and the /emulator/ inspection
// endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/emulator/") {
		s.serveInspect(w, r)
		return
	}
	if s.opts.OnRequest != nil {
		s.recordRequest(r)
	}
	s.stats.begin()
	defer s.stats.end()
	rt, aerr := parseRoute(r)
	if aerr != nil {
		s.writeError(w, aerr)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), s.auth) != 1 {
		s.fail(w, r, newError(http.StatusUnauthorized, "unauthorized",
			entry("invalid credentials", `expected header "Authorization: ApiKey-v1 <key>" with a valid key`, source{Parameter: "Authorization"})))
		return
	}
	if ok, retryAfter := s.bucket.take(s.now()); !ok {
		s.rateLimited(w, retryAfter)
		return
	}
	if s.capacity.limited() {
		// net/http notices a client that went away only once the body is
		// read to its end: read it before queueing, so a request whose
		// client gave up in the queue is dropped, not applied later (after
		// a newer request for the same key, perhaps).
		body, aerr := readBody(w, r)
		if aerr != nil {
			s.writeError(w, aerr)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if !s.capacity.enter(r.Context()) {
		s.stats.record(statusClientGone)
		return
	}
	defer s.capacity.leave()
	if rt.ep == talon.EndpointCatalog && !s.catalogs[rt.catalogID] {
		s.fail(w, r, newError(http.StatusNotFound, "catalog not found",
			entry("not found", "no catalog with id "+strconv.FormatInt(rt.catalogID, 10), source{Parameter: "catalogId"})))
		return
	}
	silent := true
	if rt.ep == talon.EndpointProfiles {
		switch v := r.URL.Query().Get("silent"); v {
		case "", "yes":
		case "no":
			silent = false
		default:
			s.fail(w, r, newError(http.StatusBadRequest, "invalid query parameter",
				entry("invalid value", `silent must be "yes" or "no", got `+strconv.Quote(v), source{Parameter: "silent"})))
			return
		}
	}
	if s.opts.Discard {
		s.serveDiscard(w, r, rt, silent)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch rt.ep {
	case talon.EndpointCatalog:
		s.serveCatalog(w, r, rt.catalogID, body)
	case talon.EndpointProfiles:
		s.serveProfiles(w, r, body, silent)
	case talon.EndpointAudiences:
		s.serveAudiences(w, r, body)
	}
}

// parseRoute maps method and path to an endpoint: 404 for an unknown path,
// 405 for a known path with the wrong method, 400 for a non-integer catalogId.
func parseRoute(r *http.Request) (route, *apiError) {
	p := r.URL.Path
	var rt route
	method := http.MethodPut
	switch {
	case p == "/v2/customer_profiles":
		rt.ep = talon.EndpointProfiles
	case p == "/v2/customer_audiences":
		rt.ep, method = talon.EndpointAudiences, http.MethodPost
	case strings.HasPrefix(p, "/v1/catalogs/") && strings.HasSuffix(p, "/sync"):
		idText := strings.TrimSuffix(strings.TrimPrefix(p, "/v1/catalogs/"), "/sync")
		if idText == "" || strings.Contains(idText, "/") {
			return rt, notFound(p)
		}
		id, err := strconv.ParseInt(idText, 10, 64)
		if err != nil || id <= 0 {
			return rt, newError(http.StatusBadRequest, "invalid path parameter",
				entry("invalid value", "catalogId must be a positive integer, got "+strconv.Quote(idText), source{Parameter: "catalogId"}))
		}
		rt.ep, rt.catalogID = talon.EndpointCatalog, id
	default:
		return rt, notFound(p)
	}
	if r.Method != method {
		e := newError(http.StatusMethodNotAllowed, "method not allowed",
			entry("method not allowed", r.Method+" "+p+" is not allowed; use "+method, source{}))
		e.allow = method
		return rt, e
	}
	return rt, nil
}

func notFound(p string) *apiError {
	return newError(http.StatusNotFound, "not found", entry("not found", "no endpoint at "+p, source{}))
}

// readBody reads the whole body, bounded by maxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, newError(http.StatusRequestEntityTooLarge, "request body too large",
				entry("too large", "the body exceeds "+strconv.Itoa(maxBodyBytes)+" bytes", source{}))
		}
		return nil, newError(http.StatusBadRequest, "cannot read request body", entry("unreadable body", err.Error(), source{}))
	}
	return b, nil
}
