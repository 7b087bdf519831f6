package blob

import (
	"fmt"
	"net/url"
	"strings"
)

// Kind says where a location's bytes live.
type Kind int

// The kinds of location.
const (
	File  Kind = iota // a local path
	Stdin             // "-": standard input, read once from the start
	S3                // s3://bucket/key
	GCS               // gs://bucket/key
	HTTPS             // https://host/path, read-only
)

func (k Kind) String() string {
	switch k {
	case File:
		return "file"
	case Stdin:
		return "stdin"
	case S3:
		return "s3"
	case GCS:
		return "gs"
	case HTTPS:
		return "https"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Location is a parsed location string. For S3 and GCS, Bucket and Key are
// set; for HTTPS, URL; for File, Path.
type Location struct {
	Kind   Kind
	Bucket string
	Key    string
	URL    string
	Path   string
	raw    string
}

// String returns the location as it was given.
func (l Location) String() string { return l.raw }

// Redacted returns the location for messages: an HTTPS URL loses its query,
// which may hold a signature (a presigned URL) or a token.
func (l Location) Redacted() string {
	if l.Kind == HTTPS {
		if i := strings.IndexAny(l.raw, "?#"); i >= 0 {
			return l.raw[:i] + "?REDACTED"
		}
	}
	return l.raw
}

// IsObject reports whether the location is in object storage (S3 or GCS).
func (l Location) IsObject() bool { return l.Kind == S3 || l.Kind == GCS }

// Writable reports whether whole objects can be written there: every kind
// but stdin and HTTPS.
func (l Location) Writable() bool { return l.Kind != Stdin && l.Kind != HTTPS }

// Parse parses a location: "-" is stdin; "s3://bucket/key", "gs://bucket/key"
// and "https://..." are objects; anything else without a scheme is a local
// path. An unknown scheme ("ftp://", "http://", "S3://" is accepted as s3) or
// an object location without a bucket or key gives an error that matches
// ErrBadLocation.
func Parse(s string) (Location, error) {
	if s == "" {
		return Location{}, &Error{Op: "parse", Location: s, Kind: ErrBadLocation, Err: fmt.Errorf("empty location")}
	}
	if s == "-" {
		return Location{Kind: Stdin, raw: s}, nil
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || strings.ContainsAny(scheme, "/\\.") || scheme == "" {
		// No scheme: a local path, even one that holds "://" further on.
		return Location{Kind: File, Path: s, raw: s}, nil
	}
	bad := func(format string, a ...any) (Location, error) {
		return Location{}, &Error{Op: "parse", Location: s, Kind: ErrBadLocation, Err: fmt.Errorf(format, a...)}
	}
	switch strings.ToLower(scheme) {
	case "s3", "gs":
		bucket, key, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return bad("no bucket")
		}
		if key == "" || strings.HasSuffix(key, "/") {
			return bad("no object key after the bucket")
		}
		kind := S3
		if strings.EqualFold(scheme, "gs") {
			kind = GCS
		}
		return Location{Kind: kind, Bucket: bucket, Key: key, raw: s}, nil
	case "https":
		u, err := url.Parse(s)
		if err != nil {
			return bad("%v", err)
		}
		if u.Host == "" {
			return bad("no host")
		}
		if u.User != nil {
			// Credentials in a URL end up in logs and reports.
			return Location{}, &Error{Op: "parse", Location: u.Redacted(), Kind: ErrBadLocation,
				Err: fmt.Errorf("user info in the URL is not supported; give credentials another way")}
		}
		return Location{Kind: HTTPS, URL: u.String(), raw: s}, nil
	case "http":
		return bad("plain http is not supported; use https")
	case "file":
		u, err := url.Parse(s)
		if err != nil || (u.Host != "" && u.Host != "localhost") || u.Path == "" {
			return bad("a file URL must be file:///absolute/path")
		}
		return Location{Kind: File, Path: u.Path, raw: s}, nil
	}
	return bad("unknown scheme %q: use a path, -, s3://, gs:// or https://", scheme)
}
