// Command pace runs issue 13's pacing targets: talonsync against the
// emulator's rate limit, capacity and latency, each row with its ideal.
// From the repository root:
//
//	go run ./bench/pace                          # every row, talonsync's default flags
//	go run ./bench/pace -flags '--workers 8'     # the same with extra flags
//	go run ./bench/pace -only rate25,capacity16  # some rows
//	go run ./bench/pace -baseline bench/out/pace-base.json -out bench/out/pace
//
// It builds bench/out/talonsync (unless -bin), generates missing inputs
// under bench/data with bench/gen, and runs each row against a fresh
// in-process emulator in discard mode on a loopback port; the emulator runs
// in this process so that a row can change its limit mid-run. It prints a
// Markdown table and writes it, with the raw figures as JSON, to the -out
// prefix. -baseline names the JSON of an earlier run to compare against:
// the latency-200ms and zero-latency rows' targets are "no worse than
// today", and bench/pace/baseline.json, the default, holds today's figures
// (see its rows' flags).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "pace:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("pace", flag.ContinueOnError)
	bin := fs.String("bin", "", "talonsync binary (default: build bench/out/talonsync)")
	flags := fs.String("flags", "", "extra talonsync flags for every row, space-separated")
	only := fs.String("only", "", "comma-separated rows to run (default all)")
	baseline := fs.String("baseline", "bench/pace/baseline.json", "JSON of an earlier run to compare against (\"\": none)")
	out := fs.String("out", "bench/out/pace", "output prefix: PREFIX.md and PREFIX.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	outDir := filepath.Dir(*out)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll("bench/data", 0o755); err != nil {
		return err
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "== "+format+"\n", a...) }
	rn := &runner{bin: *bin, gen: filepath.Join(outDir, "gen"), data: "bench/data", out: outDir, flags: strings.Fields(*flags), log: logf}
	if rn.bin == "" {
		rn.bin = filepath.Join(outDir, "talonsync")
		logf("build %s", rn.bin)
		if err := goBuild(ctx, rn.bin, "./cmd/talonsync"); err != nil {
			return err
		}
	}
	if err := goBuild(ctx, rn.gen, "./bench/gen"); err != nil {
		return err
	}
	base, err := loadBaseline(*baseline)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var results []result
	var lines []string
	for _, rw := range rows() {
		if len(want) > 0 && !want[rw.name] {
			continue
		}
		res, err := rn.run(ctx, rw)
		if err != nil {
			return err
		}
		results = append(results, res)
		var b *result
		if x, ok := base[rw.name]; ok {
			b = &x
		}
		fig, ok := rw.judge(res, b)
		if res.ExitCode != 0 || res.Delivered != res.Read {
			fig = fmt.Sprintf("run failed (exit %d), %d of %d rows delivered: %s", res.ExitCode, res.Delivered, res.Read, fig)
			ok = false
		}
		status := "met"
		if !ok {
			status = "**missed**"
		}
		lines = append(lines, fmt.Sprintf("| %s | %d | %d | %s | %s | %s |", rw.name, res.Read, res.Batches, rw.target, fig, status))
		logf("%s: %s (%s)", rw.name, fig, status)
	}
	md := report(rn, lines)
	fmt.Print(md)
	if err := os.WriteFile(*out+".md", []byte(md), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(*out+".json", append(js, '\n'), 0o644)
}

func goBuild(ctx context.Context, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

func loadBaseline(path string) (map[string]result, error) {
	m := map[string]result{}
	if path == "" {
		return m, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rs []result
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, r := range rs {
		m[r.Row] = r
	}
	return m, nil
}

func report(rn *runner, lines []string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# talonsync pacing benchmark\n\n")
	fmt.Fprintf(&sb, "- date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&sb, "- machine: %d CPUs, %s, %s\n", runtime.NumCPU(), cpuModel(), runtime.Version())
	flags := strings.Join(rn.flags, " ")
	if flags == "" {
		flags = "(talonsync's defaults)"
	}
	fmt.Fprintf(&sb, "- talonsync flags: %s; --batch-size 1000; emulator in discard mode, in this process\n\n", flags)
	sb.WriteString("| row | rows | batches | target | measured | status |\n|---|---:|---:|---|---|---|\n")
	for _, l := range lines {
		sb.WriteString(l + "\n")
	}
	return sb.String()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
