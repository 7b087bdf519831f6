package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

// batchSize is talonsync's default --batch-size.
const batchSize = 1000

// sampleEvery is how often a run samples the emulator's counters.
const sampleEvery = 100 * time.Millisecond

// runner runs rows.
type runner struct {
	bin   string   // talonsync
	gen   string   // bench/gen
	data  string   // input directory
	out   string   // output directory
	flags []string // extra talonsync flags
	log   func(format string, args ...any)
}

// input returns the path of an input of n unique profiles, generating it
// with bench/gen (seed 1, JSONL, as bench/run.sh) when missing.
func (rn *runner) input(ctx context.Context, n int) (string, error) {
	path := filepath.Join(rn.data, "profiles-"+label(n)+".jsonl")
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return path, nil
	}
	rn.log("generate %s", path)
	cmd := exec.CommandContext(ctx, rn.gen, "-entity", "profiles", "-format", "jsonl", "-rows", fmt.Sprint(n), "-seed", "1", "-out", path)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("generate %s: %w", path, err)
	}
	return path, nil
}

// label: 1000000 -> 1m, 120000 -> 120k.
func label(n int) string {
	switch {
	case n%1_000_000 == 0:
		return fmt.Sprintf("%dm", n/1_000_000)
	case n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// run runs one row against a fresh in-process emulator in discard mode.
func (rn *runner) run(ctx context.Context, rw row) (result, error) {
	res := result{Row: rw.name, Flags: strings.Join(rn.flags, " "), Settle: -1}
	in, err := rn.input(ctx, rw.rows)
	if err != nil {
		return res, err
	}
	srv, err := emulator.Start(emulator.Options{Discard: true, Faults: rw.faults, Seed: 1})
	if err != nil {
		return res, err
	}
	defer srv.Close()

	rep := filepath.Join(rn.out, "pace-"+rw.name+".report.json")
	logf := filepath.Join(rn.out, "pace-"+rw.name+".log")
	_ = os.Remove(rep)
	args := append([]string{"profiles", "--base-url", srv.URL(), "--progress", "never",
		"--report", rep, "--rejects", filepath.Join(rn.out, "pace-"+rw.name+".rejects.jsonl")}, rn.flags...)
	args = append(args, in)
	lf, err := os.Create(logf)
	if err != nil {
		return res, err
	}
	defer lf.Close()
	cmd := exec.CommandContext(ctx, rn.bin, args...)
	cmd.Env = append(os.Environ(), "TALON_API_KEY="+emulator.DefaultAPIKey)
	cmd.Stdout, cmd.Stderr = lf, lf

	rn.log("run %s: talonsync %s", rw.name, strings.Join(args[:len(args)-1], " ")+" "+filepath.Base(in))
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var samples []sample
	var stepTime time.Duration
	wg.Go(func() { samples, stepTime = watch(srv, rw, stop) })
	err = cmd.Wait()
	res.Wall = time.Since(begin).Seconds()
	if ps := cmd.ProcessState; ps != nil {
		res.CPU = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	close(stop)
	wg.Wait()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	case err != nil:
		return res, err
	}

	var r struct {
		Read, Delivered, Batches int64
		ElapsedSeconds           float64 `json:"elapsed_seconds"`
	}
	b, err := os.ReadFile(rep)
	if err != nil {
		return res, fmt.Errorf("%s: no report (exit %d, see %s): %w", rw.name, res.ExitCode, logf, err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return res, fmt.Errorf("%s: %w", rep, err)
	}
	st := srv.Stats()
	res.Read, res.Delivered, res.Batches, res.Elapsed = r.Read, r.Delivered, r.Batches, r.ElapsedSeconds
	res.Requests, res.Limited = st.RequestsTotal, st.RateLimited
	// The ideal counts the fewest batches the rows fit in, not the ones
	// sent: partial batches (one per lane at the end) are a cost too.
	res.Ideal = idealFor(rw.name, (r.Read+batchSize-1)/batchSize)
	res.samples, res.stepTime = samples, stepTime
	if rw.stepAt > 0 {
		res.Settle = settleTime(samples, stepTime)
	}
	return res, nil
}

// watch samples srv's counters until stop is closed, timed from the first
// request, and makes the row's step. It returns the samples and when the
// step was made.
func watch(srv *emulator.Server, rw row, stop <-chan struct{}) ([]sample, time.Duration) {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	var first time.Time
	var samples []sample
	var stepped time.Duration
	for {
		select {
		case <-stop:
			return samples, stepped
		case now := <-t.C:
			st := srv.Stats()
			if st.RequestsTotal == 0 {
				continue
			}
			if first.IsZero() {
				first = now.Add(-sampleEvery / 2)
			}
			at := now.Sub(first)
			if rw.stepAt > 0 && stepped == 0 && at >= rw.stepAt {
				srv.SetFaults(rw.stepTo)
				stepped = at
			}
			samples = append(samples, sample{at: at, requests: st.RequestsTotal, limited: st.RateLimited})
		}
	}
}
