// Command rusage runs a command and reports its wall time, CPU time and peak
// resident set size, for bench/run.sh on machines without GNU time:
//
//	rusage -o FILE -- CMD [ARGS...]
//
// FILE gets one line "wall_s=… user_s=… sys_s=… maxrss_kb=…". The exit code
// is the command's; stdin, stdout and stderr are passed through.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("rusage", flag.ContinueOnError)
	out := fs.String("o", "", "write the figures to this file (default stderr)")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: rusage [-o FILE] -- CMD [ARGS...]")
		return 2
	}
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			fmt.Fprintln(os.Stderr, "rusage:", err)
			return 127
		}
		code = ee.ExitCode()
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "rusage: no resource usage on this platform")
		return 1
	}
	line := fmt.Sprintf("wall_s=%.3f user_s=%.3f sys_s=%.3f maxrss_kb=%d\n", wall.Seconds(),
		time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds(), ru.Maxrss)
	if *out == "" {
		fmt.Fprint(os.Stderr, line)
	} else if err := os.WriteFile(*out, []byte(line), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "rusage:", err)
		return 1
	}
	return code
}
