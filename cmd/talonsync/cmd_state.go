package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/talonsync/talonsync/internal/blob"
	"github.com/talonsync/talonsync/internal/state"
	"github.com/talonsync/talonsync/internal/talon"
)

// stateOptions are the options of the state subcommands.
type stateOptions struct {
	Path string
	Yes  bool
	JSON bool
	io   *IOStreams
	log  *slog.Logger
}

func newStateCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state inspect|export|reset --state PATH",
		Short: "Inspect, export or reset the state file of incremental sync (--state)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usage(fmt.Errorf("%s needs a subcommand: inspect, export or reset", cmd.CommandPath()))
		},
	}
	sub := func(use, short string, run func(context.Context, *stateOptions) error, flags func(*cobra.Command, *stateOptions)) *cobra.Command {
		o := &stateOptions{io: e.io, log: e.log}
		c := &cobra.Command{
			Use: use + " --state PATH", Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if o.Path == "" {
					return usage(errors.New("--state PATH is required"))
				}
				return run(cmd.Context(), o)
			},
		}
		c.Flags().StringVar(&o.Path, "state", "", "the state file (required)")
		if flags != nil {
			flags(c, o)
		}
		return c
	}
	cmd.AddCommand(
		sub("inspect", "Print what the state file belongs to, its counts per target and its last run", runStateInspect,
			func(c *cobra.Command, o *stateOptions) {
				c.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
			}),
		sub("export", "Print every key as JSONL: key, the value the API confirmed, when, and whether it was a removal", runStateExport, nil),
		sub("reset", "Delete everything the state file holds (needs --yes)", runStateReset,
			func(c *cobra.Command, o *stateOptions) {
				c.Flags().BoolVar(&o.Yes, "yes", false, "confirm the reset")
			}),
	)
	return cmd
}

// stateView is a state opened for reading.
type stateView struct {
	*state.File
	// m is the manifest of a state in object storage; nil for a file.
	m   *stateManifest
	dir string // the local copy of a state in object storage
}

// openStateFile opens an existing state for reading: no lock, so it works
// while a sync holds the state; it sees the running run's journal (for a
// state in object storage, as far as that run uploaded it). A state in
// object storage is downloaded to a temporary directory first.
func openStateFile(ctx context.Context, loc string) (*stateView, error) {
	v := &stateView{}
	path := loc
	if isObjectLocation(loc) {
		dir, p, err := stateTempDir()
		if err != nil {
			return nil, err
		}
		v.dir, path = dir, p
		fs, err := fetchState(ctx, blob.New(blob.Options{}), loc, path)
		switch {
		case err != nil:
			os.RemoveAll(dir)
			return nil, err
		case !fs.exists:
			os.RemoveAll(dir)
			return nil, usage(fmt.Errorf("open state %s: %w", loc, blob.ErrNotExist))
		}
		v.m = &fs.m
		if !fileExists(path) && !fileExists(state.JournalPath(path)) {
			// A first run that has uploaded nothing yet: an empty state.
			if err := state.Reset(path, state.Options{}); err != nil {
				v.Close()
				return nil, err
			}
		}
	}
	f, err := state.OpenFile(path, state.Options{ReadOnly: true})
	if err != nil {
		v.Close()
		if v.dir != "" {
			return nil, usage(fmt.Errorf("open state %s: %w", loc, err))
		}
		return nil, usage(err)
	}
	v.File = f
	return v, nil
}

// Close closes the state and removes its local copy.
func (v *stateView) Close() {
	if v.File != nil {
		v.File.Close()
	}
	if v.dir != "" {
		os.RemoveAll(v.dir)
	}
}

// stateSummary is what inspect prints.
type stateSummary struct {
	Path     string           `json:"path"`
	Identity *state.Identity  `json:"identity,omitempty"`
	Keys     int64            `json:"keys"`
	Absent   int64            `json:"absent"`  // removals the API confirmed
	Unknown  int64            `json:"unknown"` // values invalidated and not confirmed since
	Targets  map[string]int64 `json:"targets"`
	LastRun  *state.RunInfo   `json:"last_run,omitempty"`
	// HeldSince is, for a state in object storage that a run holds (or a
	// killed run did not release), when that run last wrote it.
	HeldSince *time.Time `json:"held_since,omitempty"`
}

func runStateInspect(ctx context.Context, o *stateOptions) error {
	f, err := openStateFile(ctx, o.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	sum := stateSummary{Path: o.Path, Targets: map[string]int64{}}
	if f.m != nil && f.m.Owner != "" {
		sum.HeldSince = &f.m.UpdatedAt
	}
	id, ok := f.Identity()
	if ok {
		sum.Identity = &id
	}
	err = f.Each(func(k state.KeyInfo) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case k.Absent:
			sum.Absent++
			return nil
		case k.Value == 0:
			sum.Unknown++
		}
		sum.Keys++
		sum.Targets[targetOf(id, k.Key)]++
		return nil
	})
	if err != nil {
		return err
	}
	if info, ok := f.LastRun(); ok {
		sum.LastRun = &info
	}
	if o.JSON {
		b, _ := json.MarshalIndent(sum, "", "  ")
		_, err := fmt.Fprintf(o.io.Out, "%s\n", b)
		return err
	}
	return sum.print(o.io.Out)
}

