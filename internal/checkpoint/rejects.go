package checkpoint

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
)

// The sources of a reject: what refused the row, and so what its record
// holds.
const (
	// SourceInput: rejected while reading; the record is the input row. The
	// input must be fixed.
	SourceInput = "input"
	// SourceAPI: refused by the API; the record is the item as sent, which
	// `talonsync retry` sends again.
	SourceAPI = "api"
)

// Reject is one line of the rejects file. Each line is complete on its
// own: besides the row it says where the row came from and where it was
// sent (Origin), so a file filtered with grep, or files of several shards
// put together, can still be retried.
type Reject struct {
	// Line is the 1-based line where the row starts in the input; 0 for
	// a removal of --prune or --mirror, which has no line.
	Line int64 `json:"line"`
	// Error is the reason the row was rejected.
	Error string `json:"error"`
	// Record is the input row (SourceInput) or the item as sent (SourceAPI).
	Record json.RawMessage `json:"record,omitempty"`
	// Source is SourceInput or SourceAPI; empty in files written before
	// talonsync recorded it.
	Source string `json:"source,omitempty"`
	Origin
}

// Origin is where a run's rows come from and where they go. The rejects
// file adds it to every line (see RejectsFile.SetOrigin).
type Origin struct {
	// Entity is "catalog", "profiles" or "audiences".
	Entity string `json:"entity,omitempty"`
	// CatalogID is the catalog of a catalog run.
	CatalogID int64 `json:"catalog_id,omitempty"`
	// AudienceID and Action are --audience-id and --action of an audiences
	// run, for rows that give none (an item as sent holds its own).
	AudienceID int64  `json:"audience_id,omitempty"`
	Action     string `json:"action,omitempty"`
	// Input is the input as given ("-" for stdin), and Format its format
	// ("csv" or "jsonl").
	Input  string `json:"input,omitempty"`
	Format string `json:"format,omitempty"`
}

// RejectsFile appends rejected rows to a JSONL file created with mode 0600.
// It is not safe for concurrent use; the Ledger serialises access.
type RejectsFile struct {
	f    *os.File
	w    *bufio.Writer
	size int64
	// synced is the size last made durable; Sync skips the fsync when
	// nothing was written since.
	synced int64
	origin Origin
}

// SetOrigin makes Write add o to every later reject that has no entity of
// its own.
func (r *RejectsFile) SetOrigin(o Origin) { r.origin = o }

// OpenRejects opens path for appending rejects. The file is truncated to keep
// bytes: 0 for a fresh run, the length a checkpoint recorded for a resumed
// one, so that no reject is written twice across runs.
func OpenRejects(path string, keep int64) (*RejectsFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open rejects file: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("open rejects file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open rejects file: %w", err)
	}
	if st.Size() < keep {
		f.Close()
		return nil, fmt.Errorf("rejects file %s has %d bytes, the checkpoint expects at least %d: it was changed since the last run", path, st.Size(), keep)
	}
	if err := f.Truncate(keep); err != nil {
		f.Close()
		return nil, fmt.Errorf("truncate rejects file: %w", err)
	}
	if _, err := f.Seek(keep, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("seek rejects file: %w", err)
	}
	return &RejectsFile{f: f, w: bufio.NewWriterSize(f, 64<<10), size: keep, synced: -1}, nil
}

// Write appends one reject, with the file's Origin when rej has none.
func (r *RejectsFile) Write(rej Reject) error {
	if rej.Entity == "" {
		rej.Origin = r.origin
	}
	if len(rej.Record) > 0 && !json.Valid(rej.Record) {
		s, _ := json.Marshal(string(rej.Record))
		rej.Record = s
	}
	b, err := json.Marshal(rej)
	if err != nil {
		return fmt.Errorf("encode reject of line %d: %w", rej.Line, err)
	}
	b = append(b, '\n')
	n, err := r.w.Write(b)
	r.size += int64(n)
	if err != nil {
		return fmt.Errorf("write rejects file: %w", err)
	}
	return nil
}

// Size returns the file's length including buffered bytes.
func (r *RejectsFile) Size() int64 { return r.size }

// Sync flushes buffered rejects and makes them durable.
func (r *RejectsFile) Sync() error {
	if r.synced == r.size {
		return nil
	}
	if err := r.w.Flush(); err != nil {
		return fmt.Errorf("write rejects file: %w", err)
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("sync rejects file: %w", err)
	}
	r.synced = r.size
	return nil
}

// Close flushes and closes the file. If remove is true and no reject was
// written, the empty file is removed.
func (r *RejectsFile) Close(removeIfEmpty bool) error {
	err := r.w.Flush()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err == nil && removeIfEmpty && r.size == 0 {
		err = os.Remove(r.f.Name())
	}
	return err
}

// Path returns the file's path.
func (r *RejectsFile) Path() string { return r.f.Name() }

// SortRejects rewrites the rejects file at path with its rejects in input
// line order (rejects are written as their outcome is known: a row the API
// refused comes after rows read later that were rejected while reading).
// Rejects without a line (removals of a prune) go last; rejects of one line
// keep their order. A file over limit bytes is left as it is, and sorted
// reports false. The rewrite is atomic; the file keeps mode 0600.
func SortRejects(path string, limit int64) (sorted bool, err error) {
	st, err := os.Stat(path)
	if err != nil || st.Size() > limit {
		return false, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	type line struct {
		n    int64
		text []byte
	}
	var lines []line
	for rest := data; len(rest) > 0; {
		text, tail, _ := bytes.Cut(rest, []byte("\n"))
		rest = tail
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		var r struct {
			Line int64 `json:"line"`
		}
		if json.Unmarshal(text, &r) != nil {
			return false, fmt.Errorf("sort rejects file: a line is not a reject: %.80q", text)
		}
		if r.Line <= 0 {
			r.Line = math.MaxInt64
		}
		lines = append(lines, line{n: r.Line, text: text})
	}
	if slices.IsSortedFunc(lines, func(a, b line) int { return cmp.Compare(a.n, b.n) }) {
		return true, nil
	}
	slices.SortStableFunc(lines, func(a, b line) int { return cmp.Compare(a.n, b.n) })
	out := make([]byte, 0, len(data))
	for _, l := range lines {
		out = append(append(out, l.text...), '\n')
	}
	if err := WriteFileAtomic(path, out); err != nil {
		return false, fmt.Errorf("sort rejects file: %w", err)
	}
	return true, nil
}
