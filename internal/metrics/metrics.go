// Package metrics exports one run's figures in the Prometheus text format,
// for node_exporter's textfile collector (WriteFile) and for a Pushgateway
// (Push).
//
// A run is a batch job, so every figure is a gauge that holds this run's
// value, not a counter: two runs that deliver the same number of rows must
// not look like no work to rate(). The metrics:
//
//	talonsync_run_rows{outcome}                 rows by outcome (Outcomes)
//	talonsync_run_requests{class}               requests by answer (Classes); 429s are class="429"
//	talonsync_run_retries                       requests sent again
//	talonsync_run_duration_seconds              wall time of the run
//	talonsync_exit_code                         the process's exit code
//	talonsync_last_run_timestamp_seconds        when the run ended (Unix seconds)
//	talonsync_last_success_timestamp_seconds    when the last successful run ended; 0 if none is known
//
// In a metrics file every series carries the labels entity and, when set,
// target; in a push they are grouping labels instead.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names.
const (
	NameRows        = "talonsync_run_rows"
	NameRequests    = "talonsync_run_requests"
	NameRetries     = "talonsync_run_retries"
	NameDuration    = "talonsync_run_duration_seconds"
	NameExitCode    = "talonsync_exit_code"
	NameLastRun     = "talonsync_last_run_timestamp_seconds"
	NameLastSuccess = "talonsync_last_success_timestamp_seconds"
)

// Label names.
const (
	LabelEntity  = "entity"
	LabelTarget  = "target"
	LabelOutcome = "outcome"
	LabelClass   = "class"
)

// Outcomes are the values of the outcome label, in the order of Rows' fields.
var Outcomes = []string{"delivered", "rejected", "failed", "unchanged", "not_attempted", "merged"}

// Classes are the values of the class label, in the order of Requests' fields.
var Classes = []string{"2xx", "4xx", "429", "5xx", "transport"}

// Rows counts a run's rows by outcome.
type Rows struct {
	Delivered    int64 // confirmed by the API
	Rejected     int64 // refused, locally or by the API; in the rejects file
	Failed       int64 // not confirmed when the run stopped
	Unchanged    int64 // skipped by --state: the API already holds them
	NotAttempted int64 // read but never sent (the run stopped first)
	// Merged counts rows sent inside one item with other rows of their
	// key; each of them also counts as delivered, rejected or failed, so
	// it is not added to the others.
	Merged int64
}

// Requests counts a run's requests, retries included, by answer.
type Requests struct {
	OK          int64 // 2xx
	ClientError int64 // 4xx other than 429
	RateLimited int64 // 429
	ServerError int64 // 5xx
	Transport   int64 // no answer: timeout, refused or cut connection
}

// Run is one run's figures. The zero value is a run that did nothing.
type Run struct {
	// Entity is "catalog", "profiles" or "audiences"; the entity label.
	Entity string
	// Target is the catalog or audience ID where one applies; the target
	// label, left out when empty.
	Target   string
	Rows     Rows
	Requests Requests
	Retries  int64
	// Start and End bound the run; End is the last run timestamp.
	Start, End time.Time
	// ExitCode is the process's exit code.
	ExitCode int
	// Success says the run counts as a success for the last-success
	// timestamp. Then that timestamp is End, whatever LastSuccess holds.
	Success bool
	// LastSuccess is when the last successful run ended, for a run that
	// did not succeed; zero means unknown. WriteFile fills it from the
	// previous file when it is zero.
	LastSuccess time.Time
}

// lastSuccess is the value of the last-success gauge: End for a successful
// run, else LastSuccess; zero when unknown.
func (r Run) lastSuccess() time.Time {
	if r.Success {
		return r.End
	}
	return r.LastSuccess
}

// NewRegistry returns a registry that holds r's metrics, each with the
// entity and target labels, as WriteFile writes them.
func NewRegistry(r Run) *prometheus.Registry {
	return registry(r, true, true)
}

// registry builds the metrics of r. labels adds entity and target to every
// series (a push sends them as grouping labels instead); withLastSuccess
// adds the last-success gauge.
func registry(r Run, labels, withLastSuccess bool) *prometheus.Registry {
	var cl prometheus.Labels
	if labels {
		cl = prometheus.Labels{LabelEntity: r.Entity}
		if r.Target != "" {
			cl[LabelTarget] = r.Target
		}
	}
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: cl})
		g.Set(v)
		reg.MustRegister(g)
	}
	vec := func(name, help, label string, names []string, vals []int64) {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: cl}, []string{label})
		for i, n := range names {
			g.WithLabelValues(n).Set(float64(vals[i]))
		}
		reg.MustRegister(g)
	}
	rw, rq := r.Rows, r.Requests
	vec(NameRows, "Rows of the last run by outcome.", LabelOutcome, Outcomes,
		[]int64{rw.Delivered, rw.Rejected, rw.Failed, rw.Unchanged, rw.NotAttempted, rw.Merged})
	vec(NameRequests, "Requests of the last run, retries included, by answer: 2xx, 4xx (not 429), 429, 5xx, transport (no answer).", LabelClass, Classes,
		[]int64{rq.OK, rq.ClientError, rq.RateLimited, rq.ServerError, rq.Transport})
	gauge(NameRetries, "Requests of the last run that were retries.", float64(r.Retries))
	var d time.Duration
	if !r.Start.IsZero() && r.End.After(r.Start) {
		d = r.End.Sub(r.Start)
	}
	gauge(NameDuration, "Wall time of the last run.", d.Seconds())
	gauge(NameExitCode, "Exit code of the last run: 0 success, 3 some rows rejected, 1 failed, 2 usage error, 130 interrupted.", float64(r.ExitCode))
	gauge(NameLastRun, "When the last run ended, in Unix seconds.", unix(r.End))
	if withLastSuccess {
		gauge(NameLastSuccess, "When the last successful run ended, in Unix seconds; 0 if none is known.", unix(r.lastSuccess()))
	}
	return reg
}

// unix is t in Unix seconds to the millisecond; 0 for the zero time.
// Dividing whole milliseconds keeps the text short: 1740794490.25, not
// 1.7407944902499998e+09.
func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1e3
}
