package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/talonsync/talonsync/internal/readers"
	"github.com/talonsync/talonsync/internal/talon"
)

// Main runs the talonsync command line with args and returns the exit code.
func Main(args []string, io *IOStreams, getenv func(string) string) int {
	root := newRootCmd(&env{io: io, getenv: getenv, args: args})
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		var re *rejectedError
		var qe *quietError
		if !errors.As(err, &re) && !errors.As(err, &qe) {
			fmt.Fprintf(io.ErrOut, "talonsync: %v\n", err)
		}
	}
	return exitCode(err)
}

// quietError wraps an error whose message the command already printed.
type quietError struct{ err error }

func (e *quietError) Error() string { return e.err.Error() }
func (e *quietError) Unwrap() error { return e.err }

func quiet(err error) error { return &quietError{err: err} }

// env is what every command gets from Main.
type env struct {
	io     *IOStreams
	getenv func(string) string
	args   []string
}

func (e *env) env(k string) string {
	if e.getenv == nil {
		return os.Getenv(k)
	}
	return e.getenv(k)
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "talonsync",
		Short: "Load catalogs, customer profiles and audience memberships into Talon.One",
		Long: `talonsync streams CSV or JSONL files into Talon.One's Integration API in
batches of up to 1000 items, with bounded parallel workers, retries, per-row
rejects and resumable checkpoints.

The API key comes from $TALON_API_KEY or --api-key-file, never from a flag.
The base URL comes from --base-url or $TALON_BASE_URL.`,
		Version:       talon.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(e.io.In)
	root.SetOut(e.io.Out)
	root.SetErr(e.io.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usage(fmt.Errorf("%w (see '%s --help')", err, c.CommandPath()))
	})
	root.AddCommand(
		newCatalogCmd(e),
		newProfilesCmd(e),
		newAudiencesCmd(e),
		newDemoCmd(e),
		newEmulatorCmd(e),
		newStateCmd(e),
	)
	return root
}

// newSyncOptions returns the options of a sync command for entity.
func (e *env) newSyncOptions(entity readers.Entity) *syncOptions {
	return &syncOptions{Entity: entity, io: e.io, getenv: e.env, args: e.args}
}

// exactlyOneInput checks the positional arguments of a sync command.
func exactlyOneInput(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usage(fmt.Errorf("%s takes exactly one input: a file path, or - for stdin", cmd.CommandPath()))
	}
	return nil
}
