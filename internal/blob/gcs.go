package blob

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// gcsScope is the OAuth scope the GCS requests need.
const gcsScope = "https://www.googleapis.com/auth/devstorage.read_write"

// gcsBackend is Google Cloud Storage through its JSON API. It is not the
// official client (cloud.google.com/go/storage), which added 45 MB to the
// binary; the requests it makes are the documented ones for media download
// with a Range, media upload with ifGenerationMatch, and object metadata.
type gcsBackend struct {
	c         *http.Client
	base      string
	retryWait time.Duration
}

func (s *Store) gcsBackend(ctx context.Context) (*gcsBackend, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gcs != nil {
		return s.gcs, nil
	}
	// As with the official client: an emulator takes no credentials.
	if host := os.Getenv("STORAGE_EMULATOR_HOST"); host != "" {
		base := host
		if !strings.Contains(host, "://") {
			base = "http://" + host
		}
		s.gcs = &gcsBackend{c: s.http, base: strings.TrimRight(base, "/"), retryWait: s.retryWait}
		return s.gcs, nil
	}
	// Token refreshes outlive this call's context: they happen whenever a
	// token expires during the run.
	cctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, s.http)
	creds, err := google.FindDefaultCredentials(cctx, gcsScope)
	if err != nil {
		return nil, &credentialsError{fmt.Errorf("Google Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login, or the metadata server) found none: %w", err)}
	}
	base := s.http.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c := &http.Client{
		Transport: &oauth2.Transport{Base: base, Source: oauth2.ReuseTokenSource(nil, creds.TokenSource)},
		Timeout:   s.http.Timeout,
	}
	s.gcs = &gcsBackend{c: c, base: "https://storage.googleapis.com", retryWait: s.retryWait}
	return s.gcs, nil
}

func (b *gcsBackend) objectURL(l Location) string {
	return b.base + "/storage/v1/b/" + url.PathEscape(l.Bucket) + "/o/" + url.PathEscape(l.Key)
}

// gcsObject is the part of the JSON object resource this package reads.
type gcsObject struct {
	Generation string    `json:"generation"`
	Size       string    `json:"size"`
	Updated    time.Time `json:"updated"`
}

func (b *gcsBackend) media(ctx context.Context, l Location, o OpenOptions) (*http.Response, error) {
	u := b.objectURL(l) + "?alt=media"
	if o.Version != "" {
		u += "&ifGenerationMatch=" + url.QueryEscape(string(o.Version))
	}
	return send(ctx, b.c, b.retryWait, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		// Asking for gzip ourselves keeps GCS from decompressing an object
		// stored with Content-Encoding: gzip (and net/http from doing so):
		// the stored bytes arrive, and ranges count them.
		req.Header.Set("Accept-Encoding", "gzip")
		if r := rangeHeader(o); r != nil {
			req.Header.Set("Range", *r)
		}
		return req, nil
	})
}

func storedSize(h http.Header, fallback int64) int64 {
	if n, err := strconv.ParseInt(h.Get("X-Goog-Stored-Content-Length"), 10, 64); err == nil {
		return n
	}
	return fallback
}

func (b *gcsBackend) open(ctx context.Context, l Location, o OpenOptions) (*Reader, error) {
	resp, err := b.media(ctx, l, o)
	if err != nil {
		return nil, transportError("open", l, err)
	}
	r := &Reader{body: resp.Body, loc: l, offset: o.Offset, size: -1, version: Generation(resp.Header.Get("X-Goog-Generation"))}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		r.size = totalSize(resp.Header.Get("Content-Range"))
		r.body = limit(resp.Body, o.Length)
		return r, nil
	case http.StatusOK:
		if o.Offset > 0 {
			// GCS serves a whole object it transcodes, ignoring the range;
			// stored bytes are asked for, so this should not happen.
			resp.Body.Close()
			return nil, &Error{Op: "open", Location: l.Redacted(), Err: fmt.Errorf("the server ignored the range from byte %d", o.Offset)}
		}
		r.size = storedSize(resp.Header, resp.ContentLength)
		r.body = limit(resp.Body, o.Length)
		return r, nil
	case http.StatusRequestedRangeNotSatisfiable:
		resp.Body.Close()
		a, err := b.stat(ctx, l)
		if err != nil {
			return nil, err
		}
		return emptyAt(l, o, a)
	}
	return nil, statusError("open", l, resp.StatusCode, errorMessage(resp), o.Version != "")
}

