package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// run is the whole CLI, testable without a process: args without the
// program name, output to stdout and stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := &cobra.Command{
		Use:   "loadlab",
		Short: "A load-testing and fault-injection lab for backends",
		Long: `loadlab starts a sample backend with real Postgres and Redis in containers,
toxiproxy on every link, drives load through them while faults are injected,
checks for lost writes and stale reads, and writes a report.

  loadlab run partition        run a scenario (see: loadlab list)
  loadlab up                   bring the lab up and keep it until Ctrl-C
  loadlab compare BASE HEAD    compare two runs and fail on a regression`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	var verbose bool
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log debug details")
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) {
		level := slog.LevelInfo
		if verbose {
			level = slog.LevelDebug
		}
		slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))
	}
	root.AddCommand(
		imagesCmd(stderr),
		upCmd(stdout, stderr),
		cleanCmd(stdout),
		runCmd(stdout, stderr),
		listCmd(stdout),
		validateCmd(stdout),
		reportCmd(stdout),
		compareCmd(stdout),
		abCmd(stdout, stderr),
	)
	return root.ExecuteContext(ctx)
}
