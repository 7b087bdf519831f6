package readers

import (
	"encoding/json"

	"github.com/talonsync/talonsync/internal/talon"
)

// Position is a place in the (decompressed) input stream: a byte offset and the
// 1-based line number at that offset. A Reader started at a Row's Resume
// position yields that row next, with the same Line numbers as a reader that
// started at the beginning.
type Position struct {
	Offset int64 `json:"offset"`
	Line   int64 `json:"line"`
	// Other counts the rows before this position that a sharded Reader
	// skipped as another shard's (Options.Owns); 0 in an unsharded read.
	Other int64 `json:"other,omitempty"`
}

// Row is one input row: either mapped to an API item, or rejected.
type Row struct {
	// Seq is the 0-based index of the row among the rows this Reader returned.
	Seq int64
	// Line is the 1-based line where the row starts in the input.
	Line int64
	// Resume is where a Reader must start to yield this row next.
	Resume Position
	// Item is the API item the row maps to. Valid when Err is nil.
	Item talon.Item
	// Err is the reason the row is rejected, or nil. Its text names the line
	// and the column at fault: `line 12: column "Age": value "abc" is not a
	// number`.
	Err error
	// Record is the input row as JSON, for the rejects file. It is set when
	// Err is non-nil: for CSV an object of header name to cell, for JSONL the
	// line itself when it is valid JSON, else a JSON string of it.
	Record json.RawMessage
}

// appendJSONStringLossy appends s to dst as a JSON string, with each byte
// that is not valid UTF-8 replaced by U+FFFD; it is for reject records,
// which must be valid JSON whatever the input held.
func appendJSONStringLossy(dst []byte, s string) []byte {
	dst, _ = talon.AppendString(dst, s)
	return dst
}
