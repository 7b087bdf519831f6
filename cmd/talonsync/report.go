package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/talonsync/talonsync/internal/checkpoint"
)

// report is the JSON written by --report. Counts cover the whole input
// across every run of a checkpoint, so read == delivered + rejected + failed
// + unchanged.
type report struct {
	Entity         string  `json:"entity"`
	Input          string  `json:"input"`
	DryRun         bool    `json:"dry_run"`
	Read           int64   `json:"read"`
	Delivered      int64   `json:"delivered"`
	Rejected       int64   `json:"rejected"`
	Failed         int64   `json:"failed"`
	Unchanged      int64   `json:"unchanged"`      // not sent: --state says the API holds them
	Pruned         int64   `json:"pruned"`         // removals of --prune/--mirror (dry run: would send); not in read
	PruneRejected  int64   `json:"prune_rejected"` // removals the API rejected
	Batches        int64   `json:"batches"`
	Requests       int64   `json:"requests"`
	Retries        int64   `json:"retries"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	RowsPerSecond  float64 `json:"rows_per_second"`
	Runs           int     `json:"runs"`
	Resumed        bool    `json:"resumed"`
	RejectsPath    string  `json:"rejects_path"`
	Error          string  `json:"error,omitempty"`
	// This run alone.
	RunRead           int64   `json:"run_read"`
	RunElapsedSeconds float64 `json:"run_elapsed_seconds"`
	// PeakRSSBytes is this run's peak resident memory (Linux; 0 elsewhere).
	PeakRSSBytes int64 `json:"peak_rss_bytes,omitempty"`
}

func newReport(o *syncOptions, st *resumeState, run checkpoint.Counts, elapsed time.Duration, runErr error) *report {
	total := st.prior().Add(run)
	r := &report{
		Entity: o.Entity.String(), Input: o.Input, DryRun: o.DryRun,
		Read: total.Read, Delivered: total.Delivered, Rejected: total.Rejected, Unchanged: total.Unchanged,
		Failed:  total.Read - total.Delivered - total.Rejected - total.Unchanged,
		Batches: total.Batches, Requests: total.Requests, Retries: total.Retries,
		ElapsedSeconds: st.record.Elapsed + elapsed.Seconds(),
		Runs:           max(st.record.Runs, 1), Resumed: st.resumed,
		RunRead: run.Read, RunElapsedSeconds: elapsed.Seconds(),
	}
	if r.RunElapsedSeconds > 0 {
		r.RowsPerSecond = float64(run.Read) / r.RunElapsedSeconds
	}
	if runErr != nil {
		r.Error = runErr.Error()
	}
	r.PeakRSSBytes = peakRSS()
	return r
}

func (r *report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// summary logs the short human summary: one line of counts, with the
// report's figures as a group for the JSON format, and lines for the
// removals, the runs of a resumed input and the rejects file.
func (r *report) summary(log *slog.Logger, o *syncOptions) {
	mode := ""
	if r.DryRun {
		mode = " (dry run: nothing was sent)"
	}
	unchanged := ""
	if o.State != "" {
		unchanged = fmt.Sprintf(", %d unchanged", r.Unchanged)
	}
	log.Info(fmt.Sprintf("talonsync %s: %d read, %d delivered%s, %d rejected, %d failed in %.1fs (%.0f rows/s), %d requests, %d retries%s",
		r.Entity, r.Read, r.Delivered, unchanged, r.Rejected, r.Failed, r.RunElapsedSeconds, r.RowsPerSecond, r.Requests, r.Retries, mode),
		slog.Group("summary",
			"entity", r.Entity, "read", r.Read, "delivered", r.Delivered, "unchanged", r.Unchanged, "rejected", r.Rejected,
			"failed", r.Failed, "elapsed_seconds", r.RunElapsedSeconds, "rows_per_second", r.RowsPerSecond,
			"requests", r.Requests, "retries", r.Retries, "dry_run", r.DryRun))
	if o.pruning() {
		log.Info(fmt.Sprintf("removed as absent from this feed: %d, rejected: %d", r.Pruned, r.PruneRejected),
			slog.Group("prune", "removed", r.Pruned, "rejected", r.PruneRejected))
	}
	if r.Resumed {
		log.Info(fmt.Sprintf("over %d runs; this run read %d rows", r.Runs, r.RunRead),
			slog.Group("runs", "runs", r.Runs, "run_read", r.RunRead))
	}
	if r.Rejected > 0 {
		log.Info("rejected rows: "+r.RejectsPath, slog.Group("rejects", "path", r.RejectsPath, "rows", r.Rejected))
	}
}
