package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/talonsync/talonsync/internal/batch"
	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
)

// retryFlags are the sync flags retry takes as they are: connection,
// sending and outputs. --rejects is its own, with another default.
var retryFlags = []string{
	"base-url", "api-key-file", "allow-insecure-http",
	"workers", "max-workers", "batch-size", "rate", "max-retries", "request-timeout", "grace",
	"report", "dry-run", "progress", "stats-interval", "log-format", "verbose",
	"metrics-file", "pushgateway", "pushgateway-job", "pushgateway-grouping",
}

// retryOptions are the flags of retry that sync does not have.
type retryOptions struct {
	entity     string // for rejects files that do not record it
	audienceID int64  // sends every membership to this audience
}

func newRetryCmd(e *env) *cobra.Command {
	o := e.newSyncOptions(0) // the entity is the rejects file's
	ro := &retryOptions{}
	cmd := &cobra.Command{
		Use:   "retry REJECTS_FILE [flags]",
		Short: "Send again the rows of a rejects file that the API refused",
		Long: `Send again the rows of a rejects file that the API refused, once their
cause is fixed (most often a custom attribute that did not exist yet), to the
entity and target the file records, through the same pipeline as a sync.

Rows rejected while reading (bad input) are listed and skipped: fix them in
the input and sync it again. What still fails, input rejects included, goes
to a new rejects file, by default REJECTS_FILE with .retry.jsonl for .jsonl.
Exit codes as for a sync: 0 when every row was delivered, 3 when some are in
the new rejects file.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usage(fmt.Errorf("retry takes exactly one rejects file; got %d (see '%s --help')", len(args), cmd.CommandPath()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Input = args[0]
			return runRetry(cmd.Context(), o, ro)
		},
	}
	all := pflag.NewFlagSet("sync", pflag.ContinueOnError)
	o.addFlags(all)
	fs := cmd.Flags()
	for _, name := range retryFlags {
		fs.AddFlag(all.Lookup(name))
	}
	o.flags = fs
	fs.StringVar(&o.Rejects, "rejects", "", "new rejects file of what still fails (default: REJECTS_FILE with .jsonl replaced by .retry.jsonl)")
	fs.Int64Var(&o.CatalogID, "catalog-id", 0, "send catalog rows to this catalog instead of the one the rejects file records")
	fs.Int64Var(&ro.audienceID, "audience-id", 0, "send every membership to this audience instead of the ones the rejects file records")
	fs.BoolVar(&o.Silent, "silent", o.Silent, "profiles: send silent=yes (204, no profiles in the answer); --silent=false asks for silent=no")
	fs.BoolVar(&o.AllowBulk, "allow-bulk", false, "catalog: allow PATCH_MANY and REMOVE_MANY rows without filters, which touch every item of the catalog")
	fs.StringVar(&ro.entity, "entity", "", "catalog, profiles or audiences, for a rejects file written before talonsync recorded the entity")
	return cmd
}

// retryRejectsPath is the default new rejects file of a retry of path.
func retryRejectsPath(path string) string {
	return strings.TrimSuffix(path, ".jsonl") + ".retry.jsonl"
}

// retryJob is a sync job whose rows come from a rejects file.
type retryJob struct {
	*job
	src  *replaySource
	file *os.File // the rejects file, read a second time
}

func (j *retryJob) close() {
	j.job.close()
	if j.file != nil {
		j.file.Close()
	}
}

// runRetry retries one rejects file end to end, like runSync: check, scan
// the file, send, report, and map the outcome to the command's error.
func runRetry(ctx context.Context, o *syncOptions, ro *retryOptions) (err error) {
	o.console = newConsole(o.io().ErrOut)
	o.env.log = newLogger(o.console, o.LogFormat, o.Verbose)
	rep := newReport(o)
	rep.Entity = ""
	defer func() {
		err = rep.conclude(o, err, false)
		o.exportMetrics(ctx, rep, exitCode(err))
	}()
	j, err := o.prepareRetry(ro, rep)
	if err != nil {
		return err
	}
	defer j.close()
	started := time.Now()
	res, runErr := j.execute(ctx)
	runErr = j.finish(rep, res, runErr, time.Since(started))
	return o.outcome(rep, runErr)
}

// prepareRetry checks the options, scans the rejects file and opens what
// the run needs, before anything is sent.
func (o *syncOptions) prepareRetry(ro *retryOptions, rep *report) (_ *retryJob, err error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := o.checkOutputs(); err != nil {
		return nil, err
	}
	if ro.audienceID < 0 {
		return nil, usage(fmt.Errorf("--audience-id must be positive"))
	}
	sc, err := scanRejects(o.Input, ro.entity, o.CatalogID)
	if err != nil {
		return nil, err
	}
	if ro.audienceID > 0 && sc.entity != readers.EntityAudiences {
		return nil, usage(fmt.Errorf("--audience-id is for audience rejects; %s holds %s rejects", o.Input, sc.entity))
	}
	o.Entity, o.CatalogID = sc.entity, sc.origin.CatalogID
	if ro.audienceID > 0 {
		o.AudienceID, sc.origin.AudienceID = ro.audienceID, ro.audienceID
	}
	rep.Entity = o.Entity.String()
	out := o.Rejects
	if out == "" {
		out = retryRejectsPath(o.Input)
	}
	if err := notSameFile(o.Input, out); err != nil {
		return nil, err
	}
	sc.announce(o.log(), out)

	j := &retryJob{job: &job{o: o, log: o.log(), stats: &batch.Stats{}}}
	defer func() {
		if err != nil {
			j.close()
		}
	}()
	if j.pacer, err = o.newPacer(); err != nil {
		return nil, err
	}
	if !o.DryRun {
		if j.sender, err = o.client(); err != nil {
			return nil, err
		}
	}
	j.st = &resumeState{rejectsPath: out, record: checkpoint.Record{RunID: rand.Text(), RejectsPath: out, Runs: 1}}
	if j.rejects, err = checkpoint.OpenRejects(out, 0); err != nil {
		return nil, err
	}
	j.rejects.SetOrigin(sc.origin)
	if j.file, err = os.Open(o.Input); err != nil {
		return nil, fmt.Errorf("open rejects file: %w", err)
	}
	queue := &replayQueue{}
	stream := &replayStream{f: j.file, br: bufio.NewReaderSize(j.file, 64<<10), path: o.Input, queue: queue, audienceID: ro.audienceID}
	if j.in, err = readers.Open("-", stream); err != nil {
		return nil, fmt.Errorf("read %s: %w", o.Input, err)
	}
	if j.rd, err = readers.NewReader(j.in, readers.Options{Entity: o.Entity, Format: readers.FormatJSONL, AllowBulk: o.AllowBulk}); err != nil {
		return nil, fmt.Errorf("read %s: %w", o.Input, err)
	}
	j.src = &replaySource{rd: j.rd, queue: queue, path: o.Input}
	return j, nil
}

// notSameFile refuses a new rejects file that is the one being retried.
func notSameFile(in, out string) error {
	a, aerr := filepath.Abs(in)
	b, berr := filepath.Abs(out)
	same := aerr == nil && berr == nil && a == b
	if ai, err := os.Stat(in); err == nil {
		if bi, err := os.Stat(out); err == nil && os.SameFile(ai, bi) {
			same = true
		}
	}
	if same {
		return usage(fmt.Errorf("--rejects %s is the file being retried: give another", out))
	}
	return nil
}

// announce says what the retry sends and lists the input rejects it skips.
func (sc *rejectsScan) announce(log *slog.Logger, out string) {
	target := ""
	switch {
	case sc.entity == readers.EntityCatalog && sc.origin.CatalogID > 0:
		target = fmt.Sprintf(" to catalog %d", sc.origin.CatalogID)
	case sc.entity == readers.EntityAudiences && sc.origin.AudienceID > 0:
		target = fmt.Sprintf(" to audience %d", sc.origin.AudienceID)
	}
	log.Info(fmt.Sprintf("retrying %s the API rejected%s, from %s", rowsText(sc.api), target, sc.path),
		slog.Group("retry", "api_rejects", sc.api, "input_rejects", sc.input, "rejects", out))
	if sc.input == 0 {
		return
	}
	in := "the input"
	if sc.origin.Input != "" {
		in = sc.origin.Input
	}
	log.Warn(fmt.Sprintf("%s rejected while reading %s, not by the API: retry cannot fix them and skips them (they stay in %s); fix them in %s and sync it again:",
		rowsText(sc.input), in, out, in))
	for _, rej := range sc.listed {
		log.Warn("  " + rej.Error)
	}
	if more := sc.input - int64(len(sc.listed)); more > 0 {
		log.Warn(fmt.Sprintf("  ... and %d more", more))
	}
}

// execute runs the pipeline over the replayed rows, with the progress
// display beside it.
func (j *retryJob) execute(ctx context.Context) (batch.Result, error) {
	defer context.AfterFunc(ctx, func() {
		j.log.Warn(fmt.Sprintf("%v: finishing requests in flight, then stopping (send it again to exit at once)", context.Cause(ctx)))
	})()
	prog := startProgress(j.o, j.stats, j.pacer, j.in, checkpoint.Counts{}, j.o.console)
	res, err := batch.Run(ctx, j.src, j.config())
	prog.stop()
	return res, err
}

// rowsText is "1 row" or "n rows".
func rowsText(n int64) string { return counted(n, "row", "rows") }

// counted is n with the noun for its number: "1 request", "3 requests".
func counted(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
