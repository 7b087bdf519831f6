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

// Reject is one line of the rejects file.
type Reject struct {
	// Line is the 1-based line where the row starts in the input.
	Line int64 `json:"line"`
	// Error is the reason the row was rejected.
	Error string `json:"error"`
	// Record is the input row (parse rejects) or the item as sent (API rejects).
	Record json.RawMessage `json:"record,omitempty"`
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
}

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

// Write appends one reject.
func (r *RejectsFile) Write(rej Reject) error {
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
