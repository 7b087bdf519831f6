package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// httpsBackend reads https URLs; it never writes.
type httpsBackend struct {
	c         *http.Client
	retryWait time.Duration
}

func (b *httpsBackend) request(ctx context.Context, method string, l Location, o OpenOptions) (*http.Response, error) {
	return send(ctx, b.c, b.retryWait, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, method, l.URL, nil)
		if err != nil {
			return nil, err
		}
		// The stored bytes, not a decompressed stream: offsets count them.
		req.Header.Set("Accept-Encoding", "identity")
		if r := rangeHeader(o); r != nil {
			req.Header.Set("Range", *r)
		}
		if o.Version != "" {
			req.Header.Set("If-Match", string(o.Version))
		}
		return req, nil
	})
}

func (b *httpsBackend) open(ctx context.Context, l Location, o OpenOptions) (*Reader, error) {
	resp, err := b.request(ctx, http.MethodGet, l, o)
	if err != nil {
		return nil, transportError("open", l, err)
	}
	r := &Reader{body: resp.Body, loc: l, offset: o.Offset, size: -1, version: strongETag(resp.Header)}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		r.size = totalSize(resp.Header.Get("Content-Range"))
		r.body = limit(resp.Body, o.Length) // a server may send more than asked
		return r, nil
	case http.StatusOK:
		if resp.Header.Get("Content-Encoding") == "" {
			r.size = resp.ContentLength
		}
		if o.Offset > 0 {
			// The server ignored the range: skip to the offset.
			if _, err := io.CopyN(io.Discard, resp.Body, o.Offset); err != nil {
				resp.Body.Close()
				if errors.Is(err, io.EOF) {
					return nil, &Error{Op: "open", Location: l.Redacted(), Err: fmt.Errorf("offset %d is past the end", o.Offset)}
				}
				return nil, transportError("open", l, err)
			}
		}
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

func (b *httpsBackend) stat(ctx context.Context, l Location) (Attrs, error) {
	resp, err := b.request(ctx, http.MethodHead, l, OpenOptions{})
	if err != nil {
		return Attrs{}, transportError("stat", l, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Attrs{}, statusError("stat", l, resp.StatusCode, "", false)
	}
	a := Attrs{Size: -1, Version: strongETag(resp.Header)}
	if resp.Header.Get("Content-Encoding") == "" && resp.ContentLength >= 0 {
		a.Size = resp.ContentLength
	}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		a.ModTime = t
	}
	return a, nil
}

func (b *httpsBackend) download(ctx context.Context, l Location, w io.Writer) (Generation, error) {
	resp, err := b.request(ctx, http.MethodGet, l, OpenOptions{})
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
	return strongETag(resp.Header), nil
}

func (b *httpsBackend) put(context.Context, Location, io.ReadSeeker, PutOptions) (Generation, error) {
	return "", ErrReadOnly // Store.Put refuses before it gets here
}

func (b *httpsBackend) remove(context.Context, Location) error { return ErrReadOnly }
