package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// defaultS3Region is used when the default chain names no region. An
// S3-compatible server mostly ignores it; AWS answers a bucket in another
// region with a redirect, which the error then names.
const defaultS3Region = "us-east-1"

// s3Backend is S3 or an S3-compatible server, through aws-sdk-go-v2.
type s3Backend struct {
	c *s3.Client
}

func (s *Store) s3Backend(ctx context.Context) (*s3Backend, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.s3 != nil {
		return s.s3, nil
	}
	var opts []func(*config.LoadOptions) error
	if s.s3HTTP != nil {
		opts = append(opts, config.WithHTTPClient(s.s3HTTP))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = defaultS3Region
	}
	// Look the credentials up now, so that a missing chain says so once,
	// clearly, instead of inside the first request's error.
	if cfg.Credentials == nil {
		return nil, &credentialsError{errors.New("the AWS default credential chain has no provider")}
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, &credentialsError{fmt.Errorf("the AWS default credential chain (environment, shared config, web identity, container or instance role) found none: %w", err)}
	}
	pathStyle := os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != ""
	s.s3 = &s3Backend{c: s3.NewFromConfig(cfg, func(o *s3.Options) {
		// An S3-compatible server at a custom endpoint is addressed by path:
		// its buckets have no DNS names of their own.
		o.UsePathStyle = pathStyle
		// Objects written without a checksum (by most tools, and by every
		// S3-compatible server) would log a line per read otherwise.
		o.DisableLogOutputChecksumValidationSkipped = true
	})}
	return s.s3, nil
}

// s3Error classifies an SDK error. pinned says the request carried If-Match
// on a read, so that a failed precondition means the object changed.
func s3Error(op string, l Location, err error, pinned bool) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Op: op, Location: l.Redacted(), Err: err}
	}
	var kind error
	detail := err
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := ae.ErrorCode()
		if m := ae.ErrorMessage(); m != "" {
			msg += ": " + m
		}
		if status != 0 {
			msg += fmt.Sprintf(" (HTTP %d)", status)
		}
		if region := bucketRegion(re); region != "" {
			msg += fmt.Sprintf("; the bucket is in region %s: set AWS_REGION=%s", region, region)
		}
		detail = errors.New(msg)
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			kind = ErrNotExist
		case "NoSuchBucket":
			kind = ErrNoBucket
		case "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "InvalidToken", "ExpiredToken":
			kind = ErrAccessDenied
		case "PreconditionFailed", "ConditionalRequestConflict":
			kind = ErrPreconditionFailed
		}
	}
	if kind == nil {
		switch status {
		case 404:
			kind = ErrNotExist
		case 401, 403:
			kind = ErrAccessDenied
		case 409, 412:
			kind = ErrPreconditionFailed
		}
	}
	if kind == ErrPreconditionFailed && pinned {
		kind = ErrChanged
	}
	return &Error{Op: op, Location: l.Redacted(), Kind: kind, Err: detail}
}

func bucketRegion(re *awshttp.ResponseError) string {
	if re == nil || re.Response == nil {
		return ""
	}
	return re.Response.Header.Get("X-Amz-Bucket-Region")
}

func rangeHeader(o OpenOptions) *string {
	switch {
	case o.Length > 0:
		return aws.String(fmt.Sprintf("bytes=%d-%d", o.Offset, o.Offset+o.Length-1))
	case o.Offset > 0:
		return aws.String(fmt.Sprintf("bytes=%d-", o.Offset))
	}
	return nil
}

// totalSize reads the whole size from a Content-Range "bytes a-b/total".
func totalSize(contentRange string) int64 {
	_, total, ok := strings.Cut(contentRange, "/")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(total, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func (b *s3Backend) open(ctx context.Context, l Location, o OpenOptions) (*Reader, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(l.Key), Range: rangeHeader(o)}
	if o.Version != "" {
		in.IfMatch = aws.String(string(o.Version))
	}
	out, err := b.c.GetObject(ctx, in)
	if err != nil {
		var ae smithy.APIError
		if o.Offset > 0 && errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange" {
			return b.openAtEnd(ctx, l, o)
		}
		return nil, s3Error("open", l, err, o.Version != "")
	}
	r := &Reader{body: out.Body, loc: l, offset: o.Offset, size: -1, version: Generation(aws.ToString(out.ETag))}
	if o.Version != "" && r.version != "" && r.version != o.Version {
		// A server that ignores If-Match on GET still names what it sent.
		out.Body.Close()
		return nil, &Error{Op: "open", Location: l.Redacted(), Kind: ErrChanged, Err: fmt.Errorf("ETag %s, was %s", r.version, o.Version)}
	}
	switch {
	case out.ContentRange != nil:
		r.size = totalSize(*out.ContentRange)
	case out.ContentLength != nil && in.Range == nil:
		r.size = *out.ContentLength
	}
	return r, nil
}

// openAtEnd answers a range that starts at or past the end: S3 refuses it
// (416), but a resume whose checkpoint is at the end of the input has simply
// nothing left to read.
func (b *s3Backend) openAtEnd(ctx context.Context, l Location, o OpenOptions) (*Reader, error) {
	a, err := b.stat(ctx, l)
	if err != nil {
		return nil, err
	}
	if o.Version != "" && a.Version != o.Version {
		return nil, &Error{Op: "open", Location: l.Redacted(), Kind: ErrChanged}
	}
	if o.Offset != a.Size {
		return nil, &Error{Op: "open", Location: l.Redacted(), Err: fmt.Errorf("offset %d is past the end (%d bytes)", o.Offset, a.Size)}
	}
	return &Reader{body: emptyBody{}, loc: l, offset: o.Offset, size: a.Size, version: a.Version}, nil
}

func (b *s3Backend) stat(ctx context.Context, l Location) (Attrs, error) {
	out, err := b.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(l.Key)})
	if err != nil {
		return Attrs{}, s3Error("stat", l, err, false)
	}
	a := Attrs{Size: aws.ToInt64(out.ContentLength), Version: Generation(aws.ToString(out.ETag))}
	if out.LastModified != nil {
		a.ModTime = *out.LastModified
	}
	return a, nil
}

func (b *s3Backend) download(ctx context.Context, l Location, w io.Writer) (Generation, error) {
	out, err := b.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(l.Key)})
	if err != nil {
		return "", s3Error("get", l, err, false)
	}
	defer out.Body.Close()
	if _, err := io.Copy(w, out.Body); err != nil {
		return "", &Error{Op: "get", Location: l.Redacted(), Err: err}
	}
	return Generation(aws.ToString(out.ETag)), nil
}

func (b *s3Backend) put(ctx context.Context, l Location, body io.ReadSeeker, o PutOptions) (Generation, error) {
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return "", &Error{Op: "put", Location: l.Redacted(), Err: err}
	}
	ct := o.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	in := &s3.PutObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(l.Key), Body: body, ContentType: aws.String(ct)}
	if o.If.cond {
		if o.If.match == "" {
			in.IfNoneMatch = aws.String("*")
		} else {
			in.IfMatch = aws.String(string(o.If.match))
		}
	}
	out, err := b.c.PutObject(ctx, in)
	if err != nil {
		return "", s3Error("put", l, err, false)
	}
	return Generation(aws.ToString(out.ETag)), nil
}

func (b *s3Backend) remove(ctx context.Context, l Location) error {
	_, err := b.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(l.Key)})
	if err != nil {
		return s3Error("remove", l, err, false)
	}
	return nil
}
