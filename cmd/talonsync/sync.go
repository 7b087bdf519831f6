package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/talonsync/talonsync/internal/batch"
	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/pace"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// runSync runs one sync command end to end: resolve the inputs, run the
// pipeline, report, and map the outcome to the command's error (and so its
// exit code).
func runSync(ctx context.Context, o *syncOptions) (err error) {
	o.console = newConsole(o.io().ErrOut)
	o.env.log = newLogger(o.console, o.LogFormat, o.Verbose)
	rep, finished := newReport(o), false
	defer func() {
		err = rep.conclude(o, err, finished)
		o.exportMetrics(ctx, rep, exitCode(err))
	}()
	j, err := o.prepare(ctx)
	if err != nil {
		return err
	}
	defer j.close()
	if j.st.finished {
		finished = true
		rep.fillDone(j.st)
		j.log.Info(fmt.Sprintf("nothing to do: checkpoint %s says this input was already synced completely (%d delivered, %d rejected)",
			o.Checkpoint, j.st.record.Counts.Delivered, j.st.record.Counts.Rejected))
		return nil
	}
	started := time.Now()
	res, runErr := j.execute(ctx)
	runErr = j.finish(rep, res, runErr, time.Since(started))
	return o.outcome(rep, runErr)
}

// job is one sync run, resolved from its options: the sender, the input and
// its reader, the checkpoint decision, the state and the rejects file.
type job struct {
	o       *syncOptions
	log     *slog.Logger
	sender  batch.Sender
	in      *readers.Input
	rd      *readers.Reader
	st      *resumeState
	inc     *incremental
	rejects *checkpoint.RejectsFile
	stats   *batch.Stats
	pacer   *pace.Pacer
	// src is the input; rloc where its rejects go; up uploads what the run
	// keeps in object storage (scale.go, uploads.go).
	src  *source
	rloc *rejectsLoc
	up   *uploader
}

// prepare checks the options and opens everything a run needs, before
// anything is sent.
func (o *syncOptions) prepare(ctx context.Context) (_ *job, err error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := o.applyShard(); err != nil {
		return nil, err
	}
	o.resolveRejects()
	if err := o.checkOutputs(); err != nil {
		return nil, err
	}
	if st, err := os.Stat(o.Input); err == nil && st.IsDir() {
		return nil, usage(fmt.Errorf("%s is a directory: give a CSV or JSONL file, or - for stdin", o.Input))
	}
	format, err := o.format()
	if err != nil {
		return nil, err
	}
	if err := o.loadInput(format); err != nil {
		return nil, err
	}
	j := &job{o: o, log: o.log(), stats: &batch.Stats{}}
	defer func() {
		if err != nil {
			j.close()
		}
	}()
	if j.pacer, err = o.newPacer(); err != nil {
		return nil, err
	}
	if !o.DryRun {
		c, err := o.client()
		if err != nil {
			return nil, err
		}
		j.sender = c
	}
	if j.src, err = o.openSource(ctx); err != nil {
		return nil, err
	}
	if j.st, err = o.openCheckpoint(ctx, j.src, o.settings(format)); err != nil || j.st.finished {
		return j, err
	}
	j.up = &uploader{store: o.blobs(), ck: j.st.ck, interval: o.UploadInterval, log: j.log}
	if j.inc, err = o.openState(ctx, j.up); err != nil {
		return nil, err
	}
	return j, j.open(ctx, format)
}

// open opens the input, its reader and the rejects file.
func (j *job) open(ctx context.Context, format readers.Format) error {
	o := j.o
	var err error
	var tap readers.Tap
	if j.st.hasher != nil {
		tap = j.st.hasher
	}
	if j.in, err = j.src.open(ctx, j.inc.start(j.st).Offset, tap); err != nil {
		return fmt.Errorf("open input: %w", err)
	}
	delim, _ := o.delimiter()
	ro := readers.Options{
		Entity: o.Entity, Format: format, Delimiter: delim,
		AudienceID: o.AudienceID, AudienceAction: o.AudienceAction, AllowBulk: o.AllowBulk,
		Start: j.inc.start(j.st), Owns: o.owns(),
	}
	o.inputOptions(&ro)
	j.rd, err = readers.NewReader(j.in, ro)
	if err != nil {
		return usage(fmt.Errorf("read %s: %w", o.Input, err))
	}
	j.rloc, j.rejects, err = o.openRejectsLoc(ctx, j.st.rejectsPath, j.st.record.Progress.RejectsSize)
	j.up.rejects = j.rloc
	if err != nil {
		return err
	}
	j.rejects.SetOrigin(o.origin(format))
	return nil
}

