package main

import (
	"fmt"
	"math"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/talonsync/talonsync/internal/talon/emulator"
)

type emulatorOptions struct {
	Addr       string
	APIKey     string
	Catalogs   string
	Audiences  string
	SchemaPath string
	StateFile  string
	Discard    bool
	History    bool
	Seed       int64
	Faults     emulator.Faults
}

func newEmulatorCmd(e *env) *cobra.Command {
	o := &emulatorOptions{}
	cmd := &cobra.Command{
		Use:   "emulator [flags]",
		Short: "Run a local emulator of the three Talon.One endpoints",
		Long: `Run a strict local emulator of syncCatalog, updateCustomerProfilesV2 and
updateCustomerProfileAudiences, for pipelines and tests without a Talon.One
account. Point talonsync at it with --base-url http://ADDR and
TALON_API_KEY=<--api-key>.

Inspection endpoints (no auth): GET /emulator/state, GET /emulator/stats,
POST /emulator/reset, POST /emulator/save (with --state),
GET /emulator/schema and PUT /emulator/schema (the attribute schema; PUT
replaces it, as creating an attribute in Talon.One does).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := o.options()
			if err != nil {
				return err
			}
			srv, err := emulator.New(opts)
			if err != nil {
				return usage(err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return srv.Serve(ctx, o.Addr, func(url string) {
				fmt.Fprintf(e.io.Out, "talonsync emulator listening on %s (API key %q)\n", url, opts.APIKey)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "listen address")
	f.StringVar(&o.APIKey, "api-key", "emulator-key", "the API key the emulator accepts (a test value, not a real key)")
	f.StringVar(&o.Catalogs, "catalogs", "1", "comma-separated IDs of the catalogs that exist")
	f.StringVar(&o.Audiences, "audiences", "1,2,3", "comma-separated IDs of the audiences that exist")
	f.StringVar(&o.SchemaPath, "schema", "", `attribute schema, JSON: {"catalog": {"Color": "string"}, "profiles": {"Age": "number"}}`)
	f.StringVar(&o.StateFile, "state", "", "load state from this file at start and save it on exit")
	f.BoolVar(&o.Discard, "discard", false, "sink mode for benchmarks: count items, keep no state")
	f.BoolVar(&o.History, "history", false, "keep the ordered history of every key's applied items")
	f.Int64Var(&o.Seed, "seed", 0, "seed of the fault injection (0: random)")
	f.DurationVar(&o.Faults.Latency, "latency", 0, "added latency per request")
	f.DurationVar(&o.Faults.Jitter, "jitter", 0, "added random latency, uniform in [0, jitter)")
	f.Float64Var(&o.Faults.Fail429, "fail-429", 0, "share of requests answered 429 (0-1)")
	f.DurationVar(&o.Faults.RetryAfter, "retry-after", time.Second, "Retry-After of the --fail-429 answers")
	f.BoolVar(&o.Faults.NoRetryAfter, "no-retry-after", false, "answer 429 without a Retry-After header (--fail-429 and --rate-limit)")
	f.Float64Var(&o.Faults.RateLimit, "rate-limit", 0, "rate limit in requests/s, a token bucket: beyond it 429 at once, with a whole-second Retry-After (0: none)")
	f.IntVar(&o.Faults.Burst, "burst", 1, "requests the --rate-limit bucket lets through at once after a quiet spell")
	f.IntVar(&o.Faults.Capacity, "capacity", 0, "most requests processed at once, each for --latency; the rest queue, so latency grows with load (0: no limit)")
	f.Float64Var(&o.Faults.Fail5xx, "fail-5xx", 0, "share of requests answered 500/502/503 (0-1)")
	f.Float64Var(&o.Faults.CutAfterApply, "cut-after-apply", 0, "share of requests applied, then cut before the answer (0-1)")
	return cmd
}

func (o *emulatorOptions) options() (emulator.Options, error) {
	cats, err := parseIDs("--catalogs", o.Catalogs)
	if err != nil {
		return emulator.Options{}, err
	}
	auds, err := parseIDs("--audiences", o.Audiences)
	if err != nil {
		return emulator.Options{}, err
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"--fail-429", o.Faults.Fail429}, {"--fail-5xx", o.Faults.Fail5xx}, {"--cut-after-apply", o.Faults.CutAfterApply}} {
		if p.v < 0 || p.v > 1 {
			return emulator.Options{}, usage(fmt.Errorf("%s must be between 0 and 1, got %v", p.name, p.v))
		}
	}
	switch {
	case o.Faults.RateLimit < 0 || math.IsNaN(o.Faults.RateLimit) || math.IsInf(o.Faults.RateLimit, 0):
		return emulator.Options{}, usage(fmt.Errorf("--rate-limit must be a number >= 0, got %v", o.Faults.RateLimit))
	case o.Faults.Burst < 1:
		return emulator.Options{}, usage(fmt.Errorf("--burst must be at least 1, got %d", o.Faults.Burst))
	case o.Faults.Capacity < 0:
		return emulator.Options{}, usage(fmt.Errorf("--capacity must not be negative, got %d", o.Faults.Capacity))
	}
	opts := emulator.Options{
		APIKey: o.APIKey, Catalogs: cats, Audiences: auds, Faults: o.Faults,
		Seed: o.Seed, Discard: o.Discard, History: o.History, StateFile: o.StateFile,
	}
	if o.SchemaPath != "" {
		s, err := emulator.LoadSchema(o.SchemaPath)
		if err != nil {
			return emulator.Options{}, usage(err)
		}
		opts.Schema = s
	}
	return opts, nil
}

func parseIDs(flag, s string) ([]int64, error) {
	var ids []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil || id <= 0 {
			return nil, usage(fmt.Errorf("%s: %q is not a positive integer ID", flag, f))
		}
		ids = append(ids, id)
	}
	return ids, nil
}
