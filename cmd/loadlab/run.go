package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/loadlab/loadlab/harness/env"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// cli is what every command writes to: its output, its diagnostics, and
// the logger (debug lines only with -v).
type cli struct {
	stdout, stderr io.Writer
	log            *slog.Logger
}

// run is the whole CLI, testable without a process: args without the
// program name, output to stdout and stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	level := new(slog.LevelVar)
	c := cli{stdout: stdout, stderr: stderr, log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))}
	// Before anything can call testcontainers; its own log lines go to
	// ours at debug level.
	env.Prepare(env.WithTestcontainersLog(c.log))
	root := &cobra.Command{
		Use:   "loadlab",
		Short: "A load-testing and fault-injection lab for backends",
		Long: `loadlab starts a sample backend with real Postgres and Redis in containers,
toxiproxy on every link, drives load through them while faults are injected,
checks for lost writes and stale reads, and writes a report.

Exit status: 0 success, 1 a check failed or a regression was found (or the
run failed), 2 a usage error, 130 interrupted.`,
		Example: `  loadlab run partition        run a scenario (see: loadlab list)
  loadlab up                   bring the lab up and keep it until Ctrl-C
  loadlab compare BASE HEAD    compare two runs and fail on a regression`,
		Args:          usageArgs(cobra.NoArgs), // an unknown command is a usage error
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	var verbose bool
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log debug details (testcontainers' too)")
	root.PersistentPreRun = func(*cobra.Command, []string) {
		if verbose {
			level.Set(slog.LevelDebug)
		}
	}
	root.AddCommand(
		c.imagesCmd(),
		c.upCmd(),
		c.cleanCmd(),
		c.runCmd(),
		c.listCmd(),
		c.validateCmd(),
		c.reportCmd(),
		c.compareCmd(),
		c.abCmd(),
	)
	return root.ExecuteContext(ctx)
}