// targetOf names the catalog, audience or profiles a key belongs to.
func targetOf(id state.Identity, key string) string {
	switch id.Entity {
	case "catalog":
		return fmt.Sprintf("catalog %d", id.CatalogID)
	case "audiences":
		aud, _, _ := talon.SplitMembershipKey(key)
		return fmt.Sprintf("audience %d", aud)
	}
	return id.Entity
}

func (s *stateSummary) print(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "state file: %s\n", s.Path)
	if s.Identity == nil {
		fmt.Fprintln(bw, "empty: not used by any run yet")
		s.printHeld(bw)
		return bw.Flush()
	}
	fmt.Fprintf(bw, "entity:     %s\nbase URL:   %s\n", s.Identity.Entity, s.Identity.BaseURL)
	switch {
	case s.Identity.CatalogID != 0:
		fmt.Fprintf(bw, "catalog:    %d\n", s.Identity.CatalogID)
	case s.Identity.AudienceID != 0:
		fmt.Fprintf(bw, "audience:   %d (--audience-id)\n", s.Identity.AudienceID)
	}
	fmt.Fprintf(bw, "keys:       %d held by the API", s.Keys)
	if s.Unknown > 0 {
		fmt.Fprintf(bw, " (%d of them not confirmed since they were sent: the next run sends them)", s.Unknown)
	}
	fmt.Fprintf(bw, "\n")
	if s.Absent > 0 {
		fmt.Fprintf(bw, "removed:    %d keys whose removal the API confirmed\n", s.Absent)
	}
	for _, t := range slices.Sorted(maps.Keys(s.Targets)) {
		fmt.Fprintf(bw, "  %s: %d\n", t, s.Targets[t])
	}
	s.printHeld(bw)
	if r := s.LastRun; r != nil {
		status := "complete"
		switch {
		case r.Error != "":
			status = "failed: " + r.Error
		case r.DryRun:
			status = "dry run"
		case !r.Complete:
			status = "incomplete"
		}
		fmt.Fprintf(bw, "last run:   #%d %s, started %s, input %s\n", r.Run, status, r.Started.Format(time.RFC3339), r.Input)
		fmt.Fprintf(bw, "            %d read, %d delivered, %d unchanged, %d rejected, %d removed\n", r.Read, r.Delivered, r.Unchanged, r.Rejected, r.Pruned)
	}
	return bw.Flush()
}

// printHeld says that a run holds a state in object storage.
func (s *stateSummary) printHeld(w io.Writer) {
	if s.HeldSince != nil {
		fmt.Fprintf(w, "held:       by a run that last wrote it at %s (one still going, or one killed)\n", s.HeldSince.Format(time.RFC3339))
	}
}

// exportLine is one line of export.
type exportLine struct {
	Key string `json:"key"`
	// Value is the hash of the net effect the API last confirmed; empty
	// when unknown (sent since and not confirmed).
	Value     string    `json:"value,omitempty"`
	Confirmed time.Time `json:"confirmed,omitzero"`
	Absent    bool      `json:"absent,omitempty"`
}

func runStateExport(ctx context.Context, o *stateOptions) error {
	f, err := openStateFile(ctx, o.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(o.io.Out, 64<<10)
	enc := json.NewEncoder(bw)
	err = f.Each(func(k state.KeyInfo) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		line := exportLine{Key: k.Key, Confirmed: k.Confirmed, Absent: k.Absent}
		if k.Value != 0 {
			line.Value = k.Value.String()
		}
		return enc.Encode(line)
	})
	if err != nil {
		return fmt.Errorf("export state: %w", err)
	}
	return bw.Flush()
}

func runStateReset(ctx context.Context, o *stateOptions) error {
	if !o.Yes {
		return usage(fmt.Errorf("state reset deletes everything %s holds: give --yes to confirm", o.Path))
	}
	if isObjectLocation(o.Path) {
		if err := resetStateObjects(ctx, blob.New(blob.Options{}), o.Path, time.Now()); err != nil {
			return err
		}
		o.log.Info(o.Path + " reset: its objects are deleted")
		return nil
	}
	if _, err := os.Stat(o.Path); err != nil {
		return usage(fmt.Errorf("state reset: %w", err))
	}
	if err := state.Reset(o.Path, state.Options{}); err != nil {
		if errors.Is(err, state.ErrLocked) {
			return usage(err)
		}
		return err
	}
	o.log.Info(o.Path + " reset: it holds nothing now")
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