func (b *gcsBackend) stat(ctx context.Context, l Location) (Attrs, error) {
	u := b.objectURL(l)
	resp, err := send(ctx, b.c, b.retryWait, func() (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	})
	if err != nil {
		return Attrs{}, transportError("stat", l, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Attrs{}, statusError("stat", l, resp.StatusCode, errorMessage(resp), false)
	}
	obj, err := decodeObject(resp)
	if err != nil {
		return Attrs{}, &Error{Op: "stat", Location: l.Redacted(), Err: err}
	}
	size, err := strconv.ParseInt(obj.Size, 10, 64)
	if err != nil {
		return Attrs{}, &Error{Op: "stat", Location: l.Redacted(), Err: fmt.Errorf("object size %q: %w", obj.Size, err)}
	}
	return Attrs{Size: size, Version: Generation(obj.Generation), ModTime: obj.Updated}, nil
}

func decodeObject(resp *http.Response) (gcsObject, error) {
	defer resp.Body.Close()
	var obj gcsObject
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&obj); err != nil {
		return obj, fmt.Errorf("decode object metadata: %w", err)
	}
	if obj.Generation == "" {
		return obj, fmt.Errorf("object metadata has no generation")
	}
	return obj, nil
}

func (b *gcsBackend) download(ctx context.Context, l Location, w io.Writer) (Generation, error) {
	resp, err := b.media(ctx, l, OpenOptions{})
	if err != nil {
		return "", transportError("get", l, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", statusError("get", l, resp.StatusCode, errorMessage(resp), false)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return "", transportError("get", l, err)
	}
	return Generation(resp.Header.Get("X-Goog-Generation")), nil
}

func (b *gcsBackend) put(ctx context.Context, l Location, body io.ReadSeeker, o PutOptions) (Generation, error) {
	q := url.Values{"uploadType": {"media"}, "name": {l.Key}}
	if o.If.cond {
		// Generation 0 means "no live object": the if-absent condition.
		g := string(o.If.match)
		if g == "" {
			g = "0"
		}
		q.Set("ifGenerationMatch", g)
	}
	u := b.base + "/upload/storage/v1/b/" + url.PathEscape(l.Bucket) + "/o?" + q.Encode()
	ct := o.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	// The length, so that a file streams with a Content-Length rather
	// than chunked.
	size, err := body.Seek(0, io.SeekEnd)
	if err != nil {
		return "", &Error{Op: "put", Location: l.Redacted(), Err: err}
	}
	resp, err := send(ctx, b.c, b.retryWait, func() (*http.Request, error) {
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, io.NopCloser(body))
		if err != nil {
			return nil, err
		}
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
		req.Header.Set("Content-Type", ct)
		return req, nil
	})
	if err != nil {
		return "", transportError("put", l, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", statusError("put", l, resp.StatusCode, errorMessage(resp), false)
	}
	obj, err := decodeObject(resp)
	if err != nil {
		return "", &Error{Op: "put", Location: l.Redacted(), Err: err}
	}
	return Generation(obj.Generation), nil
}

func (b *gcsBackend) remove(ctx context.Context, l Location) error {
	u := b.objectURL(l)
	resp, err := send(ctx, b.c, b.retryWait, func() (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodDelete, u, nil)
	})
	if err != nil {
		return transportError("remove", l, err)
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNoContent:
		resp.Body.Close()
		return nil
	case http.StatusNotFound:
		msg := errorMessage(resp)
		if strings.Contains(strings.ToLower(msg), "bucket") {
			return statusError("remove", l, resp.StatusCode, msg, false)
		}
		return nil
	}
	return statusError("remove", l, resp.StatusCode, errorMessage(resp), false)
}
