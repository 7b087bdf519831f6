package talon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Version is the talonsync version, used in the User-Agent "talonsync/<Version>".
var Version = "0.1.0"

// defaultMaxResponseBytes is the default of Config.MaxResponseBytes.
const defaultMaxResponseBytes = 1 << 20

// maxRedirects is how many redirects a request follows before its last
// 3xx answer is returned as an *APIError.
const maxRedirects = 5

// maxDrain bounds what is read and thrown away from an error body after
// MaxResponseBytes, to let the connection be reused; past it the connection
// is closed instead.
const maxDrain = 64 << 10

// Config configures a Client. Zero values get the defaults documented on
// each field.
type Config struct {
	// BaseURL is the deployment's URL, e.g.
	// https://acme.europe-west1.talon.one; a trailing slash is tolerated.
	BaseURL string
	// APIKey is the Integration API key of one Application.
	APIKey Secret
	// HTTPClient sends the requests. New copies it and replaces its
	// CheckRedirect with one that drops Authorization on a redirect to
	// another host or from https to http and stops after 5 redirects (the
	// original CheckRedirect, if any, still runs after it). nil means a
	// client with a 30 s overall timeout, 10 s dial and TLS handshake
	// timeouts and a 30 s response header timeout.
	HTTPClient *http.Client `json:"-"`
	// UserAgent defaults to "talonsync/" + Version.
	UserAgent string
	// AllowInsecureHTTP allows an http:// BaseURL to a non-loopback host.
	AllowInsecureHTTP bool
	// MaxResponseBytes bounds the bytes read of any response body; default
	// 1 MiB.
	MaxResponseBytes int64
	// Now is the clock used to read a Retry-After HTTP-date; default time.Now.
	Now func() time.Time `json:"-"`
}

// Client sends batches to the Integration API. It is safe for concurrent use
// by multiple goroutines; it holds no per-request state.
type Client struct {
	base    string // scheme://host[/path], no trailing slash
	host    string // scheme://host, for messages
	hc      *http.Client
	ua      []string
	maxBody int64
	now     func() time.Time
	// cred is a function because fmt prints a function as its address under
	// every verb, while it prints the strings of unexported fields, even
	// behind pointers, without calling their methods.
	cred func() credentials
}

type credentials struct {
	key  Secret
	auth []string // the Authorization header value
}

// Shared header values. net/http does not modify request headers, and a
// redirect copies them, so sharing the slices across requests is safe.
var (
	headerJSON = []string{"application/json"}
)

// New validates cfg and returns a Client. It refuses an empty key, a base
// URL that does not parse, has no host, holds credentials, a query or a
// fragment, or whose scheme is not http or https; and, with ErrInsecureURL,
// an http:// URL to a host that is not loopback (127.0.0.0/8, ::1,
// "localhost") unless AllowInsecureHTTP is set.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("talon: api key is empty")
	}
	u, err := url.Parse(strings.TrimSpace(cfg.BaseURL))
	if err != nil {
		return nil, fmt.Errorf("talon: base url: %w", scrubErr(err, cfg.APIKey))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("talon: base url scheme must be https or http")
	case u.Host == "" || u.Hostname() == "":
		return nil, errors.New("talon: base url has no host")
	case u.User != nil:
		return nil, errors.New("talon: base url must not hold credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, errors.New("talon: base url must not have a query or fragment")
	case u.Scheme == "http" && !cfg.AllowInsecureHTTP && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("%w: %s", ErrInsecureURL, scrub(u.Host, cfg.APIKey, maxField))
	}
	c := &Client{
		base:    strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"),
		host:    u.Scheme + "://" + u.Host,
		maxBody: cfg.MaxResponseBytes,
		now:     cfg.Now,
	}
	cred := credentials{key: cfg.APIKey, auth: []string{"ApiKey-v1 " + cfg.APIKey.reveal()}}
	c.cred = func() credentials { return cred }
	if c.maxBody <= 0 {
		c.maxBody = defaultMaxResponseBytes
	}
	if c.now == nil {
		c.now = time.Now
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "talonsync/" + Version
	}
	c.ua = []string{ua}
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		hc = defaultHTTPClient()
	}
	hc.CheckRedirect = redirectPolicy(hc.CheckRedirect)
	c.hc = &hc
	return c, nil
}