func (j *job) close() {
	if c, ok := j.sender.(*talon.Client); ok && c != nil {
		c.CloseIdleConnections()
	}
	if j.in != nil {
		j.in.Close()
	}
	j.inc.close()
	j.st.release()
	if j.rejects != nil {
		j.rejects.Close(false)
	}
	j.rloc.cleanup()
}

// settings are the options that shape batches, which a checkpoint records.
func (o *syncOptions) settings(format readers.Format) checkpoint.Settings {
	s := checkpoint.Settings{
		Entity: o.Entity.String(), Format: format.String(), CatalogID: o.CatalogID,
		AudienceID: o.AudienceID, Action: o.AudienceAction, BatchSize: o.BatchSize, Lanes: o.lanes(),
		Shard: o.shardSetting(),
	}
	if format == readers.FormatCSV {
		d, _ := o.delimiter()
		s.Delimiter = string(d)
	}
	return s
}

// execute runs the pipeline, with the progress display beside it.
func (j *job) execute(ctx context.Context) (batch.Result, error) {
	if j.st.resumed {
		j.log.Info(fmt.Sprintf("resuming from checkpoint %s: %d rows already done, continuing at line %d",
			j.o.Checkpoint, j.st.prior().Read, j.st.record.Progress.Resume.Line))
	}
	// The uploader stops the run when another run takes its checkpoint.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	j.up.stop = stop
	defer context.AfterFunc(ctx, func() {
		j.log.Warn(fmt.Sprintf("%v: finishing requests in flight, then stopping (send it again to exit at once)", context.Cause(ctx)))
	})()
	prog := startProgress(j.o, j.stats, j.pacer, j.in, j.st.prior(), j.o.console)
	cfg := j.config()
	j.up.start()
	res, err := batch.Run(ctx, j.inc.source(j.rd), cfg)
	err = j.inc.finish(ctx, err, cfg)
	if err == nil {
		err = j.complete()
	}
	prog.stop()
	err = j.upload(err)
	if j.in.Grew() {
		j.log.Warn(fmt.Sprintf("%s grew while it was read; only its first %d bytes, its size at start, were read: sync the rows appended since in another run", j.o.Input, j.in.Size()))
	}
	return res, err
}

// complete marks the checkpoint completed when the pipeline's own final
// checkpoint did not: after a prune phase, and in a --state run, which the
// state file resumes and the checkpoint only records as finished.
func (j *job) complete() error {
	switch {
	case j.o.Checkpoint == "":
		return nil
	case j.inc != nil:
		rec := j.st.record
		j.fill(&rec)
		rec.Completed, rec.UpdatedAt = true, time.Now().UTC()
		return j.st.ck.writeRecord(&rec)
	case j.o.pruning():
		return j.st.ck.markCompleted(time.Now())
	}
	return nil
}

// config is the pipeline's configuration.
func (j *job) config() batch.Config {
	o := j.o
	cfg := batch.Config{
		Endpoint: endpointOf(o.Entity), CatalogID: o.CatalogID, Silent: silentOf(o), RunID: j.st.record.RunID,
		Lanes: o.lanes(), BatchSize: o.BatchSize, Pacer: j.pacer, Grace: o.Grace,
		Retry:  batch.RetryPolicy{MaxRetries: retriesFlag(o.MaxRetries), Base: o.retryBase},
		Sender: j.sender, Rejects: j.rejects, Stats: j.stats, Logger: j.log,
	}
	if o.Checkpoint != "" && j.inc == nil {
		cfg.Checkpoint = &batch.Checkpointing{Path: o.Checkpoint, Record: j.st.record, Complete: !o.pruning(), Fill: j.fill}
		if j.st.ck.object() {
			cfg.Checkpoint.Write = j.st.ck.write
		}
	}
	if j.st.resumed {
		cfg.Skip = j.st.record.Progress.Skipper()
	}
	if o.Entity != readers.EntityCatalog {
		cfg.Merge = mergeOf(o.Entity)
	}
	j.inc.configure(&cfg)
	return cfg
}

