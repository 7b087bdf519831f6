package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/talonsync/talonsync/internal/batch"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// runSync runs one sync command end to end: it opens the input and the
// checkpoint, sends every row, and writes the rejects, report and summary.
func runSync(ctx context.Context, o *syncOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	if o.DryRun && o.Checkpoint != "" {
		return usage(errors.New("--dry-run cannot be used with --checkpoint: a dry run confirms nothing"))
	}
	format, err := o.format()
	if err != nil {
		return err
	}
	delim, _ := o.delimiter()
	logger := newLogger(o)

	var sender batch.Sender
	if !o.DryRun {
		c, err := o.client()
		if err != nil {
			return err
		}
		sender = c
	}

	stdin := o.io.In
	var fp batch.InputFingerprint
	if o.Input == "-" {
		br := bufio.NewReaderSize(o.io.In, 1<<20)
		head, _ := br.Peek(1 << 20) // a shorter stream is fine
		fp, stdin = batch.FingerprintStream(head), br
	} else if fp, err = batch.FingerprintFile(o.Input); err != nil {
		return fmt.Errorf("open input: %w", err)
	}
	settings := batch.Settings{
		Entity: o.Entity.String(), Format: format.String(), CatalogID: o.CatalogID,
		AudienceID: o.AudienceID, Action: o.AudienceAction, BatchSize: o.BatchSize, Lanes: o.Workers,
	}
	if format == readers.FormatCSV {
		settings.Delimiter = string(delim)
	}
	st, err := o.openCheckpoint(fp, settings)
	if err != nil {
		return err
	}
	defer st.release()
	if st.finished {
		fmt.Fprintf(o.io.ErrOut, "talonsync: nothing to do: checkpoint %s says this input was already synced completely (%d delivered, %d rejected)\n",
			o.Checkpoint, st.base.Counts.Delivered, st.base.Counts.Rejected)
		return nil
	}
	if st.resumed {
		fmt.Fprintf(o.io.ErrOut, "talonsync: resuming from checkpoint %s: %d rows already done, continuing at line %d\n",
			o.Checkpoint, st.prior.Read, st.start.Resume.Line)
	}

	inc, err := o.openState()
	if err != nil {
		return err
	}
	defer inc.close()

	in, err := readers.Open(o.Input, stdin)
	if err != nil {
		return fmt.Errorf("open input: %w", err)
	}
	defer in.Close()
	rd, err := readers.NewReader(in, readers.Options{
		Entity: o.Entity, Format: format, Delimiter: delim,
		AudienceID: o.AudienceID, AudienceAction: o.AudienceAction, AllowBulk: o.AllowBulk,
		Start: inc.start(st),
	})
	if err != nil {
		return usage(fmt.Errorf("read %s: %w", o.Input, err))
	}
	rejects, err := batch.OpenRejects(st.rejectsPath, st.start.RejectsSize)
	if err != nil {
		return err
	}
	stats := &batch.Stats{}
	ledger := batch.NewLedger(stats, rejects, o.Checkpoint != "", st.start)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ckpt *batch.Checkpointer
	ckptDone := make(chan struct{})
	ckptCtx, stopCkpt := context.WithCancel(runCtx)
	defer stopCkpt()
	if o.Checkpoint != "" {
		ckpt = batch.NewCheckpointer(o.Checkpoint, st.base, st.prior, ledger, stats, time.Second, nil)
		go func() { defer close(ckptDone); ckpt.Run(ckptCtx) }()
	} else {
		close(ckptDone)
	}

	stop := o.stop
	done := make(chan struct{})
	if stop == nil {
		sc := make(chan struct{})
		stop = sc
		exit := o.exit
		if exit == nil {
			exit = os.Exit
		}
		watchSignals(o.io.Signals, sc, done, func(s os.Signal) {
			fmt.Fprintf(o.io.ErrOut, "talonsync: %v: finishing requests in flight, then stopping (send it again to exit at once)\n", s)
		}, exit)
	}
	prog := startProgress(o, stats, in, logger)

	cfg := batch.Config{
		Endpoint: endpointOf(o.Entity), CatalogID: o.CatalogID, Silent: silentOf(o), RunID: st.base.RunID,
		Lanes: o.Workers, BatchSize: o.BatchSize, Rate: o.Rate, Grace: o.Grace,
		Retry:  batch.RetryPolicy{MaxRetries: retriesFlag(o.MaxRetries), Base: o.retryBase},
		Sender: sender, Ledger: ledger, Stats: stats, Stop: stop, Logger: logger,
	}
	if st.resumed {
		cfg.Skip = st.start.Skipper()
	}
	inc.configure(&cfg, st)
	if ckpt != nil {
		cfg.Commit = ckpt.Commit
	}
	started := time.Now()
	runErr := batch.Run(runCtx, inc.source(rd), cfg)
	runErr = inc.finish(runCtx, runErr, cfg, rejects, func() { stopCkpt(); <-ckptDone })
	elapsed := time.Since(started)
	if in.Grew() {
		fmt.Fprintf(o.io.ErrOut, "talonsync: warning: %s grew while it was read; only its first %d bytes, its size at start, were read: sync the rows appended since in another run\n", o.Input, in.Size())
	}
	close(done)
	prog.stop()
	cancel()
	<-ckptDone

	if ckpt != nil {
		if err := ckpt.Write(runErr == nil); err != nil && runErr == nil {
			runErr = err
		}
	}
	if err := ledger.Close(!st.resumed); err != nil && runErr == nil {
		runErr = err
	}
	rep := newReport(o, st, stats.Snapshot(), elapsed, runErr)
	rep.RejectsPath = rejects.Path()
	inc.report(rep)
	if o.Report != "" {
		if err := rep.write(o.Report); err != nil && runErr == nil {
			runErr = err
		}
	}
	rep.summary(o.io.ErrOut, o)
	return o.outcome(rep, runErr)
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
			fmt.Fprintf(o.io.ErrOut, "talonsync: interrupted; the checkpoint is saved. Resume with the same command:\n  %s\n", o.commandLine())
		} else {
			fmt.Fprintln(o.io.ErrOut, "talonsync: interrupted; without --checkpoint a new run sends the whole input again")
		}
		return quiet(runErr)
	case errors.As(runErr, &apiErr) && (apiErr.Status == 401 || apiErr.Status == 403):
		return fmt.Errorf("the API refused the key (%d %s): check $TALON_API_KEY or --api-key-file, and that the key belongs to the Application of this base URL: %w", apiErr.Status, apiErr.Message, runErr)
	case errors.As(runErr, &apiErr) && apiErr.Status == 404 && o.Entity == readers.EntityCatalog:
		return fmt.Errorf("catalog %d not found (404): check --catalog-id: %w", o.CatalogID, runErr)
	case errors.Is(runErr, fs.ErrNotExist):
		return runErr
	}
	if o.Checkpoint != "" {
		fmt.Fprintf(o.io.ErrOut, "talonsync: the checkpoint is saved; run the same command again to resume\n")
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
