package readers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/talonsync/talonsync/internal/columns"
)

// Entity is the kind of record an input holds.
type Entity int

// The entities talonsync loads. The zero Entity is invalid.
const (
	EntityCatalog   Entity = iota + 1 // catalog items, for syncCatalog
	EntityProfiles                    // customer profiles, for updateCustomerProfilesV2
	EntityAudiences                   // audience memberships, for updateCustomerProfileAudiences
)

// String returns "catalog", "profiles" or "audiences".
func (e Entity) String() string {
	switch e {
	case EntityCatalog:
		return "catalog"
	case EntityProfiles:
		return "profiles"
	case EntityAudiences:
		return "audiences"
	}
	return fmt.Sprintf("Entity(%d)", int(e))
}

// Format is the syntax of an input.
type Format int

// The input formats. The zero Format is invalid.
const (
	FormatCSV   Format = iota + 1 // CSV or TSV with a header row
	FormatJSONL                   // one JSON object per line
)

// String returns "csv" or "jsonl".
func (f Format) String() string {
	switch f {
	case FormatCSV:
		return "csv"
	case FormatJSONL:
		return "jsonl"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses a format name, case-insensitively: "csv", "tsv" (which
// is FormatCSV: the caller sets Options.Delimiter to '\t'), "jsonl" or "ndjson".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "csv", "tsv":
		return FormatCSV, nil
	case "jsonl", "ndjson":
		return FormatJSONL, nil
	}
	return 0, fmt.Errorf("unknown format %q (want csv, tsv, jsonl or ndjson)", s)
}

// FormatFromPath guesses the format from the file name's extension, ignoring
// a trailing ".gz": .csv and .tsv (the caller sets a tab delimiter) are
// FormatCSV, .jsonl and .ndjson are FormatJSONL. It reports false for any
// other name, including "-".
func FormatFromPath(path string) (Format, bool) {
	p := strings.ToLower(path)
	p = strings.TrimSuffix(p, ".gz")
	switch filepath.Ext(p) {
	case ".csv", ".tsv":
		return FormatCSV, true
	case ".jsonl", ".ndjson":
		return FormatJSONL, true
	}
	return 0, false
}

// defaultMaxRowBytes is the bound on one row (Options.maxRowBytes).
const defaultMaxRowBytes = 16 << 20

// bufSize is the size of the Reader's buffer. A JSONL line or a CSV line
// that fits in it is parsed without copying.
const bufSize = 64 << 10

// Options configures a Reader. The zero value of each field but Entity and
// Format is a sensible default.
type Options struct {
	// Entity is what the input holds. Required.
	Entity Entity
	// Format is the input's syntax. Required.
	Format Format
	// Delimiter separates CSV fields; default ','.
	Delimiter rune
	// AudienceID is the audienceId of audience rows that give none; 0 means
	// such rows are rejected.
	AudienceID int64
	// AudienceAction is the action of audience rows that give none: "add",
	// "delete" or "remove" (which means delete); "" means "add".
	AudienceAction string
	// AllowBulk allows catalog PATCH_MANY and REMOVE_MANY actions without
	// filters, which touch every item of the catalog. With filters they are
	// always allowed.
	AllowBulk bool
	// Start is where to resume: a Row.Resume from an earlier read of the same
	// input. The zero value is the start of the input.
	Start Position
	// Owns, when set, makes the Reader yield only the rows whose key it
	// owns (a shard of a sharded run); the others are skipped before they
	// are converted and counted by OtherShards. A row without a valid key
	// has the key "". PATCH_MANY and REMOVE_MANY rows, which touch every
	// key, are rejected. Resume a Reader with the same Owns.
	Owns func(key string) bool
	// DecimalComma says the CSV's numbers (price and number attributes) are
	// written with a decimal comma: 12,50 and 1.234,56. It is never guessed.
	DecimalComma bool
	// Columns maps a CSV's columns to fields and attributes (see package
	// columns); nil applies the header rule to every column. It must be
	// for Entity, and is refused with JSONL.
	Columns *columns.Mapping
	// Warn, when set, is called with each Warning, once, from NewReader or
	// Next.
	Warn func(Warning)

	// maxRowBytes bounds one row; 0 means defaultMaxRowBytes. Tests set it
	// lower. A longer JSONL line or CSV record is a rejected row
	// (errRowTooLong) and reading goes on; memory stays bounded. A longer
	// CSV header is an error.
	maxRowBytes int
}

// Reader reads rows from an Input and maps them to API items. It is not
// safe for concurrent use. It does not close its Input.
type Reader struct {
	in   *Input
	opts Options
	lim  limitReader
	br   *bufio.Reader
	pos  Position // the next unread byte of the stream and its line
	seq  int64
	err  error // sticky: io.EOF or a fatal error

	other atomic.Int64 // rows of other shards before pos (Options.Owns)

	audienceRemove bool // the default action removes

	// CSV
	sc      csvScanner
	header  []string
	plan    plan
	scratch []byte
	bad     []cellError // the bad cells of the current row
	warned  []bool      // by column: a Warning was given

	// JSONL
	lineBuf []byte
	names   [64]name // scratch for finding a repeated attribute name
}

// NewReader returns a Reader of in, positioned at opts.Start. For CSV it
// reads and checks the header first, always from the start of the stream; a
// header it cannot use (none, no key column, a bad or repeated column) is an
// error that names the column. Then it skips to opts.Start, by seeking when
// in is a plain regular file, else by discarding bytes. An Input that cannot
// seek (stdin, gzip) backs one Reader only; one that can is rewound for each
// new Reader.
func NewReader(in *Input, opts Options) (*Reader, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	if in.used {
		if !in.seekable {
			return nil, errors.New("new reader: input already read and not seekable")
		}
		if err := in.seek(0); err != nil {
			return nil, fmt.Errorf("new reader: %w", err)
		}
	}
	in.used = true
	r := &Reader{in: in, opts: opts, pos: Position{Line: 1}}
	r.audienceRemove, _ = parseAudienceAction(opts.AudienceAction)
	r.lim = limitReader{r: in.stream, limit: math.MaxInt64}
	r.br = bufio.NewReaderSize(&r.lim, bufSize)
	if b, _ := r.br.Peek(3); bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
		r.br.Discard(3)
		r.pos.Offset = 3
	}
	if opts.Format == FormatCSV {
		if err := r.readHeader(); err != nil {
			return nil, err
		}
	}
	if err := r.skipTo(opts.Start); err != nil {
		return nil, err
	}
	if opts.Format == FormatCSV {
		r.newCSV()
	}
	return r, nil
}

