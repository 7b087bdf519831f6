package pace

import (
	"errors"
	"net/http"

	"github.com/talonsync/talonsync/internal/talon"
)

// OutcomeOf maps the error of talon.Client.Send to the Outcome a Permit is
// given back with:
//   - nil, and an *talon.APIError of class item (400 and other 4xx about
//     the content): OK, the server processed the request;
//   - 429: Throttled;
//   - 5xx and 408, and a transport failure that is a timeout: Failed;
//   - anything else (409, 401/403/404, a cut connection, the caller's
//     context ending, an invalid batch): Ignored, it says nothing about
//     the server's load.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return OK
	}
	var ae *talon.APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Status == http.StatusTooManyRequests:
			return Throttled
		case ae.Status >= 500, ae.Status == http.StatusRequestTimeout:
			return Failed
		case ae.Class == talon.ClassItem:
			return OK
		}
		return Ignored
	}
	if talon.Timeout(err) {
		return Failed
	}
	return Ignored
}
