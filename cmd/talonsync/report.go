package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/talonsync/talonsync/internal/batch"
	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/pace"
)

// The outcomes a report records, one per exit code but for 0, which is
// completed or nothing_to_do.
const (
	outcomeCompleted   = "completed"     // every row delivered (exit 0)
	outcomeNothingToDo = "nothing_to_do" // a completed checkpoint of this input (exit 0)
	outcomeRejected    = "rejected_rows" // finished, some rows rejected (exit 3)
	outcomeFailed      = "failed"        // the run failed (exit 1)
	outcomeInterrupted = "interrupted"   // SIGINT or SIGTERM (exit 130)
	outcomeUsage       = "usage_error"   // a usage or configuration error (exit 2)
)

// report is the JSON written by --report on every ending of a sync that
// got past flag parsing. Row counts cover the whole input across every run
// of a checkpoint: read = delivered + rejected + unchanged + failed +
// not_attempted (+ would_send in a dry run).
type report struct {
	Outcome  string `json:"outcome"`
	ExitCode int    `json:"exit_code"`
	Entity   string `json:"entity"`
	Input    string `json:"input"`
	DryRun   bool   `json:"dry_run"`
	// Read counts the rows read; each is one of the outcomes below.
	Read      int64 `json:"read"`
	Delivered int64 `json:"delivered"` // the API confirmed them
	Rejected  int64 `json:"rejected"`  // in the rejects file, with their line and reason
	Unchanged int64 `json:"unchanged"` // not sent: --state says the API holds them
	// Failed counts rows that were sent without an outcome: their request
	// failed or was cancelled. A rerun sends them again.
	Failed int64 `json:"failed"`
	// NotAttempted counts rows no request carried: the run stopped first.
	NotAttempted int64 `json:"not_attempted"`
	// WouldSend counts the rows a dry run validated and would have sent.
	WouldSend int64 `json:"would_send,omitempty"`
	// Merged counts rows that went out within the item of another row of
	// their key (the key's net effect); each is also delivered, rejected
	// or failed with it.
	Merged int64 `json:"merged"`
	// Removals of --prune/--mirror, not in read. A dry run counts what it
	// would remove in would_remove.
	Pruned         int64   `json:"pruned"`
	PruneRejected  int64   `json:"prune_rejected"`
	WouldRemove    int64   `json:"would_remove,omitempty"`
	Batches        int64   `json:"batches"`
	Requests       int64   `json:"requests"`
	Retries        int64   `json:"retries"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	RowsPerSecond  float64 `json:"rows_per_second"`
	Runs           int     `json:"runs"`
	Resumed        bool    `json:"resumed"`
	// RequestsByClass counts Requests by answer: 2xx, 4xx (not 429), 429,
	// 5xx and transport (no answer).
	RequestsByClass checkpoint.Answers `json:"requests_by_class"`
	// RejectsPath is the rejects file, when there is one.
	RejectsPath string `json:"rejects_path,omitempty"`
	Error       string `json:"error,omitempty"`
	// GraceExpired: a stop cancelled requests still in flight when --grace
	// ran out.
	GraceExpired bool `json:"grace_expired,omitempty"`
	// Pace is how fast this run sent: what it achieved and what it learned.
	Pace *paceReport `json:"pace,omitempty"`
	// This run alone.
	RunRead           int64   `json:"run_read"`
	RunElapsedSeconds float64 `json:"run_elapsed_seconds"`
	// PeakRSSBytes is this run's peak resident memory (Linux; 0 elsewhere).
	PeakRSSBytes int64 `json:"peak_rss_bytes,omitempty"`

	started time.Time // when the command started, for the metrics
	// Shard is the run's --shard, "I/N"; SkippedOtherShards counts the rows
	// of the input it skipped as other shards' (not in read): read plus
	// skipped_other_shards is every row of the input it read.
	Shard              string `json:"shard,omitempty"`
	SkippedOtherShards int64  `json:"skipped_other_shards,omitempty"`
}

// paceReport is the pacing of one run.
type paceReport struct {
	// RequestsPerSecond is requests sent over the run's time.
	RequestsPerSecond float64 `json:"requests_per_second"`
	// LearnedRate is the rate the pacer settled on after 429s, requests/s;
	// 0 when the API never throttled (no pacing beyond --rate).
	LearnedRate float64 `json:"learned_rate"`
	RateCap     float64 `json:"rate_cap,omitempty"`
	// ConcurrencyLimit is the limit on requests in flight at the end;
	// MaxConcurrencyLimit the highest it reached.
	ConcurrencyLimit    int   `json:"concurrency_limit"`
	MaxConcurrencyLimit int   `json:"max_concurrency_limit"`
	Throttled           int64 `json:"throttled"` // 429 answers
	Failed              int64 `json:"failed"`    // 5xx, 408 and timeouts
}

func newPaceReport(ps pace.Stats, requests int64, elapsed time.Duration) *paceReport {
	r := &paceReport{
		LearnedRate: ps.Learned, RateCap: ps.Cap, ConcurrencyLimit: ps.Limit, MaxConcurrencyLimit: ps.MaxLimit,
		Throttled: ps.Throttled, Failed: ps.Failed,
	}
	if elapsed > 0 {
		r.RequestsPerSecond = float64(requests) / elapsed.Seconds()
	}
	return r
}

func newReport(o *syncOptions) *report {
	return &report{Entity: o.Entity.String(), Input: o.Input, DryRun: o.DryRun, Runs: 1, started: time.Now()}
}

// fill records the counts of a run: this run's result added to those of
// the runs it resumes.
func (r *report) fill(st *resumeState, res batch.Result, elapsed time.Duration) {
	total := st.prior().Add(res.Counts)
	r.Read, r.Delivered, r.Rejected, r.Unchanged = total.Read, total.Delivered, total.Rejected, total.Unchanged
	r.Failed, r.NotAttempted, r.WouldSend = res.Failed(), res.NotAttempted(), res.WouldSend
	r.Batches, r.Requests, r.Retries = total.Batches, total.Requests, total.Retries
	r.RequestsByClass = total.Answers
	r.ElapsedSeconds = st.record.Elapsed + elapsed.Seconds()
	r.Runs, r.Resumed = max(st.record.Runs, 1), st.resumed
	r.RunRead, r.RunElapsedSeconds = res.Read, elapsed.Seconds()
	if r.RunElapsedSeconds > 0 {
		r.RowsPerSecond = float64(res.Read) / r.RunElapsedSeconds
	}
}

// fillDone records the counts of a completed checkpoint, for a run with
// nothing to do.
func (r *report) fillDone(st *resumeState) {
	c := st.record.Counts
	r.Read, r.Delivered, r.Rejected, r.Unchanged = c.Read, c.Delivered, c.Rejected, c.Unchanged
	r.Batches, r.Requests, r.Retries = c.Batches, c.Requests, c.Retries
	r.RequestsByClass = c.Answers
	r.ElapsedSeconds, r.Runs = st.record.Elapsed, st.record.Runs
	r.SkippedOtherShards = st.record.OtherShards
}

// conclude sets the report's outcome and exit code from the command's
// error, and writes it to --report when that was given and can be
// written.
func (r *report) conclude(o *syncOptions, err error, finished bool) error {
	r.ExitCode = exitCode(err)
	r.Outcome = outcomeOf(r.ExitCode, finished)
	r.Shard = o.shardSetting()
	if err != nil {
		r.Error = err.Error()
	}
	if r.RejectsPath != "" && !isObjectLocation(r.RejectsPath) {
		if _, serr := os.Stat(r.RejectsPath); serr != nil {
			r.RejectsPath = "" // removed: nothing was rejected
		}
	}
	r.PeakRSSBytes = peakRSS()
	if o.Report == "" || o.reportUnwritable {
		return err
	}
	if lostOwnership(err) {
		// The run that owns the checkpoint now writes this report.
		o.log().Info("no report written: " + o.Report + " is the other run's")
		return err
	}
	if werr := r.write(o, o.Report); werr != nil && err == nil {
		return werr
	}
	return err
}

func outcomeOf(code int, finished bool) string {
	switch code {
	case exitOK:
		if finished {
			return outcomeNothingToDo
		}
		return outcomeCompleted
	case exitRejected:
		return outcomeRejected
	case exitInterrupted:
		return outcomeInterrupted
	case exitUsage:
		return outcomeUsage
	}
	return outcomeFailed
}

// write replaces the report file atomically, mode 0644 (it holds counts
// only).
func (r *report) write(o *syncOptions, path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := o.writeOutput(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// summary logs the short human summary: one line of counts, with the
// report's figures as a group for the JSON format, and lines for the
// removals, the runs of a resumed input and the rejects file.
func (r *report) summary(log *slog.Logger, o *syncOptions) {
	sent := fmt.Sprintf("%d delivered", r.Delivered)
	if r.DryRun {
		sent = fmt.Sprintf("%d would be sent", r.WouldSend)
	}
	if o.State != "" {
		sent += fmt.Sprintf(", %d unchanged", r.Unchanged)
	}
	failed := fmt.Sprintf("%d failed", r.Failed)
	if r.NotAttempted > 0 {
		failed += fmt.Sprintf(", %d not attempted", r.NotAttempted)
	}
	mode := ""
	if r.DryRun {
		mode = " (dry run: nothing was sent)"
	}
	log.Info(fmt.Sprintf("talonsync %s: %d read, %s, %d rejected, %s in %.1fs (%.0f rows/s), %s, %s%s",
		r.Entity, r.Read, sent, r.Rejected, failed, r.RunElapsedSeconds, r.RowsPerSecond,
		counted(r.Requests, "request", "requests"), counted(r.Retries, "retry", "retries"), mode),
		slog.Group("summary",
			"entity", r.Entity, "read", r.Read, "delivered", r.Delivered, "unchanged", r.Unchanged, "rejected", r.Rejected,
			"failed", r.Failed, "not_attempted", r.NotAttempted, "would_send", r.WouldSend,
			"elapsed_seconds", r.RunElapsedSeconds, "rows_per_second", r.RowsPerSecond,
			"requests", r.Requests, "retries", r.Retries, "dry_run", r.DryRun))
	if o.pruning() {
		line := fmt.Sprintf("removed as absent from this feed: %d, rejected: %d", r.Pruned, r.PruneRejected)
		if r.DryRun {
			line = fmt.Sprintf("would remove as absent from this feed: %d", r.WouldRemove)
		}
		log.Info(line, slog.Group("prune", "removed", r.Pruned, "rejected", r.PruneRejected, "would_remove", r.WouldRemove))
	}
	if p := r.Pace; p != nil && r.Requests > 0 {
		line := fmt.Sprintf("pace: %.1f requests/s, up to %d in flight", p.RequestsPerSecond, p.MaxConcurrencyLimit)
		if p.Throttled > 0 {
			line += fmt.Sprintf("; %d answered 429, then paced at %.3g requests/s", p.Throttled, p.LearnedRate)
		}
		log.Info(line, slog.Group("pace", "requests_per_second", p.RequestsPerSecond, "learned_rate", p.LearnedRate,
			"max_concurrency_limit", p.MaxConcurrencyLimit, "throttled", p.Throttled))
	}
	if r.Resumed {
		log.Info(fmt.Sprintf("over %d runs; this run read %d rows", r.Runs, r.RunRead),
			slog.Group("runs", "runs", r.Runs, "run_read", r.RunRead))
	}
	if r.Rejected > 0 {
		log.Info("rejected rows: "+r.RejectsPath, slog.Group("rejects", "path", r.RejectsPath, "rows", r.Rejected))
	}
}
