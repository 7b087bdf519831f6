package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/talonsync/talonsync/internal/pace"
	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// syncOptions are the options every sync command shares.
type syncOptions struct {
	Entity readers.Entity
	Input  string

	// Connection.
	BaseURL       string
	APIKeyFile    string
	AllowInsecure bool

	// Input.
	Format    string
	Delimiter string

	inputFlags // --decimal-comma, --columns (flags_input.go)

	// Entity specific.
	CatalogID      int64
	AudienceID     int64
	AudienceAction string
	AllowBulk      bool
	Silent         bool

	// Sending.
	Workers        string // "auto" or a number
	MaxWorkers     int
	BatchSize      int
	Rate           float64
	MaxRetries     int
	RequestTimeout time.Duration
	Grace          time.Duration

	// Output.
	Rejects       string
	Report        string
	DryRun        bool
	Progress      string
	StatsInterval time.Duration
	LogFormat     string
	Verbose       bool
	Metrics       metricsOptions // --metrics-file, --pushgateway (metrics.go)

	// Resume.
	Checkpoint string
	Restart    bool

	// Incremental sync (incremental.go).
	State        string
	Full         bool
	RefreshAfter time.Duration
	Prune        bool
	Mirror       bool
	MaxPrune     float64

	// Shards and object storage (scale.go).
	scaleOptions

	// Set by the command, not by flags.
	env *env
	// retryBase shortens backoff in tests.
	retryBase time.Duration
	// flags are the command's flags, to tell a default from a given value.
	flags *pflag.FlagSet
	// reportUnwritable is set when --report cannot be written: the run
	// then ends without one.
	reportUnwritable bool
	// console is the run's stderr, shared by the log lines and the bar.
	console *console
}

// newSyncOptions returns the options of a sync command for entity with
// every default set. The flags take their defaults from it, and the demo
// starts from it, so the defaults live here alone.
func (e *env) newSyncOptions(entity readers.Entity) *syncOptions {
	return &syncOptions{
		Entity: entity, env: e,
		Delimiter: ",", Silent: true, AudienceAction: talon.AudienceAdd,
		Workers: "auto", MaxWorkers: pace.DefaultMaxLimit, BatchSize: talon.MaxItems, MaxRetries: 8,
		RequestTimeout: 60 * time.Second, Grace: 30 * time.Second,
		Progress: "auto", StatsInterval: 30 * time.Second, LogFormat: "text",
		MaxPrune: 0.10, RefreshAfter: 7 * 24 * time.Hour,
		scaleOptions: scaleOptions{UploadInterval: defaultUploadInterval},
	}
}

func (o *syncOptions) addFlags(fs *pflag.FlagSet) {
	o.flags = fs
	fs.StringVar(&o.BaseURL, "base-url", "", "Talon.One base URL, e.g. https://acme.europe-west1.talon.one (default $TALON_BASE_URL)")
	fs.StringVar(&o.APIKeyFile, "api-key-file", "", "read the API key from this file (default: $TALON_API_KEY)")
	fs.BoolVar(&o.AllowInsecure, "allow-insecure-http", false, "allow an http:// base URL to a host that is not loopback (the key crosses the network in clear)")

	fs.StringVar(&o.Format, "format", "", "input format: csv, tsv, jsonl or ndjson (default: from the file extension; required for stdin)")
	fs.StringVar(&o.Delimiter, "delimiter", o.Delimiter, `CSV delimiter, one character ("\t" or "tab" for tab; tab by default for .tsv files and --format tsv)`)
	o.addInputFlags(fs)

	fs.StringVar(&o.Workers, "workers", o.Workers, "requests in flight at once: auto (learned from the API's answers, up to --max-workers) or a fixed number (1-64)")
	fs.IntVar(&o.MaxWorkers, "max-workers", o.MaxWorkers, "with --workers auto, the most requests in flight at once (1-64)")
	fs.IntVar(&o.BatchSize, "batch-size", o.BatchSize, "items per request (1-1000)")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "cap on requests per second across all workers (0: no cap)")
	fs.IntVar(&o.MaxRetries, "max-retries", o.MaxRetries, "retries of a request after a 429, 5xx, 409 or network error")
	fs.DurationVar(&o.RequestTimeout, "request-timeout", o.RequestTimeout, "timeout of one HTTP request")
	fs.DurationVar(&o.Grace, "grace", o.Grace, "on SIGINT/SIGTERM, how long to wait for requests in flight")

	fs.StringVar(&o.Rejects, "rejects", "", "rejects file, JSONL (default: INPUT.rejects.jsonl, or stdin.rejects.jsonl)")
	fs.StringVar(&o.Report, "report", "", "write a JSON report of the run to this file")
	fs.BoolVar(&o.DryRun, "dry-run", false, "parse, validate, batch and write rejects and report, but send nothing")
	fs.StringVar(&o.Progress, "progress", o.Progress, "progress display: auto (bar on a terminal, else status lines), always (bar), never")
	fs.DurationVar(&o.StatsInterval, "stats-interval", o.StatsInterval, "interval of status lines when stderr is not a terminal")
	fs.StringVar(&o.LogFormat, "log-format", o.LogFormat, "log format on stderr: text or json")
	fs.BoolVarP(&o.Verbose, "verbose", "v", false, "log retries and other details")
	o.Metrics.addFlags(fs)

	fs.StringVar(&o.Checkpoint, "checkpoint", "", "checkpoint file: makes the run resumable (run the same command again to resume)")
	fs.BoolVar(&o.Restart, "restart", false, "ignore an unfinished checkpoint that does not match, and start over")
	o.addStateFlags(fs)
	o.addScaleFlags(fs)
}

