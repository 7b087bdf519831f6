package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/talonsync/talonsync/internal/batch"
	"github.com/talonsync/talonsync/internal/checkpoint"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// runSync runs one sync command end to end: resolve the inputs, run the
// pipeline, report, and map the outcome to the command's error (and so its
// exit code).
func runSync(ctx context.Context, o *syncOptions) (err error) {
	o.env.log = newLogger(o.io().ErrOut, o.LogFormat, o.Verbose)
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
}

// prepare checks the options and opens everything a run needs, before
// anything is sent.
func (o *syncOptions) prepare(ctx context.Context) (_ *job, err error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := o.checkOutputs(); err != nil {
		return nil, err
	}
	format, err := o.format()
	if err != nil {
		return nil, err
	}
	j := &job{o: o, log: o.log(), stats: &batch.Stats{}}
	defer func() {
		if err != nil {
			j.close()
		}
	}()
	if !o.DryRun {
		if j.sender, err = o.client(); err != nil {
			return nil, err
		}
	}
	fp, stdin, err := o.fingerprint(ctx)
	if err != nil {
		return nil, err
	}
	if j.st, err = o.openCheckpoint(fp, o.settings(format)); err != nil || j.st.finished {
		return j, err
	}
	if j.inc, err = o.openState(); err != nil {
		return nil, err
	}
	return j, j.open(format, stdin)
}

// open opens the input, its reader and the rejects file.
func (j *job) open(format readers.Format, stdin io.Reader) error {
	o := j.o
	var err error
	if j.in, err = readers.Open(o.Input, stdin); err != nil {
		return fmt.Errorf("open input: %w", err)
	}
	delim, _ := o.delimiter()
	j.rd, err = readers.NewReader(j.in, readers.Options{
		Entity: o.Entity, Format: format, Delimiter: delim,
		AudienceID: o.AudienceID, AudienceAction: o.AudienceAction, AllowBulk: o.AllowBulk,
		Start: j.inc.start(j.st),
	})
	if err != nil {
		return usage(fmt.Errorf("read %s: %w", o.Input, err))
	}
	j.rejects, err = checkpoint.OpenRejects(j.st.rejectsPath, j.st.record.Progress.RejectsSize)
	if err != nil {
		return err
	}
	j.rejects.SetOrigin(o.origin(format))
	return nil
}

func (j *job) close() {
	if j.in != nil {
		j.in.Close()
	}
	j.inc.close()
	j.st.release()
	if j.rejects != nil {
		j.rejects.Close(false)
	}
}

// fingerprint identifies the input for the checkpoint, and returns the
// stream a stdin run reads (its head already peeked).
func (o *syncOptions) fingerprint(ctx context.Context) (checkpoint.Fingerprint, io.Reader, error) {
	if o.Input == "-" {
		br := bufio.NewReaderSize(interruptible(ctx, o.io().In), 1<<20)
		head, err := br.Peek(1 << 20)
		if ctx.Err() != nil {
			return checkpoint.Fingerprint{}, nil, ctx.Err()
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return checkpoint.Fingerprint{}, nil, fmt.Errorf("read stdin: %w", err)
		}
		return checkpoint.FingerprintStream(head), br, nil
	}
	fp, err := checkpoint.FingerprintFile(o.Input)
	if err != nil {
		return fp, nil, fmt.Errorf("open input: %w", err)
	}
	return fp, nil, nil
}

// settings are the options that shape batches, which a checkpoint records.
func (o *syncOptions) settings(format readers.Format) checkpoint.Settings {
	s := checkpoint.Settings{
		Entity: o.Entity.String(), Format: format.String(), CatalogID: o.CatalogID,
		AudienceID: o.AudienceID, Action: o.AudienceAction, BatchSize: o.BatchSize, Lanes: o.Workers,
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
	defer context.AfterFunc(ctx, func() {
		j.log.Warn(fmt.Sprintf("%v: finishing requests in flight, then stopping (send it again to exit at once)", context.Cause(ctx)))
	})()
	prog := startProgress(j.o, j.stats, j.in, j.log)
	cfg := j.config()
	res, err := batch.Run(ctx, j.inc.source(j.rd), cfg)
	err = j.inc.finish(ctx, err, cfg)
	if err == nil {
		err = j.complete()
	}
	prog.stop()
	if j.in.Grew() {
		j.log.Warn(fmt.Sprintf("%s grew while it was read; only its first %d bytes, its size at start, were read: sync the rows appended since in another run", j.o.Input, j.in.Size()))
	}
	return res, err
}

// complete marks the checkpoint completed after a prune phase, which runs
// after the pipeline's own final checkpoint.
func (j *job) complete() error {
	if j.o.Checkpoint == "" || !j.o.pruning() {
		return nil
	}
	return checkpoint.MarkCompleted(j.o.Checkpoint, time.Now())
}

// config is the pipeline's configuration.
func (j *job) config() batch.Config {
	o := j.o
	cfg := batch.Config{
		Endpoint: endpointOf(o.Entity), CatalogID: o.CatalogID, Silent: silentOf(o), RunID: j.st.record.RunID,
		Lanes: o.Workers, BatchSize: o.BatchSize, Rate: o.Rate, Grace: o.Grace,
		Retry:  batch.RetryPolicy{MaxRetries: retriesFlag(o.MaxRetries), Base: o.retryBase},
		Sender: j.sender, Rejects: j.rejects, Stats: j.stats, Logger: j.log,
	}
	if o.Checkpoint != "" {
		cfg.Checkpoint = &batch.Checkpointing{Path: o.Checkpoint, Record: j.st.record, Complete: !o.pruning()}
	}
	if j.st.resumed {
		cfg.Skip = j.st.record.Progress.Skipper()
	}
	j.inc.configure(&cfg, j.st)
	return cfg
}

// finish closes the rejects file, fills in the report and prints the
// summary.
func (j *job) finish(rep *report, res batch.Result, runErr error, elapsed time.Duration) error {
	if err := j.rejects.Close(!j.st.resumed); err != nil && runErr == nil {
		runErr = err
	}
	j.rejects = nil
	rep.fill(j.st, res, elapsed)
	rep.RejectsPath = j.st.rejectsPath
	j.inc.report(rep, runErr)
	rep.summary(j.log, j.o)
	return runErr
}

// outcome turns the run's result into the command's error (and so its exit code).
func (o *syncOptions) outcome(rep *report, runErr error) error {
	var apiErr *talon.APIError
	switch {
	case runErr == nil && rep.Rejected+rep.PruneRejected > 0:
		return &rejectedError{n: rep.Rejected}
	case runErr == nil:
		return nil
	case errors.Is(runErr, batch.ErrInterrupted):
		if o.Checkpoint != "" {
			o.log().Info("interrupted; the checkpoint is saved. Resume with the same command: " + o.commandLine())
		} else {
			o.log().Info("interrupted; without --checkpoint a new run sends the whole input again")
		}
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
