package blob

import (
	"errors"
	"io/fs"
)

// Sentinels that callers match with errors.Is. Every error this package
// returns for a location is an *Error that wraps one of them where the cause
// is known, and the underlying error besides.
var (
	// ErrNotExist: no such object or file. It is fs.ErrNotExist itself, so
	// callers that already match missing files match missing objects too.
	ErrNotExist = fs.ErrNotExist
	// ErrNoBucket: the bucket does not exist.
	ErrNoBucket = errors.New("no such bucket")
	// ErrAccessDenied: the credentials were found but may not do this.
	ErrAccessDenied = errors.New("access denied")
	// ErrNoCredentials: the SDK's default chain found no credentials.
	ErrNoCredentials = errors.New("no credentials")
	// ErrPreconditionFailed: a conditional Put lost: the object was written,
	// created or deleted by someone else since its generation was read.
	ErrPreconditionFailed = errors.New("precondition failed: another writer changed the object")
	// ErrChanged: an object read at a pinned version (Open with a Version)
	// has been replaced since.
	ErrChanged = errors.New("object changed since it was first read")
	// ErrReadOnly: the location cannot be written (stdin, https).
	ErrReadOnly = errors.New("location is read-only")
	// ErrBadLocation: the location string does not parse.
	ErrBadLocation = errors.New("bad location")
	// ErrNotSeekable: a read from an offset of a location that cannot start
	// there (stdin).
	ErrNotSeekable = errors.New("location cannot be read from an offset")
)

// Error is the error of an operation on a location. Kind is one of the
// sentinels above, or nil when the cause is not classified; Err is the
// underlying error (an SDK's or the system's), or a short description.
type Error struct {
	Op       string // "open", "stat", "get", "put", "parse"
	Location string // redacted: an HTTPS URL has no query
	Kind     error
	Err      error
}

func (e *Error) Error() string {
	msg := e.Op + " " + e.Location + ": "
	kind := ""
	if e.Kind != nil {
		kind = e.Kind.Error()
		if e.Kind == ErrNotExist {
			kind = "not found" // fs.ErrNotExist says "file", which an object is not
		}
	}
	switch {
	case kind != "" && e.Err != nil:
		return msg + kind + ": " + e.Err.Error()
	case kind != "":
		return msg + kind
	case e.Err != nil:
		return msg + e.Err.Error()
	}
	return msg + "unknown error"
}

// Unwrap returns the sentinel and the underlying error, so errors.Is and
// errors.As see both.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}
