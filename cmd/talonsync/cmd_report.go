package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/talonsync/talonsync/internal/blob"
	"github.com/talonsync/talonsync/internal/shard"
)

// outcomeOrder ranks the outcomes from worst to best: a merged report
// takes the worst of its parts, and its exit code.
var outcomeOrder = []string{outcomeFailed, outcomeUsage, outcomeInterrupted, outcomeRejected, outcomeCompleted, outcomeNothingToDo}

// outcomeCode is the exit code of each outcome.
var outcomeCode = map[string]int{
	outcomeFailed: exitFailed, outcomeUsage: exitUsage, outcomeInterrupted: exitInterrupted,
	outcomeRejected: exitRejected, outcomeCompleted: exitOK, outcomeNothingToDo: exitOK,
}

func worse(a, b string) bool {
	rank := func(o string) int {
		for i, x := range outcomeOrder {
			if x == o {
				return i
			}
		}
		return 0 // an unknown outcome counts as failed
	}
	return rank(a) < rank(b)
}

// mergedReport is the report of a sharded sync: the sums of its shards'
// reports, the worst outcome, and each part.
type mergedReport struct {
	report
	// InputRows is the number of rows in the input, which every shard read
	// (read + skipped_other_shards); 0 when the parts do not say.
	InputRows int64        `json:"input_rows,omitempty"`
	Parts     []reportPart `json:"reports"`
}

// reportPart is one merged report, or one that could not be read.
type reportPart struct {
	Location  string `json:"location"`
	Shard     string `json:"shard,omitempty"`
	Outcome   string `json:"outcome"`
	ExitCode  int    `json:"exit_code"`
	Read      int64  `json:"read"`
	Delivered int64  `json:"delivered"`
	Rejected  int64  `json:"rejected"`
	Rejects   string `json:"rejects_path,omitempty"`
	Error     string `json:"error,omitempty"`
}

// codeError ends a command with its own exit code; its message was printed.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

func newReportCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Work with the JSON reports of --report",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newReportMergeCmd(e))
	return cmd
}

func newReportMergeCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "merge REPORT...",
		Short: "Sum the reports of the shards of one sync into one, on stdout",
		Long: `Sum the --report files of the shards of one sync (paths, s3:// or gs://
URLs) into one report, printed as JSON on stdout. Counts are summed and
elapsed times are the longest. The outcome is the worst of the shards' in
this order: failed, usage_error, interrupted, rejected_rows, completed,
nothing_to_do; the exit code is that outcome's (1, 2, 130, 3, 0, 0). A
report that cannot be read, a shard of I/N that has no report, two reports
of one shard, and shards that read inputs of different row counts make the
merged outcome failed.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usage(fmt.Errorf("report merge needs at least one report (see '%s --help')", cmd.CommandPath()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			m := mergeReports(cmd.Context(), blob.New(blob.Options{}), args)
			b, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintln(e.io.Out, string(b)); err != nil {
				return err
			}
			e.log.Info(fmt.Sprintf("merged %d reports: %s, %d read, %d delivered, %d rejected, %d failed, %d not attempted",
				len(args), m.Outcome, m.Read, m.Delivered, m.Rejected, m.Failed, m.NotAttempted))
			if m.ExitCode == exitOK {
				return nil
			}
			if m.Error != "" {
				e.log.Error(m.Error)
			}
			return quiet(&codeError{code: m.ExitCode, err: errors.New(m.Outcome)})
		},
	}
}

// mergeReports reads and sums the reports at locs.
func mergeReports(ctx context.Context, store *blob.Store, locs []string) *mergedReport {
	m := &mergedReport{}
	m.Outcome = outcomeNothingToDo
	var problems []string
	var read []*report
	var readLocs []string
	for _, loc := range locs {
		r, err := readReportAt(ctx, store, loc)
		if err != nil {
			m.Parts = append(m.Parts, reportPart{Location: loc, Outcome: outcomeFailed, ExitCode: exitFailed, Error: err.Error()})
			problems = append(problems, err.Error())
			m.Outcome = outcomeFailed
			continue
		}
		read, readLocs = append(read, r), append(readLocs, loc)
		m.Parts = append(m.Parts, reportPart{Location: loc, Shard: r.Shard, Outcome: r.Outcome, ExitCode: r.ExitCode,
			Read: r.Read, Delivered: r.Delivered, Rejected: r.Rejected, Rejects: r.RejectsPath, Error: r.Error})
		if worse(r.Outcome, m.Outcome) {
			m.Outcome = r.Outcome
		}
		if r.Error != "" {
			problems = append(problems, partName(loc, r)+": "+r.Error)
		}
		m.add(r)
	}
	if len(read) > 0 {
		m.Entity, m.Input, m.DryRun = read[0].Entity, read[0].Input, read[0].DryRun
	}
	if p := checkParts(read, readLocs); len(p) > 0 {
		problems = append(problems, p...)
		m.Outcome = outcomeFailed
	}
	if m.RunElapsedSeconds > 0 {
		m.RowsPerSecond = float64(m.RunRead) / m.RunElapsedSeconds
	}
	m.InputRows = inputRows(read)
	m.ExitCode = outcomeCode[m.Outcome]
	m.Error = strings.Join(problems, "; ")
	return m
}

func partName(loc string, r *report) string {
	if r.Shard != "" {
		return "shard " + r.Shard
	}
	return loc
}

// add sums r into m.
func (m *mergedReport) add(r *report) {
	m.Read += r.Read
	m.Delivered += r.Delivered
	m.Rejected += r.Rejected
	m.Unchanged += r.Unchanged
	m.Failed += r.Failed
	m.NotAttempted += r.NotAttempted
	m.WouldSend += r.WouldSend
	m.Pruned += r.Pruned
	m.PruneRejected += r.PruneRejected
	m.WouldRemove += r.WouldRemove
	m.Batches += r.Batches
	m.Requests += r.Requests
	m.Retries += r.Retries
	m.RequestsByClass = m.RequestsByClass.Add(r.RequestsByClass)
	m.Merged += r.Merged
	m.RunRead += r.RunRead
	m.ElapsedSeconds = max(m.ElapsedSeconds, r.ElapsedSeconds)
	m.RunElapsedSeconds = max(m.RunElapsedSeconds, r.RunElapsedSeconds)
	m.PeakRSSBytes = max(m.PeakRSSBytes, r.PeakRSSBytes)
	m.Runs = max(m.Runs, r.Runs)
	m.Resumed = m.Resumed || r.Resumed
}

// checkParts finds what makes a set of shard reports not one sync: other
// entities, shards of different counts, a shard twice or missing, and
// shards that finished reading inputs of different sizes. locs[i] is where
// reps[i] was read.
func checkParts(reps []*report, locs []string) []string {
	var problems []string
	count := -1
	seen := map[int]string{}
	for i, r := range reps {
		if r.Entity != reps[0].Entity || r.DryRun != reps[0].DryRun {
			problems = append(problems, fmt.Sprintf("%s is a %s report and %s a %s one", partName(locs[0], reps[0]), reps[0].Entity, partName(locs[i], r), r.Entity))
		}
		if r.Shard == "" {
			continue
		}
		spec, err := shard.Parse(r.Shard, func(string) string { return "" })
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", locs[i], err))
			continue
		}
		if count >= 0 && spec.Count != count {
			problems = append(problems, fmt.Sprintf("shards of %d and of %d are merged", count, spec.Count))
		}
		count = spec.Count
		if prev, dup := seen[spec.Index]; dup {
			problems = append(problems, fmt.Sprintf("shard %s has two reports: %s and %s", r.Shard, prev, locs[i]))
		}
		seen[spec.Index] = locs[i]
	}
	var missing []string
	for i := 0; i < count; i++ {
		if _, ok := seen[i]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", i, count))
		}
	}
	if len(missing) > 0 {
		problems = append(problems, "no report of shard "+strings.Join(missing, ", "))
	}
	rows := map[int64][]string{}
	for _, r := range reps {
		if r.Shard != "" && finishedReading(r) {
			rows[r.Read+r.SkippedOtherShards] = append(rows[r.Read+r.SkippedOtherShards], r.Shard)
		}
	}
	if len(rows) > 1 {
		var parts []string
		for n, shards := range rows {
			parts = append(parts, fmt.Sprintf("%s read %d rows", strings.Join(shards, ", "), n))
		}
		sort.Strings(parts)
		problems = append(problems, "the shards read inputs of different sizes: "+strings.Join(parts, "; "))
	}
	return problems
}

// finishedReading reports whether a report's run read its whole input.
func finishedReading(r *report) bool {
	switch r.Outcome {
	case outcomeCompleted, outcomeRejected, outcomeNothingToDo:
		return true
	}
	return false
}

// inputRows is the input's row count, when the shards that read it all
// agree on it.
func inputRows(reps []*report) int64 {
	var n int64
	for _, r := range reps {
		if r.Shard == "" || !finishedReading(r) {
			continue
		}
		if k := r.Read + r.SkippedOtherShards; n == 0 || k == n {
			n = k
		} else {
			return 0
		}
	}
	return n
}

// readReportAt reads one --report file or object.
func readReportAt(ctx context.Context, store *blob.Store, loc string) (*report, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	b, _, err := store.Get(ctx, loc)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("report %s is not a talonsync report: %w", loc, err)
	}
	if r.Outcome == "" || r.Entity == "" {
		return nil, fmt.Errorf("report %s is not a talonsync report: it has no outcome or entity", loc)
	}
	return &r, nil
}
