package pace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/talonsync/talonsync/internal/talon"
)

func TestOutcomeOf(t *testing.T) {
	api := func(status int, class talon.Class) error {
		return fmt.Errorf("send batch 3: %w", &talon.APIError{Status: status, Class: class})
	}
	transport := func(err error) error {
		return &talon.TransportError{Err: &url.Error{Op: "Put", URL: "http://x", Err: err}}
	}
	for _, tc := range []struct {
		name string
		err  error
		want Outcome
	}{
		{"success", nil, OK},
		{"400 with pointers", api(400, talon.ClassItem), OK},
		{"413", api(413, talon.ClassItem), OK},
		{"429", api(429, talon.ClassRetryable), Throttled},
		{"500", api(500, talon.ClassRetryable), Failed},
		{"503", api(503, talon.ClassRetryable), Failed},
		{"408", api(408, talon.ClassRetryable), Failed},
		{"409", api(409, talon.ClassRetryable), Ignored},
		{"401", api(401, talon.ClassFatal), Ignored},
		{"404", api(404, talon.ClassFatal), Ignored},
		{"client timeout", transport(os.ErrDeadlineExceeded), Failed},
		{"context deadline", transport(context.DeadlineExceeded), Failed},
		{"cut connection", transport(io.ErrUnexpectedEOF), Ignored},
		{"cancelled", context.Canceled, Ignored},
		{"invalid batch", talon.ErrInvalidBatch, Ignored},
		{"other", errors.New("boom"), Ignored},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, OutcomeOf(tc.err))
		})
	}
}
