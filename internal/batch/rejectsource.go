package batch

import (
	"errors"

	"github.com/talonsync/talonsync/internal/checkpoint"
)

// A row error with a RejectSource method says the source of the row's
// reject (checkpoint.SourceInput or SourceAPI); a row error without one
// was found while reading the input. A Source that replays API rejects
// (talonsync retry) marks the records that fail again before they are sent
// as API items still, which the next retry may send once they are fixed.
type sourcedError interface{ RejectSource() string }

// rejectSource is the source of the reject of a row that has err.
func rejectSource(err error) string {
	var se sourcedError
	if errors.As(err, &se) {
		return se.RejectSource()
	}
	return checkpoint.SourceInput
}
