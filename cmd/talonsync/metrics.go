package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/talonsync/talonsync/internal/metrics"
	"github.com/talonsync/talonsync/internal/readers"
)

// pushTimeout bounds the push at the end of a run, which runs after an
// interrupt too, so it cannot use the run's context.
const pushTimeout = 10 * time.Second

// metricsOptions are --metrics-file and the --pushgateway flags.
type metricsOptions struct {
	File     string
	Gateway  string
	Job      string
	Grouping []string // NAME=VALUE

	// Set by checkMetrics: fileOK and pushOK say the file can be written
	// and the push is well formed; the run ends without the others.
	checked        bool
	fileOK, pushOK bool
	grouping       map[string]string // parsed Grouping
}

func (m *metricsOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&m.File, "metrics-file", "", "write the run's metrics in Prometheus text format to this file at its end, for node_exporter's textfile collector")
	fs.StringVar(&m.Gateway, "pushgateway", "", "push the run's metrics to this Prometheus Pushgateway at its end, e.g. http://pushgateway:9091")
	fs.StringVar(&m.Job, "pushgateway-job", metrics.DefaultJob, "job label of the push")
	fs.StringArrayVar(&m.Grouping, "pushgateway-grouping", nil, "another grouping label of the push, NAME=VALUE (repeatable), e.g. shard=2 when several pods sync one target")
}

// labelName is a Prometheus label name.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// checkMetrics checks the metrics flags before anything is sent: a
// --metrics-file that cannot be written, a --pushgateway that is not an
// http(s) URL or a malformed grouping label is a usage error. Each output
// that passes is still written at the end of the run.
func (o *syncOptions) checkMetrics() error {
	m := &o.Metrics
	m.checked = true
	if o.DryRun && (m.File != "" || m.Gateway != "") {
		return usage(errors.New("--dry-run cannot be used with --metrics-file or --pushgateway: a dry run would replace a real run's metrics"))
	}
	pushErr := m.checkGateway()
	m.pushOK = m.Gateway != "" && pushErr == nil
	var fileErr error
	if m.File != "" {
		if err := checkAtomicWritable(m.File); err != nil {
			fileErr = usage(fmt.Errorf("--metrics-file %s cannot be written: %w", m.File, err))
		}
		m.fileOK = fileErr == nil
	}
	if fileErr != nil {
		return fileErr
	}
	return pushErr
}

// checkGateway checks --pushgateway, --pushgateway-job and
// --pushgateway-grouping, and parses the grouping labels.
func (m *metricsOptions) checkGateway() error {
	if m.Gateway == "" {
		if len(m.Grouping) > 0 {
			return usage(errors.New("--pushgateway-grouping needs --pushgateway"))
		}
		return nil
	}
	u, err := url.Parse(m.Gateway)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usage(fmt.Errorf("--pushgateway must be an http:// or https:// URL, got %q", redactURL(m.Gateway)))
	}
	if m.Job == "" {
		return usage(errors.New("--pushgateway-job must not be empty"))
	}
	m.grouping = map[string]string{}
	for _, g := range m.Grouping {
		name, value, ok := strings.Cut(g, "=")
		switch {
		case !ok || !labelName.MatchString(name) || strings.HasPrefix(name, "__"):
			return usage(fmt.Errorf("--pushgateway-grouping must be NAME=VALUE with a label name, got %q", g))
		case name == "job" || name == metrics.LabelEntity || name == metrics.LabelTarget:
			return usage(fmt.Errorf("--pushgateway-grouping: %s is set by talonsync", name))
		}
		m.grouping[name] = value
	}
	return nil
}

// checkAtomicWritable checks that path can be replaced through a temporary
// file in its directory, as metrics.WriteFile does, without touching it.
func checkAtomicWritable(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return errors.New("it is a directory")
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".check-*")
	if err != nil {
		return unwrapPath(err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// exportMetrics writes --metrics-file and pushes to --pushgateway at the
// end of a run, whatever its outcome; code is the process's exit code.
// Neither changes the exit code: a failure is a warning, and the alert on
// the last success's age notices metrics that stopped coming.
func (o *syncOptions) exportMetrics(ctx context.Context, r *report, code int) {
	m := &o.Metrics
	if m.File == "" && m.Gateway == "" {
		return
	}
	if !m.checked { // the run ended before its outputs were checked
		if err := o.checkMetrics(); err != nil {
			o.log().Warn(err.Error())
		}
	}
	run := r.metricsRun(o, code, time.Now())
	if m.fileOK {
		err := metrics.WriteFile(m.File, run)
		switch {
		case errors.Is(err, metrics.ErrCarryOver):
			o.log().Warn(fmt.Sprintf("--metrics-file %s: the previous file could not be read, so the last success is not carried over: %v", m.File, err))
		case err != nil:
			o.log().Warn(fmt.Sprintf("--metrics-file: %v", err))
		}
	}
	if !m.pushOK {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pushTimeout)
	defer cancel()
	err := metrics.Push(ctx, metrics.PushConfig{URL: m.Gateway, Job: m.Job, Grouping: m.grouping}, run)
	if err != nil {
		o.log().Warn(fmt.Sprintf("--pushgateway: %v", redactURLs(err.Error(), m.Gateway)))
	}
}

// redactURLs drops the user info of url from msg.
func redactURLs(msg, raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return strings.ReplaceAll(msg, raw, redactURL(raw))
	}
	return msg
}

// metricsRun is the report's figures as metrics. A run that exits 0
// (delivered, or nothing to do) or 3 (finished with rows rejected) is a
// success for the last-success timestamp: the input was synced, and
// rejected rows have a gauge of their own. Rejects of --prune count as
// rejected, as they do for the exit code.
func (r *report) metricsRun(o *syncOptions, code int, end time.Time) metrics.Run {
	run := metrics.Run{
		Entity: r.Entity,
		Rows: metrics.Rows{
			Delivered: r.Delivered, Rejected: r.Rejected + r.PruneRejected, Failed: r.Failed,
			Unchanged: r.Unchanged, NotAttempted: r.NotAttempted, Merged: r.Merged,
		},
		Requests: metrics.Requests{
			OK: r.RequestsByClass.OK, ClientError: r.RequestsByClass.ClientError, RateLimited: r.RequestsByClass.RateLimited,
			ServerError: r.RequestsByClass.ServerError, Transport: r.RequestsByClass.Transport,
		},
		Retries: r.Retries, Start: r.started, End: end, ExitCode: code,
		Success: (code == exitOK || code == exitRejected) && !r.DryRun,
	}
	switch {
	case o.Entity == readers.EntityCatalog && o.CatalogID > 0:
		run.Target = strconv.FormatInt(o.CatalogID, 10)
	case o.Entity == readers.EntityAudiences && o.AudienceID > 0:
		run.Target = strconv.FormatInt(o.AudienceID, 10)
	}
	return run
}