// defaultHTTPClient has bounded timeouts at every stage and keeps enough idle
// connections for a pool of workers talking to one host.
func defaultHTTPClient() http.Client {
	return http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			ExpectContinueTimeout: time.Second,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
		},
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redirectPolicy wraps next. net/http itself keeps Authorization on a
// redirect to another port of the same host name, so the origin check is ours.
func redirectPolicy(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return http.ErrUseLastResponse
		}
		// Once any hop left the origin, later hops stay stripped, even one
		// that comes back: the intermediate host chose where it goes.
		strip := !sameOrigin(via[0].URL, req.URL)
		for _, r := range via[1:] {
			strip = strip || !sameOrigin(via[0].URL, r.URL)
		}
		if strip {
			req.Header.Del("Authorization")
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

// sameOrigin reports whether to is the host and port of from, reached with
// the same scheme or upgraded from http to https.
func sameOrigin(from, to *url.URL) bool {
	if from.Scheme == "https" && to.Scheme != "https" {
		return false
	}
	return strings.EqualFold(from.Hostname(), to.Hostname()) && port(from) == port(to)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// Batch is one request's worth of items.
type Batch struct {
	Endpoint  Endpoint
	CatalogID int64  // EndpointCatalog only
	Items     []Item // 1..MaxItems, pre-encoded elements (Item.JSON)
	// Silent applies to EndpointProfiles only: nil or true sends
	// ?silent=yes (answer 204), false sends ?silent=no (answer 200 with the
	// profiles, which Send discards).
	Silent *bool
	// IdempotencyKey, for EndpointProfiles, is sent as the Idempotency-Key
	// header; "" sends the hex SHA-256 of the body. Give each logical request
	// its own key and reuse it only for retries of that request: the server
	// replays its stored answer, without applying anything, for a key it has
	// seen, so a later request with an equal body must not share the key.
	IdempotencyKey string
}

// path returns the request path of the batch: /v1/catalogs/{id}/sync,
// /v2/customer_profiles or /v2/customer_audiences; "" for an unknown endpoint.
func (b Batch) path() string {
	switch b.Endpoint {
	case EndpointCatalog:
		return "/v1/catalogs/" + strconv.FormatInt(b.CatalogID, 10) + "/sync"
	case EndpointProfiles:
		return "/v2/customer_profiles"
	case EndpointAudiences:
		return "/v2/customer_audiences"
	}
	return ""
}

func (b Batch) method() string {
	if b.Endpoint == EndpointAudiences {
		return http.MethodPost
	}
	return http.MethodPut
}

func (b Batch) query() string {
	if b.Endpoint != EndpointProfiles {
		return ""
	}
	if b.Silent != nil && !*b.Silent {
		return "?silent=no"
	}
	return "?silent=yes"
}

// validate returns an ErrInvalidBatch error for a batch the API would refuse
// as a whole.
func (b Batch) validate() error {
	if b.path() == "" {
		return fmt.Errorf("%w: unknown endpoint %d", ErrInvalidBatch, int(b.Endpoint))
	}
	if len(b.Items) == 0 || len(b.Items) > MaxItems {
		return fmt.Errorf("%w: %s with %d items, want 1 to %d", ErrInvalidBatch, b.Endpoint, len(b.Items), MaxItems)
	}
	if b.Endpoint == EndpointCatalog && b.CatalogID <= 0 {
		return fmt.Errorf("%w: catalog id %d", ErrInvalidBatch, b.CatalogID)
	}
	var typ ActionType
	for i := range b.Items {
		it := &b.Items[i]
		if len(it.JSON) == 0 {
			return fmt.Errorf("%w: item %d is empty", ErrInvalidBatch, i)
		}
		if b.Endpoint != EndpointCatalog || it.Type == "" {
			continue
		}
		if typ == "" {
			typ = it.Type
		} else if it.Type != typ {
			return fmt.Errorf("%w: item %d is %s after %s: one action type per request", ErrInvalidBatch, i, it.Type, typ)
		}
	}
	return nil
}

// Send encodes b and sends it as one request. It returns nil on a 2xx
// answer; an *APIError for any other answer; an error of ClassRetryable when
// no answer came; the error of ctx, wrapped, when ctx ended first; and an
// error of ClassFatal, without sending, for a malformed batch. Send reads at
// most MaxResponseBytes of any answer and always closes it.
func (c *Client) Send(ctx context.Context, b Batch) error {
	if err := b.validate(); err != nil {
		return err
	}
	cred := c.cred()
	pb := getPooledBody()
	defer pb.release()
	pb.buf = AppendBody(pb.buf, b.Endpoint, b.Items)

	req, err := http.NewRequestWithContext(ctx, b.method(), c.base+b.path()+b.query(), nil)
	if err != nil {
		return fmt.Errorf("%s: build request: %w", b.Endpoint, scrubErr(err, cred.key))
	}
	req.ContentLength = int64(len(pb.buf))
	req.Body = pb.newReader()
	req.GetBody = func() (io.ReadCloser, error) { return pb.newReader(), nil }
	req.Header["Authorization"] = cred.auth
	req.Header["Content-Type"] = headerJSON
	req.Header["Accept"] = headerJSON
	req.Header["User-Agent"] = c.ua
	if b.Endpoint == EndpointProfiles {
		key := b.IdempotencyKey
		if key == "" {
			key = idempotencyKey(pb.buf)
		}
		req.Header["Idempotency-Key"] = []string{key}
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%s: %w", b.Endpoint, ctxErr)
		}
		return &TransportError{Endpoint: b.Endpoint, Host: c.host, Err: scrubErr(err, cred.key)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		drainAndClose(resp.Body, c.maxBody)
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, c.maxBody))
	// A failed read leaves a partial body, still worth parsing: the status
	// is the answer.
	drainAndClose(resp.Body, maxDrain)
	e := &APIError{
		Endpoint:   b.Endpoint,
		Status:     resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), c.now()),
		Class:      classify(resp.StatusCode),
	}
	e.fillFromBody(body, len(b.Items), cred.key)
	return e
}

// drainAndClose reads up to limit bytes so the connection can be reused, then
// closes body; a longer body costs the connection instead of the time.
func drainAndClose(body io.ReadCloser, limit int64) {
	_, _ = io.CopyN(io.Discard, body, limit)
	_ = body.Close()
}

// CloseIdleConnections closes the connections the client keeps open for
// reuse; call it when the client's work is done.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }
