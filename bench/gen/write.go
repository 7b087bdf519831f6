package main

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gocarina/gocsv"
)

// chunkRows is how many rows go to gocsv per call. gocsv marshals a slice
// (or a channel of interface{} values); slices of a few thousand rows keep
// memory flat and avoid a channel send per row.
const chunkRows = 4096

// writeCSV writes rows drawn by next as CSV with gocsv: the header comes from
// the struct tags of T. next is called n times.
func writeCSV[T any](w io.Writer, n int, next func() T) error {
	cw := gocsv.NewSafeCSVWriter(csv.NewWriter(w))
	chunk := make([]T, 0, chunkRows)
	header := true
	for done := 0; done < n || header; {
		chunk = chunk[:0]
		for len(chunk) < chunkRows && done < n {
			chunk = append(chunk, next())
			done++
		}
		var err error
		if header {
			// gocsv needs a non-empty slice only to find the type; an empty
			// slice still gives the header.
			err = gocsv.MarshalCSV(chunk, cw)
			header = false
		} else {
			err = gocsv.MarshalCSVWithoutHeaders(chunk, cw)
		}
		if err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	return nil
}

// writeJSONL writes n rows drawn by next, one JSON object a line.
func writeJSONL[T any](w io.Writer, n int, next func() T) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for range n {
		if err := enc.Encode(next()); err != nil {
			return fmt.Errorf("write jsonl: %w", err)
		}
	}
	return nil
}

// atomicFile writes path through a temporary file in the same directory,
// optionally gzipped, and renames it into place on Commit, so that a
// half-written file never looks like a finished input to bench/run.sh.
type atomicFile struct {
	path string
	f    *os.File
	buf  *bufio.Writer
	gz   *gzip.Writer
	w    io.Writer
}

func createAtomic(path string, gz bool) (*atomicFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	a := &atomicFile{path: path, f: f, buf: bufio.NewWriterSize(f, 1<<20)}
	a.w = a.buf
	if gz {
		// BestSpeed: generating 5M rows stays quick, and the level does not
		// change how fast talonsync inflates the file.
		a.gz, _ = gzip.NewWriterLevel(a.buf, gzip.BestSpeed)
		a.w = a.gz
	}
	return a, nil
}

func (a *atomicFile) Write(p []byte) (int, error) { return a.w.Write(p) }

// Commit flushes, syncs and renames the file into place.
func (a *atomicFile) Commit() error {
	if a.gz != nil {
		if err := a.gz.Close(); err != nil {
			return err
		}
	}
	if err := a.buf.Flush(); err != nil {
		return err
	}
	if err := a.f.Sync(); err != nil {
		return err
	}
	if err := a.f.Close(); err != nil {
		return err
	}
	return os.Rename(a.f.Name(), a.path)
}

// Abort removes the temporary file; it is a no-op after Commit.
func (a *atomicFile) Abort() {
	a.f.Close()
	os.Remove(a.f.Name())
}
