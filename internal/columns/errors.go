package columns

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinels that Error wraps, for callers that match a kind of problem.
var (
	ErrSyntax     = errors.New("not valid JSON or YAML")
	ErrShape      = errors.New("unexpected structure")      // a wrong YAML kind, an unknown key
	ErrTarget     = errors.New("invalid target")            // not a reserved field or attribute name
	ErrType       = errors.New("invalid type or option")    // unknown type, an option the type does not take
	ErrLayout     = errors.New("invalid time layout")       // a layout that does not hold a date
	ErrDuplicate  = errors.New("duplicate")                 // two columns, or a column and a constant, for one target
	ErrConstant   = errors.New("invalid constant")          // a constant's name or value
	ErrUnmapped   = errors.New("column not in the mapping") // a header column under "unmapped: error"
	ErrMissing    = errors.New("column not in the header")  // a mapped column the header lacks
	ErrEntity     = errors.New("mapping is for another entity")
	ErrValue      = errors.New("invalid value") // Convert: a cell that does not convert
	errUnreadable = errors.New("cannot read the mapping file")
)

// Error is a problem in a mapping file, or in applying it to a header. Its
// message names the file, the line where known, and the column.
type Error struct {
	File   string // the mapping file
	Line   int    // 1-based line in the file; 0 if not known
	Column string // the input column (or constant) concerned; "" for the file as a whole
	Err    error  // wraps one of the sentinels
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Column != "" {
		b.WriteString("column " + strconv.Quote(e.Column) + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// detail wraps a sentinel with a message that says what exactly is wrong.
type detail struct {
	sentinel error
	msg      string
}

func (d *detail) Error() string { return d.msg }
func (d *detail) Unwrap() error { return d.sentinel }

func withDetail(sentinel error, msg string) error { return &detail{sentinel: sentinel, msg: msg} }
