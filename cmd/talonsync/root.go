package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/spf13/cobra"
)

// Main runs the talonsync command line with args and returns the exit code.
// The first SIGINT or SIGTERM cancels the command's context, a graceful
// stop; a second one exits at once with exitInterrupted.
func Main(args []string, io *IOStreams, getenv func(string) string) int {
	ctx, stop := signal.NotifyContext(context.Background(), interruptSignals...)
	defer stop()
	endWatch := watchSecondSignal(os.Exit)
	defer endWatch()
	return run(ctx, args, io, getenv)
}

// run is Main without the signal handling: ctx's cancellation is the stop.
func run(ctx context.Context, args []string, io *IOStreams, getenv func(string) string) int {
	e := &env{io: io, getenv: getenv, args: args, log: newLogger(io.ErrOut, "text", false)}
	root := newRootCmd(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var qe *quietError
	switch {
	case err == nil, errors.As(err, &qe):
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		e.log.Error("interrupted")
	default:
		e.log.Error(err.Error())
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
	// log writes every line on stderr. A sync command replaces it with one
	// that follows its --log-format and --verbose.
	log *slog.Logger
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
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
		// Arguments that name no command are an unknown command: a usage
		// error (exit 2), not cobra's generic one.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usage(fmt.Errorf("unknown command %q (see 'talonsync --help')", args[0]))
			}
			return cmd.Help()
		},
	}
	// --version without the -v shorthand: -v is --verbose in every command.
	root.Flags().Bool("version", false, "print the version")
	root.SetVersionTemplate("{{.Version}}\n")
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
		newColumnsCmd(e),
		newRetryCmd(e),
		newDemoCmd(e),
		newEmulatorCmd(e),
		newStateCmd(e),
		newReportCmd(e),
		newVersionCmd(e),
	)
	return root
}

// exactlyOneInput checks the positional arguments of a sync command.
func exactlyOneInput(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usage(fmt.Errorf("%s takes exactly one input, a file path or - for stdin; got %d (see '%s --help')", cmd.Name(), len(args), cmd.CommandPath()))
	}
	return nil
}
