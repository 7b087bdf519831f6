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
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/talonsync/talonsync/internal/state"
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
		sub("export", "Print every key as JSONL: key, hash, last seen run and time", runStateExport, nil),
		sub("reset", "Delete everything the state file holds (needs --yes)", runStateReset,
			func(c *cobra.Command, o *stateOptions) {
				c.Flags().BoolVar(&o.Yes, "yes", false, "confirm the reset")
			}),
	)
	return cmd
}

// openStateFile opens an existing state file; a missing one is a usage error.
func openStateFile(path string, readOnly bool) (*state.Store, error) {
	s, err := state.Open(path, state.Options{ReadOnly: readOnly})
	if err != nil {
		return nil, usage(err)
	}
	return s, nil
}

// stateSummary is what inspect prints.
type stateSummary struct {
	Path     string           `json:"path"`
	Identity *state.Identity  `json:"identity,omitempty"`
	Keys     int64            `json:"keys"`
	Targets  map[string]int64 `json:"targets"`
	LastRun  *state.RunInfo   `json:"last_run,omitempty"`
}

func runStateInspect(ctx context.Context, o *stateOptions) error {
	s, err := openStateFile(o.Path, true)
	if err != nil {
		return err
	}
	defer s.Close()
	sum := stateSummary{Path: o.Path, Targets: map[string]int64{}}
	id, ok, err := s.Identity()
	if err != nil {
		return err
	}
	if ok {
		sum.Identity = &id
	}
	err = s.Each(func(e state.Entry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		sum.Keys++
		sum.Targets[targetOf(id, e.Key)]++
		return nil
	})
	if err != nil {
		return err
	}
	if info, ok, err := s.LastRun(); err != nil {
		return err
	} else if ok {
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
		aud, _, _ := strings.Cut(key, "/")
		return "audience " + aud
	}
	return id.Entity
}

func (s *stateSummary) print(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "state file: %s\n", s.Path)
	if s.Identity == nil {
		fmt.Fprintln(bw, "empty: not used by any run yet")
		return bw.Flush()
	}
	fmt.Fprintf(bw, "entity:     %s\nbase URL:   %s\n", s.Identity.Entity, s.Identity.BaseURL)
	switch {
	case s.Identity.CatalogID != 0:
		fmt.Fprintf(bw, "catalog:    %d\n", s.Identity.CatalogID)
	case s.Identity.AudienceID != 0:
		fmt.Fprintf(bw, "audience:   %d (--audience-id)\n", s.Identity.AudienceID)
	}
	fmt.Fprintf(bw, "keys:       %d\n", s.Keys)
	for _, t := range slices.Sorted(maps.Keys(s.Targets)) {
		fmt.Fprintf(bw, "  %s: %d\n", t, s.Targets[t])
	}
	if r := s.LastRun; r != nil {
		status := "complete"
		switch {
		case r.Error != "":
			status = "failed: " + r.Error
		case r.DryRun:
			status = "dry run"
		}
		fmt.Fprintf(bw, "last run:   #%d %s, started %s, input %s\n", r.Run, status, r.Started.Format(time.RFC3339), r.Input)
		fmt.Fprintf(bw, "            %d read, %d delivered, %d unchanged, %d rejected, %d removed\n", r.Read, r.Delivered, r.Unchanged, r.Rejected, r.Pruned)
	}
	return bw.Flush()
}

// exportLine is one line of export.
type exportLine struct {
	Key         string    `json:"key"`
	Hash        string    `json:"hash"`
	LastSeenRun uint64    `json:"last_seen_run"`
	LastSeen    time.Time `json:"last_seen,omitzero"`
}

func runStateExport(ctx context.Context, o *stateOptions) error {
	s, err := openStateFile(o.Path, true)
	if err != nil {
		return err
	}
	defer s.Close()
	bw := bufio.NewWriterSize(o.io.Out, 64<<10)
	enc := json.NewEncoder(bw)
	times := map[uint64]time.Time{}
	err = s.Each(func(e state.Entry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		t, ok := times[e.Seen]
		if !ok {
			// Each holds a read transaction; RunStarted opens another, which
			// bbolt allows for readers.
			t, _, _ = s.RunStarted(e.Seen)
			times[e.Seen] = t
		}
		return enc.Encode(exportLine{Key: e.Key, Hash: e.Hash.String(), LastSeenRun: e.Seen, LastSeen: t})
	})
	if err != nil {
		return fmt.Errorf("export state: %w", err)
	}
	return bw.Flush()
}

func runStateReset(_ context.Context, o *stateOptions) error {
	if !o.Yes {
		return usage(fmt.Errorf("state reset deletes everything %s holds: give --yes to confirm", o.Path))
	}
	if _, err := os.Stat(o.Path); err != nil {
		return usage(fmt.Errorf("state reset: %w", err))
	}
	s, err := openStateFile(o.Path, false)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Reset(); err != nil {
		return err
	}
	o.log.Info(o.Path + " reset: it holds nothing now")
	return nil
}
