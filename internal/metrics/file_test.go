package metrics

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	t0 = time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)
	t1 = t0.Add(90*time.Second + 250*time.Millisecond)
)

func successRun() Run {
	return Run{
		Entity: "catalog", Target: "42",
		Rows:     Rows{Delivered: 990, Rejected: 0, Failed: 0, Unchanged: 5, NotAttempted: 0, Merged: 5},
		Requests: Requests{OK: 10, ClientError: 0, RateLimited: 2, ServerError: 1, Transport: 1},
		Retries:  4, Start: t0, End: t1, ExitCode: 0, Success: true,
	}
}

// series is one parsed sample: its labels and value.
type series struct {
	labels map[string]string
	value  float64
}

// parseFile parses a metrics file with expfmt's text parser.
func parseFile(t *testing.T, path string) map[string][]series {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(f)
	require.NoError(t, err)
	return families(t, mfs)
}

func families(t *testing.T, mfs map[string]*dto.MetricFamily) map[string][]series {
	t.Helper()
	out := map[string][]series{}
	for name, mf := range mfs {
		require.Equal(t, dto.MetricType_GAUGE, mf.GetType(), name)
		require.NotEmpty(t, mf.GetHelp(), name)
		for _, m := range mf.GetMetric() {
			s := series{labels: map[string]string{}, value: m.GetGauge().GetValue()}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			out[name] = append(out[name], s)
		}
	}
	return out
}

// value returns the value of the one series of name whose labels include want.
func value(t *testing.T, fams map[string][]series, name string, want map[string]string) float64 {
	t.Helper()
	var found []float64
	for _, s := range fams[name] {
		ok := true
		for k, v := range want {
			ok = ok && s.labels[k] == v
		}
		if ok {
			found = append(found, s.value)
		}
	}
	require.Len(t, found, 1, "%s%v in %v", name, want, fams[name])
	return found[0]
}

func TestWriteFileContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "talonsync.prom")
	require.NoError(t, WriteFile(path, successRun()))
	fams := parseFile(t, path)
	assert.Len(t, fams, 7)
	for name, ss := range fams {
		for _, s := range ss {
			assert.Equal(t, "catalog", s.labels[LabelEntity], name)
			assert.Equal(t, "42", s.labels[LabelTarget], name)
		}
	}
	base := map[string]string{LabelEntity: "catalog", LabelTarget: "42"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range base {
			m[a] = b
		}
		return m
	}
	rows := map[string]float64{"delivered": 990, "rejected": 0, "failed": 0, "unchanged": 5, "not_attempted": 0, "merged": 5}
	assert.Len(t, fams[NameRows], len(rows))
	for o, v := range rows {
		assert.Equal(t, v, value(t, fams, NameRows, with(LabelOutcome, o)), o)
	}
	reqs := map[string]float64{"2xx": 10, "4xx": 0, "429": 2, "5xx": 1, "transport": 1}
	assert.Len(t, fams[NameRequests], len(reqs))
	for c, v := range reqs {
		assert.Equal(t, v, value(t, fams, NameRequests, with(LabelClass, c)), c)
	}
	assert.Equal(t, 4.0, value(t, fams, NameRetries, base))
	assert.Equal(t, 90.25, value(t, fams, NameDuration, base))
	assert.Equal(t, 0.0, value(t, fams, NameExitCode, base))
	assert.Equal(t, unix(t1), value(t, fams, NameLastRun, base))
	assert.Equal(t, unix(t1), value(t, fams, NameLastSuccess, base))

	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, FileMode, fi.Mode().Perm())
}

func TestWriteFileWithoutTarget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.prom")
	r := successRun()
	r.Entity, r.Target = "profiles", ""
	require.NoError(t, WriteFile(path, r))
	for name, ss := range parseFile(t, path) {
		for _, s := range ss {
			assert.Equal(t, "profiles", s.labels[LabelEntity], name)
			assert.NotContains(t, s.labels, LabelTarget, name)
		}
	}
}

func TestWriteFileOutcomes(t *testing.T) {
	earlier := t0.Add(-24 * time.Hour)
	tests := []struct {
		name        string
		previous    *Run // written first, if set
		run         func(Run) Run
		wantExit    float64
		wantSuccess time.Time
	}{
		{name: "success", run: func(r Run) Run { return r }, wantSuccess: t1},
		{name: "rejects count as success", run: func(r Run) Run {
			r.Rows.Rejected, r.ExitCode = 3, 3
			return r
		}, wantExit: 3, wantSuccess: t1},
		{name: "failure without a previous file", run: failed, wantExit: 1},
		{name: "failure carries over the last success", previous: ptr(endedAt(successRun(), earlier)), run: failed, wantExit: 1, wantSuccess: earlier},
		{name: "failure after failure keeps carrying it", previous: ptr(failedWith(earlier)), run: failed, wantExit: 1, wantSuccess: earlier},
		{name: "success replaces the carried value", previous: ptr(endedAt(successRun(), earlier)), run: func(r Run) Run { return r }, wantSuccess: t1},
		{name: "another target's success is not carried", previous: ptr(retarget(endedAt(successRun(), earlier), "7")), run: failed, wantExit: 1},
		{name: "a given last success wins over the file", previous: ptr(endedAt(successRun(), earlier)), run: func(r Run) Run {
			r = failed(r)
			r.LastSuccess = earlier.Add(time.Hour)
			return r
		}, wantExit: 1, wantSuccess: earlier.Add(time.Hour)},
		{name: "interrupted", run: func(r Run) Run {
			r = failed(r)
			r.ExitCode = 130
			return r
		}, wantExit: 130},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.prom")
			if tc.previous != nil {
				require.NoError(t, WriteFile(path, *tc.previous))
			}
			require.NoError(t, WriteFile(path, tc.run(successRun())))
			fams := parseFile(t, path)
			base := map[string]string{LabelEntity: "catalog", LabelTarget: "42"}
			assert.Equal(t, tc.wantExit, value(t, fams, NameExitCode, base))
			assert.Equal(t, unix(tc.wantSuccess), value(t, fams, NameLastSuccess, base))
			got, err := LastSuccess(path, "catalog", "42")
			require.NoError(t, err)
			assert.True(t, tc.wantSuccess.Equal(got), "want %v, got %v", tc.wantSuccess, got)
		})
	}
}

