package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// checkOutputs checks, before anything is read or sent, that the files a
// run writes at its end can be written: --report and --metrics-file now,
// so that a report of a failed run is not lost. The rejects file and the
// checkpoint's lock are opened by prepare, also before anything is sent.
func (o *syncOptions) checkOutputs() error {
	if err := o.checkLocations(); err != nil {
		return err
	}
	if err := o.checkMetrics(); err != nil {
		return err
	}
	if o.Report == "" || isObjectLocation(o.Report) {
		return nil
	}
	if err := checkWritable(o.Report); err != nil {
		o.reportUnwritable = true
		return usage(fmt.Errorf("--report %s cannot be written: %w", o.Report, err))
	}
	return nil
}

// checkWritable opens path for writing, creating it (and removing it
// again) when it does not exist, without touching an existing file's
// content.
func checkWritable(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return errors.New("it is a directory")
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return unwrapPath(err)
	}
	f.Close()
	if errors.Is(statErr, fs.ErrNotExist) {
		os.Remove(path)
	}
	return nil
}

// unwrapPath drops the path from an *fs.PathError, whose path the message
// already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fallbackRejects is where rejects go when the default path, beside the
// input, is in a directory that cannot be written: the working directory.
func fallbackRejects(path string) string {
	return filepath.Base(path)
}
