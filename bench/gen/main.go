// Command gen writes synthetic talonsync inputs for benchmarks: customer
// profiles, catalog items and audience memberships, as CSV or JSONL,
// optionally gzipped.
//
//	go run ./bench/gen -entity profiles -format csv -rows 1000000 -out bench/data/profiles-1m.csv
//
// The output is deterministic for a given seed. CSV is written with gocsv
// from the row structs in model.go; their tags are the CSV header, with
// talonsync's type suffixes (Age:number).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

type options struct {
	Entity string
	Format string
	Rows   int
	Out    string
	Gzip   bool
	Dup    float64
	Seed   uint64
	Mixed  bool
	// Keys, Change and ChangeSeed: see source.
	Keys       int
	Change     float64
	ChangeSeed uint64
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(2)
	}
	if err := run(o, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.StringVar(&o.Entity, "entity", "profiles", "profiles, catalog or audiences")
	fs.StringVar(&o.Format, "format", "csv", "csv or jsonl")
	fs.IntVar(&o.Rows, "rows", 1000, "number of rows")
	fs.StringVar(&o.Out, "out", "", "output file (required)")
	fs.BoolVar(&o.Gzip, "gzip", false, "gzip the output")
	fs.Float64Var(&o.Dup, "dup", 0, "share of rows (0-1) that repeat one of the last 20000 keys")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed")
	fs.IntVar(&o.Keys, "keys", 0, "draw every row's key uniformly from this many ids (repeats anywhere in the file; overrides -dup)")
	fs.Float64Var(&o.Change, "change", 0, "share of rows (0-1) with one value altered, the rest of the file as without it")
	fs.Uint64Var(&o.ChangeSeed, "change-seed", 1, "which rows -change alters")
	fs.BoolVar(&o.Mixed, "mixed", false, "catalog: 90% ADD, 8% PATCH, 2% REMOVE instead of all ADD")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.Out == "":
		return o, errors.New("-out is required")
	case o.Rows < 0:
		return o, errors.New("-rows must not be negative")
	case o.Dup < 0 || o.Dup >= 1:
		return o, errors.New("-dup must be in [0, 1)")
	case o.Keys < 0:
		return o, errors.New("-keys must not be negative")
	case o.Change < 0 || o.Change > 1:
		return o, errors.New("-change must be in [0, 1]")
	case o.Format != "csv" && o.Format != "jsonl":
		return o, fmt.Errorf("-format must be csv or jsonl, got %q", o.Format)
	}
	switch o.Entity {
	case "profiles", "catalog", "audiences":
	default:
		return o, fmt.Errorf("-entity must be profiles, catalog or audiences, got %q", o.Entity)
	}
	return o, nil
}

func run(o options, log io.Writer) error {
	start := time.Now()
	f, err := createAtomic(o.Out, o.Gzip)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := generate(f, o); err != nil {
		return err
	}
	if err := f.Commit(); err != nil {
		return err
	}
	st, err := os.Stat(o.Out)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "gen: %s: %d %s rows (%s), %.1f MB in %.1fs\n",
		o.Out, o.Rows, o.Entity, o.Format, float64(st.Size())/1e6, time.Since(start).Seconds())
	return nil
}

// generate writes o.Rows rows of o.Entity in o.Format to w.
func generate(w io.Writer, o options) error {
	src := newSource(o)
	csvOut := o.Format == "csv"
	switch o.Entity {
	case "profiles":
		if csvOut {
			return writeCSV(w, o.Rows, src.profile)
		}
		return writeJSONL(w, o.Rows, func() profileJSON { p := src.profile(); return p.json() })
	case "catalog":
		next := func() productRow { return src.product(o.Mixed) }
		if csvOut {
			return writeCSV(w, o.Rows, next)
		}
		return writeJSONL(w, o.Rows, func() productJSON { p := next(); return p.json() })
	default:
		if csvOut {
			return writeCSV(w, o.Rows, src.membership)
		}
		return writeJSONL(w, o.Rows, src.membership)
	}
}
