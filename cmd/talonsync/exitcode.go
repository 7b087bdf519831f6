package main

import (
	"context"
	"errors"
	"io/fs"

	"github.com/talonsync/talonsync/internal/batch"
	"github.com/talonsync/talonsync/internal/blob"
	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/columns"
)

// Exit codes, documented in the README.
const (
	exitOK          = 0   // every row delivered
	exitFailed      = 1   // the run failed: auth, retries exhausted, input error
	exitUsage       = 2   // usage or configuration error
	exitRejected    = 3   // finished, some rows rejected
	exitInterrupted = 130 // interrupted by SIGINT or SIGTERM
)

// usageError marks an error the user fixes by changing the command line or
// its configuration.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usage(err error) error { return &usageError{err: err} }

// rejectedError reports a finished run in which some rows were rejected.
type rejectedError struct{ n int64 }

func (e *rejectedError) Error() string { return "some rows were rejected" }

// exitCode maps an error to the process exit code. It is the one place where
// that mapping lives.
func exitCode(err error) int {
	var ue *usageError
	var re *rejectedError
	var ce *codeError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, &re):
		return exitRejected
	case errors.Is(err, batch.ErrInterrupted), errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &ue),
		errors.As(err, new(*columns.Error)),
		errors.Is(err, checkpoint.ErrMismatch),
		errors.Is(err, checkpoint.ErrLocked),
		errors.Is(err, fs.ErrNotExist),
		lostOwnership(err),
		errors.Is(err, blob.ErrNoBucket),
		errors.Is(err, blob.ErrAccessDenied),
		errors.Is(err, blob.ErrNoCredentials),
		errors.Is(err, blob.ErrBadLocation),
		errors.Is(err, blob.ErrReadOnly):
		return exitUsage
	}
	return exitFailed
}