// validate checks the flags before anything is opened.
func (o *syncOptions) validate() error {
	if _, err := o.fixedWorkers(); err != nil {
		return err
	}
	if o.MaxWorkers < 1 || o.MaxWorkers > 64 {
		return usage(fmt.Errorf("--max-workers must be between 1 and 64, got %d", o.MaxWorkers))
	}
	if o.BatchSize < 1 || o.BatchSize > talon.MaxItems {
		return usage(fmt.Errorf("--batch-size must be between 1 and %d, got %d", talon.MaxItems, o.BatchSize))
	}
	if o.Rate < 0 {
		return usage(fmt.Errorf("--rate must not be negative"))
	}
	if o.MaxRetries < 0 {
		return usage(fmt.Errorf("--max-retries must not be negative"))
	}
	if o.RequestTimeout <= 0 {
		return usage(fmt.Errorf("--request-timeout must be positive"))
	}
	switch o.Progress {
	case "auto", "always", "never":
	default:
		return usage(fmt.Errorf("--progress must be auto, always or never, got %q", o.Progress))
	}
	switch o.LogFormat {
	case "text", "json":
	default:
		return usage(fmt.Errorf("--log-format must be text or json, got %q", o.LogFormat))
	}
	if _, err := o.delimiter(); err != nil {
		return err
	}
	if err := o.checkStateFlags(); err != nil {
		return err
	}
	if o.DryRun && o.Checkpoint != "" {
		return usage(errors.New("--dry-run cannot be used with --checkpoint: a dry run confirms nothing"))
	}
	return nil
}

func (o *syncOptions) delimiter() (rune, error) {
	d := o.Delimiter
	if o.isTSV() && (o.flags == nil || !o.flags.Changed("delimiter")) {
		d = `\t`
	}
	switch strings.ToLower(d) {
	case `\t`, "tab":
		return '\t', nil
	}
	r := []rune(d)
	if len(r) != 1 || r[0] == '"' || r[0] == '\r' || r[0] == '\n' {
		return 0, usage(fmt.Errorf("--delimiter must be one character other than a quote or newline, got %q", d))
	}
	return r[0], nil
}

// isTSV reports whether the input is tab-separated: --format tsv, or a
// .tsv or .tsv.gz file without --format.
func (o *syncOptions) isTSV() bool {
	if o.Format != "" {
		return strings.EqualFold(o.Format, "tsv")
	}
	return strings.HasSuffix(strings.TrimSuffix(strings.ToLower(o.inputName()), ".gz"), ".tsv")
}

// format resolves --format from the flag or the file name.
func (o *syncOptions) format() (readers.Format, error) {
	if o.Format != "" {
		f, err := readers.ParseFormat(o.Format)
		if err != nil {
			return 0, usage(err)
		}
		return f, nil
	}
	if o.Input == "-" {
		return 0, usage(fmt.Errorf("reading stdin needs --format csv or --format jsonl"))
	}
	f, ok := readers.FormatFromPath(o.inputName())
	if !ok {
		return 0, usage(fmt.Errorf("cannot tell the format of %s from its name: give --format csv or --format jsonl", o.Input))
	}
	return f, nil
}

// rejectsPath is --rejects, or a path derived from the input.
func (o *syncOptions) rejectsPath() string {
	if o.Rejects != "" {
		return o.Rejects
	}
	return o.defaultRejects()
}

// log is the logger of the command's stderr lines.
func (o *syncOptions) log() *slog.Logger { return o.env.log }

// io is the command's streams.
func (o *syncOptions) io() *IOStreams { return o.env.io }

// fixedWorkers is --workers as a number, or 0 for auto.
func (o *syncOptions) fixedWorkers() (int, error) {
	if strings.EqualFold(o.Workers, "auto") {
		return 0, nil
	}
	n, err := strconv.Atoi(o.Workers)
	if err != nil || n < 1 || n > 64 {
		return 0, usage(fmt.Errorf("--workers must be auto or a number between 1 and 64, got %q", o.Workers))
	}
	return n, nil
}

// lanes is the number of lanes: --workers, or --max-workers with auto, so
// that the keys' lanes never change while the concurrency adapts.
func (o *syncOptions) lanes() int {
	if n, _ := o.fixedWorkers(); n > 0 {
		return n
	}
	return o.MaxWorkers
}

// newPacer paces the run's requests: an adaptive rate below --rate, and a
// concurrency of --workers, or learned up to --max-workers.
func (o *syncOptions) newPacer() (*pace.Pacer, error) {
	fixed, err := o.fixedWorkers()
	if err != nil {
		return nil, err
	}
	p, err := pace.New(pace.Config{
		Rate:    pace.RateConfig{Cap: o.Rate},
		Limiter: pace.LimiterConfig{Fixed: fixed, Max: o.MaxWorkers},
	})
	if err != nil {
		return nil, usage(err)
	}
	return p, nil
}

// flagSet reports whether the flag name was given on the command line.
func (o *syncOptions) flagSet(name string) bool {
	return o.flags != nil && o.flags.Changed(name)
}
