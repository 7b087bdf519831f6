package main

import "github.com/spf13/cobra"

// exitCodesHelp ends the --help of every sync command.
const exitCodesHelp = `
Exit codes:
  0    every row delivered, or nothing to do (a completed checkpoint of this input)
  3    finished, and some rows were rejected: see the rejects file
  1    the run failed: the key was refused, the API could not be reached,
       retries ran out, a catalog or audience does not exist, unreadable input
  2    usage or configuration error, almost always found before anything
       is sent; also another run took over the checkpoint or state in a bucket
  130  interrupted by SIGINT or SIGTERM
`

// withExitCodes makes cmd's help end with the exit codes.
func withExitCodes(cmd *cobra.Command) *cobra.Command {
	cmd.SetUsageTemplate(cmd.UsageTemplate() + exitCodesHelp)
	return cmd
}