func failed(r Run) Run {
	r.Success, r.ExitCode = false, 1
	r.Rows.Failed, r.Rows.Delivered = r.Rows.Delivered, 0
	return r
}

func failedWith(last time.Time) Run {
	r := failed(successRun())
	r.LastSuccess = last
	return r
}

func endedAt(r Run, end time.Time) Run {
	r.Start, r.End = end.Add(-time.Minute), end
	return r
}

func retarget(r Run, target string) Run {
	r.Target = target
	return r
}

func ptr[T any](v T) *T { return &v }

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.prom")
	require.NoError(t, os.WriteFile(path, []byte("# old\n"), 0o600))
	require.NoError(t, WriteFile(path, successRun()))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left")
	assert.Equal(t, "m.prom", entries[0].Name())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, FileMode, fi.Mode().Perm(), "the new file has the metrics file mode, not the old file's")
	assert.NotEmpty(t, parseFile(t, path))

	t.Run("rename fails: old content stays, no temporary file", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "m.prom")
		require.NoError(t, os.Mkdir(target, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(target, "keep"), []byte("x"), 0o600))
		assert.Error(t, WriteFile(target, successRun()))
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, entries, 1)
		assert.True(t, entries[0].IsDir())
	})
	t.Run("missing directory", func(t *testing.T) {
		assert.Error(t, WriteFile(filepath.Join(t.TempDir(), "no", "m.prom"), successRun()))
	})
}

func TestWriteFileMalformedPrevious(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.prom")
	require.NoError(t, os.WriteFile(path, []byte("talonsync_exit_code{ 1\n"), 0o644))
	err := WriteFile(path, failed(successRun()))
	assert.ErrorIs(t, err, ErrCarryOver)
	fams := parseFile(t, path)
	assert.Equal(t, 0.0, value(t, fams, NameLastSuccess, map[string]string{LabelEntity: "catalog"}))
	assert.Equal(t, 1.0, value(t, fams, NameExitCode, map[string]string{LabelEntity: "catalog"}), "the new file is written anyway")

	// A successful run needs no carry-over and does not read the old file.
	require.NoError(t, os.WriteFile(path, []byte("garbage{\n"), 0o644))
	assert.NoError(t, WriteFile(path, successRun()))
}

func TestLastSuccess(t *testing.T) {
	dir := t.TempDir()
	got, err := LastSuccess(filepath.Join(dir, "none.prom"), "catalog", "42")
	require.NoError(t, err)
	assert.True(t, got.IsZero(), "a missing file is no error")

	path := filepath.Join(dir, "m.prom")
	r := successRun()
	r.End = time.Date(2025, 3, 1, 2, 3, 4, 567_000_000, time.UTC)
	require.NoError(t, WriteFile(path, r))
	got, err = LastSuccess(path, "catalog", "42")
	require.NoError(t, err)
	assert.Equal(t, r.End, got, "millisecond precision survives the text format")
	got, err = LastSuccess(path, "profiles", "")
	require.NoError(t, err)
	assert.True(t, got.IsZero(), "another entity's series is not read")

	require.NoError(t, os.Mkdir(filepath.Join(dir, "d.prom"), 0o755))
	_, err = LastSuccess(filepath.Join(dir, "d.prom"), "catalog", "42")
	assert.Error(t, err)
}

func TestNewRegistryZeroRun(t *testing.T) {
	mfs, err := NewRegistry(Run{Entity: "audiences"}).Gather()
	require.NoError(t, err)
	fams := families(t, func() map[string]*dto.MetricFamily {
		m := map[string]*dto.MetricFamily{}
		for _, mf := range mfs {
			m[mf.GetName()] = mf
		}
		return m
	}())
	base := map[string]string{LabelEntity: "audiences"}
	assert.Equal(t, 0.0, value(t, fams, NameDuration, base), "no start: no duration")
	assert.Equal(t, 0.0, value(t, fams, NameLastRun, base))
	assert.Equal(t, 0.0, value(t, fams, NameLastSuccess, base))
}
