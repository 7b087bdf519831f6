package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// FileMode is the mode of a metrics file: node_exporter runs as another
// user and must read it. It holds no secret.
const FileMode fs.FileMode = 0o644

// ErrCarryOver marks an error reading the previous metrics file for the
// last-success timestamp. WriteFile still writes the new file then, with
// the timestamp it could not carry over set to 0.
var ErrCarryOver = errors.New("metrics: last success not carried over")

// WriteFile writes r's metrics to path in the Prometheus text format,
// atomically: a hidden temporary file in the same directory (which the
// textfile collector, reading *.prom only, ignores) is written, synced,
// given FileMode and renamed over path, and the directory is synced. A
// reader sees the old file or the new one, never a part.
//
// When r did not succeed and r.LastSuccess is zero, the last-success
// timestamp of the same entity and target is carried over from the file at
// path, so an alert on its age keeps working across failed runs. A missing
// previous file carries over nothing. A previous file that cannot be read
// or parsed gives an error wrapping ErrCarryOver, after the new file was
// written; any other error means path was not changed.
func WriteFile(path string, r Run) error {
	var carryErr error
	if !r.Success && r.LastSuccess.IsZero() {
		t, err := LastSuccess(path, r.Entity, r.Target)
		if err != nil {
			carryErr = fmt.Errorf("%w: %w", ErrCarryOver, err)
		}
		r.LastSuccess = t
	}
	var buf bytes.Buffer
	if err := encode(&buf, r); err != nil {
		return err
	}
	if err := writeAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("metrics: write %s: %w", path, err)
	}
	return carryErr
}

// encode writes r's metrics with entity and target labels in text format.
func encode(buf *bytes.Buffer, r Run) error {
	mfs, err := NewRegistry(r).Gather()
	if err != nil {
		return fmt.Errorf("metrics: gather: %w", err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(buf, mf); err != nil {
			return fmt.Errorf("metrics: encode: %w", err)
		}
	}
	return nil
}

// writeAtomic writes data to path through a synced temporary file and a
// rename, then syncs the directory so the rename survives a crash.
func writeAtomic(path string, data []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(FileMode); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	done = true
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// LastSuccess reads the last-success timestamp of entity and target from
// the metrics file at path. It returns the zero time and no error when the
// file does not exist, holds no such series, or holds 0 (none known).
func LastSuccess(path, entity, target string) (time.Time, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(f)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse %s: %w", path, err)
	}
	mf := mfs[NameLastSuccess]
	if mf == nil {
		return time.Time{}, nil
	}
	for _, m := range mf.GetMetric() {
		if label(m, LabelEntity) != entity || label(m, LabelTarget) != target {
			continue
		}
		v := m.GetGauge().GetValue()
		if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return time.Time{}, nil
		}
		return time.UnixMilli(int64(math.Round(v * 1e3))).UTC(), nil
	}
	return time.Time{}, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
