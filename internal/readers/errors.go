package readers

import (
	"errors"
	"strconv"
)

// The causes a *rowError, *headerError or *parseError wraps; errors.Is
// matches them.
var (
	// errNoHeader: a CSV input holds no header row (it is empty or blank).
	errNoHeader = errors.New("no header row")
	// errMissingKey: a row lacks its entity key (sku, integrationId,
	// profileIntegrationId, audienceId), or a header lacks its key column.
	errMissingKey = errors.New("missing key")
	// errBadValue: a value does not convert to its column's or field's type.
	errBadValue = errors.New("bad value")
	// errBadJSON: a JSONL line is not a valid JSON object.
	errBadJSON = errors.New("invalid JSON")
	// errRowTooLong: a row is longer than Options.maxRowBytes.
	errRowTooLong = errors.New("row too long")
	// errUnterminated: a CSV quoted field does not close before the end of
	// the input.
	errUnterminated = errors.New("unterminated quote")
	// errFieldCount: a CSV record has a different number of fields than the header.
	errFieldCount = errors.New("wrong number of fields")
	// errBulkRefused: a PATCH_MANY or REMOVE_MANY action has no filters and
	// Options.AllowBulk is false.
	errBulkRefused = errors.New("bulk action without filters refused")
	// errUnknownAction: a catalog or audience action is not one talonsync knows.
	errUnknownAction = errors.New("unknown action")
	// errUnknownField: a JSONL object has a field the entity does not define.
	errUnknownField = errors.New("unknown field")
	// errDuplicateField: a JSONL object has a name twice.
	errDuplicateField = errors.New("duplicate field")
	// errNotForType: a JSONL catalog action has a field its type does not
	// take (PATCH_MANY with a sku), which the API would drop unseen.
	errNotForType = errors.New("field not taken by the action type")
	// errNullAttribute: a JSONL attribute value is null, which the API does
	// not document.
	errNullAttribute = errors.New("null attribute value")
	// errDuplicateColumn: two CSV header columns name the same field.
	errDuplicateColumn = errors.New("duplicate column")
	// errBadColumn: a CSV header column is empty, is not a valid attribute
	// name, has an unknown type suffix, or is not allowed for the entity.
	errBadColumn = errors.New("bad column")
)

// rowError is why one row was rejected. Reading goes on at the next row.
type rowError struct {
	// Line is the 1-based line where the row starts.
	Line int64
	// Column is the CSV column (header name as read) or JSON field at fault;
	// empty when the fault is not in one column.
	Column string
	// Err is the cause; it wraps one of the sentinels.
	Err error
	// More are the row's other bad cells, in column order: a CSV row is
	// rejected once with every bad cell it has.
	More []cellFault
}

// cellFault is one bad cell of a CSV row.
type cellFault struct {
	Column string
	Err    error
}

// Error formats the error as `line 12: column "Age": value "abc" is not a
// number`, with `; column "B": ...` for each further bad cell.
func (e *rowError) Error() string {
	b := make([]byte, 0, 64)
	b = append(b, "line "...)
	b = strconv.AppendInt(b, e.Line, 10)
	b = append(b, ": "...)
	b = appendFault(b, e.Column, e.Err)
	for _, f := range e.More {
		b = append(b, "; "...)
		b = appendFault(b, f.Column, f.Err)
	}
	return string(b)
}

func appendFault(b []byte, column string, err error) []byte {
	if column != "" {
		b = append(b, "column "...)
		b = strconv.AppendQuote(b, column)
		b = append(b, ": "...)
	}
	return append(b, err.Error()...)
}

// Unwrap returns Err and the causes of More.
func (e *rowError) Unwrap() []error {
	errs := make([]error, 0, 1+len(e.More))
	errs = append(errs, e.Err)
	for _, f := range e.More {
		errs = append(errs, f.Err)
	}
	return errs
}

// parseError is a fatal input error: an I/O error or a truncated gzip
// stream. The Reader returns it from every later call to Next.
type parseError struct {
	// Line is the 1-based line at which reading failed.
	Line int64
	// Err is the cause.
	Err error
}

// Error formats the error as "line 12: cause".
func (e *parseError) Error() string {
	return "line " + strconv.FormatInt(e.Line, 10) + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *parseError) Unwrap() error { return e.Err }

// headerError is a problem with a CSV header, returned by NewReader.
type headerError struct {
	// Column is the header cell at fault as read; empty when the fault is
	// not in one column (no header, missing key column).
	Column string
	// Err is the cause; it wraps one of the sentinels.
	Err error
}

// Error formats the error as `header: column "X": cause`.
func (e *headerError) Error() string {
	if e.Column == "" {
		return "header: " + e.Err.Error()
	}
	return "header: column " + strconv.Quote(e.Column) + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *headerError) Unwrap() error { return e.Err }

// valueError is a value that does not convert. It matches errBadValue.
type valueError struct {
	value string
	want  string // "is not a number", "is not valid UTF-8", ...
	json  bool   // value is JSON text, shown as it is: "eq", 12, [1]
}

func (e *valueError) Error() string {
	v := e.value
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	if !e.json {
		v = strconv.Quote(v)
	}
	return "value " + v + " " + e.want
}

func (e *valueError) Unwrap() error { return errBadValue }

func badValue(v, want string) error { return &valueError{value: v, want: want} }

// badJSONValue is badValue for a JSONL value, given as its JSON text.
func badJSONValue(v, want string) error { return &valueError{value: v, want: want, json: true} }

// convError is a cell that a column mapping's conversion (a decimal comma,
// a time layout) refuses. It matches errBadValue and the columns error.
type convError struct{ err error }

func (e *convError) Error() string   { return "value " + e.err.Error() }
func (e *convError) Unwrap() []error { return []error{errBadValue, e.err} }

// detailError adds a detail to a sentinel: "sentinel: detail".
type detailError struct {
	err    error
	detail string
}

func (e *detailError) Error() string { return e.err.Error() + ": " + e.detail }
func (e *detailError) Unwrap() error { return e.err }

func withDetail(err error, detail string) error { return &detailError{err: err, detail: detail} }

// Warning is a problem with the input that rejects no row: every row is
// read, but something in the file is not sent. A Reader reports each one
// once, through Options.Warn.
type Warning struct {
	// Line is the line where it was first seen.
	Line int64
	// Column is the column concerned: its header cell as read, or
	// "column N" (1-based) for a column without a name.
	Column string
	// Message says what is wrong and what happens to it.
	Message string
}

// String formats the warning as `line 7: column 4: ...`.
func (w Warning) String() string {
	return "line " + strconv.FormatInt(w.Line, 10) + ": " + w.Column + ": " + w.Message
}
