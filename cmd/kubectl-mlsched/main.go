// Command kubectl-mlsched is ml-scheduler's kubectl plugin: put it on PATH
// and run `kubectl mlsched <verb>`. Each verb is one file of this package,
// registered in newRootCommand.
//
// Exit codes: 0 success, 1 runtime error, 2 usage error, 3 policy check failed.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// The scheduler allocates a lot per cycle; fewer GC cycles save
		// CPU in a replay (GOGC in the environment wins).
		debug.SetGCPercent(300)
	}
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	cmd := newRootCommand(streams)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintf(streams.ErrOut, "See '%s --help'.\n", u.command)
			os.Exit(2)
		}
		var coded interface{ ExitCode() int }
		if errors.As(err, &coded) {
			os.Exit(coded.ExitCode())
		}
		os.Exit(1)
	}
}