// fill checks o and sets its defaults.
func (o *Options) fill() error {
	switch o.Entity {
	case EntityCatalog, EntityProfiles, EntityAudiences:
	default:
		return fmt.Errorf("new reader: invalid entity %v", o.Entity)
	}
	switch o.Format {
	case FormatCSV, FormatJSONL:
	default:
		return fmt.Errorf("new reader: invalid format %v", o.Format)
	}
	if o.Delimiter == 0 {
		o.Delimiter = ','
	}
	if o.Delimiter == '"' || o.Delimiter == '\r' || o.Delimiter == '\n' ||
		o.Delimiter == utf8.RuneError || !utf8.ValidRune(o.Delimiter) {
		return fmt.Errorf("new reader: invalid delimiter %q", o.Delimiter)
	}
	if _, ok := parseAudienceAction(o.AudienceAction); !ok {
		return fmt.Errorf("new reader: invalid audience action %q (want add, delete or remove)", o.AudienceAction)
	}
	if o.AudienceID < 0 {
		return fmt.Errorf("new reader: invalid audience id %d", o.AudienceID)
	}
	if o.maxRowBytes < 0 {
		return fmt.Errorf("new reader: invalid max row bytes %d", o.maxRowBytes)
	}
	if o.maxRowBytes == 0 {
		o.maxRowBytes = defaultMaxRowBytes
	}
	if o.Columns != nil {
		if o.Format != FormatCSV {
			return errors.New("new reader: a column mapping applies to CSV only")
		}
		if o.Columns.Entity != o.Entity.mappingEntity() {
			return fmt.Errorf("new reader: the column mapping is for %s, not %v", o.Columns.Entity, o.Entity)
		}
	}
	if o.Start.Offset < 0 || (o.Start.Offset > 0 && o.Start.Line < 1) {
		return fmt.Errorf("new reader: invalid start position %+v", o.Start)
	}
	return nil
}

// skipTo moves the reader forward to start, unless start is the zero
// Position.
func (r *Reader) skipTo(start Position) error {
	if start.Offset == 0 {
		return nil
	}
	if start.Offset < r.pos.Offset {
		return fmt.Errorf("new reader: start offset %d is before the first row at %d", start.Offset, r.pos.Offset)
	}
	if start.Offset > r.pos.Offset {
		if r.in.seekable {
			if start.Offset > r.in.size {
				return fmt.Errorf("new reader: start offset %d is past the end of the input (%d bytes)", start.Offset, r.in.size)
			}
			if err := r.in.seek(start.Offset); err != nil {
				return fmt.Errorf("new reader: %w", err)
			}
			r.lim.delivered = start.Offset
			r.br.Reset(&r.lim)
		} else if _, err := io.CopyN(io.Discard, r.br, start.Offset-r.pos.Offset); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("new reader: skip to offset %d: %w", start.Offset, err)
		}
	}
	r.pos = start
	r.other.Store(start.Other)
	return nil
}

// Next returns the next row. A rejected row comes back with Row.Err set and
// a nil error. At the end of the input the error is io.EOF; any other error
// is fatal for the input (an I/O error, truncated gzip), names the line,
// and is returned again by later calls.
func (r *Reader) Next() (Row, error) {
	if r.err != nil {
		return Row{}, r.err
	}
	var row Row
	var err error
	for {
		if r.opts.Format == FormatCSV {
			row, err = r.nextCSV()
		} else {
			row, err = r.nextJSONL()
		}
		if err != errNotOwned {
			break
		}
		r.other.Add(1)
	}
	if err != nil {
		r.err = err
		return Row{}, err
	}
	row.Seq = r.seq
	row.Resume.Other = r.other.Load()
	r.seq++
	return row, nil
}