// finish closes the rejects file, fills in the report and prints the
// summary.
func (j *job) finish(rep *report, res batch.Result, runErr error, elapsed time.Duration) error {
	if err := j.rejects.Close(!j.st.resumed); err != nil && runErr == nil {
		runErr = err
	}
	j.rejects = nil
	if runErr == nil || j.o.Checkpoint == "" {
		// A checkpoint that a later run resumes records the file's length:
		// only a finished file may be reordered.
		j.sortRejects()
	}
	rep.fill(j.st, res, elapsed)
	rep.GraceExpired = res.GraceExpired
	if !j.o.DryRun {
		rep.Pace = newPaceReport(j.pacer.Stats(), res.Requests+j.inc.pruneRequests(), elapsed)
	}
	rep.RejectsPath = j.st.rejectsPath
	rep.Merged = res.Merged
	j.fillReport(rep)
	j.inc.report(rep)
	if err := j.inc.commit(rep, runErr); err != nil && (runErr == nil || lostOwnership(err)) {
		runErr = err
	}
	rep.summary(j.log, j.o)
	return runErr
}

// maxSortRejects bounds the rejects file sorted in memory at the end of a
// run; a bigger one keeps the order the outcomes came in.
const maxSortRejects = 64 << 20

func (j *job) sortRejects() {
	sorted, err := checkpoint.SortRejects(j.st.rejectsPath, maxSortRejects)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		j.log.Warn(err.Error())
	case !sorted:
		j.log.Info(fmt.Sprintf("the rejects file %s is over %d MiB; its rejects stay in the order they came", j.st.rejectsPath, maxSortRejects>>20))
	}
}

// outcome turns the run's result into the command's error (and so its exit code).
func (o *syncOptions) outcome(rep *report, runErr error) error {
	var apiErr *talon.APIError
	switch {
	case runErr == nil && rep.Rejected+rep.PruneRejected > 0:
		return &rejectedError{n: rep.Rejected}
	case runErr == nil:
		return nil
	case lostOwnership(runErr):
		return runErr
	case errors.Is(runErr, checkpoint.ErrMismatch):
		return fmt.Errorf("%w\nthe checkpoint %s belongs to another input; give --restart to start over", runErr, o.Checkpoint)
	case errors.Is(runErr, batch.ErrInterrupted):
		if rep.GraceExpired {
			o.log().Warn(fmt.Sprintf("the grace period (--grace %v) ran out: the requests still in flight were cancelled, and their rows are not confirmed", o.Grace))
		}
		o.log().Info(o.resumeHint())
		return quiet(runErr)
	case errors.As(runErr, &apiErr) && (apiErr.Status == 401 || apiErr.Status == 403):
		return fmt.Errorf("the API refused the key (%d %s): check $TALON_API_KEY or --api-key-file, and that the key belongs to the Application of this base URL: %w", apiErr.Status, apiErr.Message, runErr)
	case errors.As(runErr, &apiErr) && apiErr.Status == 404 && o.Entity == readers.EntityCatalog:
		return fmt.Errorf("catalog %d not found (404): check --catalog-id: %w", o.CatalogID, runErr)
	case errors.As(runErr, &apiErr) && apiErr.Status == 404 && o.Entity == readers.EntityAudiences,
		errors.As(runErr, new(*batch.UnknownAudienceError)):
		return fmt.Errorf("the API does not know an audience of this file: check --audience-id or the audienceId column: %w", runErr)
	case errors.As(runErr, new(*batch.UnreachableError)):
		return fmt.Errorf("%w; no request got an answer, so check --base-url (or $TALON_BASE_URL) and the network", runErr)
	}
	if o.Checkpoint != "" {
		o.log().Info("the checkpoint is saved; run the same command again to resume")
	}
	return runErr
}

func endpointOf(e readers.Entity) talon.Endpoint {
	switch e {
	case readers.EntityCatalog:
		return talon.EndpointCatalog
	case readers.EntityProfiles:
		return talon.EndpointProfiles
	}
	return talon.EndpointAudiences
}

func silentOf(o *syncOptions) *bool {
	if o.Entity != readers.EntityProfiles {
		return nil
	}
	s := o.Silent
	return &s
}

// retriesFlag maps --max-retries to the policy: the flag's 0 means no
// retries, while the policy's zero value means its default.
func retriesFlag(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
