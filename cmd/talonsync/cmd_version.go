package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/talonsync/talonsync/internal/talon"
)

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit and its time, and the Go version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(e.io.Out, versionLine())
			return err
		},
	}
}

// versionLine is "talonsync VERSION (commit REV of TIME, GOVERSION)", from
// the build information the go command records: TIME is the commit's.
func versionLine() string {
	version, commit, date := talon.Version, "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
				if len(commit) > 12 {
					commit = commit[:12]
				}
			case "vcs.time":
				date = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					commit += "-dirty"
				}
			}
		}
	}
	if date != "unknown" {
		commit += " of " + date
	}
	return fmt.Sprintf("talonsync %s (commit %s, %s)", version, commit, runtime.Version())
}
