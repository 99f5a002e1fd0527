package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/loadlab/loadlab/harness"
	"github.com/loadlab/loadlab/reports"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
	"github.com/spf13/cobra"
)

func (c cli) runCmd() *cobra.Command {
	var (
		quick, long bool
		out         string
		variants    []string
	)
	cmd := &cobra.Command{
		Use:   "run [flags] SCENARIO",
		Short: "Run a scenario (a catalogue name or a file) and write its results and report",
		Long: `Run a scenario: one environment (reset between variants, or a fresh one per
variant with environment: fresh), and for each variant the load streams with the
fault schedule, a settle phase, history checks and threshold checks. Results go
to OUT/<scenario>/<UTC time>/ (results.json, report.html, summary.md, junit.xml,
bench.txt, plots/) and OUT/<scenario>/latest points there.

Exit status: 0 all checks passed, 1 a check failed or the run failed,
2 a usage error, 130 interrupted (what was measured is still written,
marked aborted).`,
		Example: `  loadlab run partition                 a scenario of the catalogue (loadlab list)
  loadlab run --quick partition         the short CI version
  loadlab run --variant ap my.yaml      one variant of your own scenario file`,
		Args: usageArgs(cobra.ExactArgs(1)),
	}
	set := imageFlags(cmd)
	cmd.Flags().BoolVar(&quick, "quick", false, "shorten the scenario for CI (load ≤ 12s, fault phases ≥ 4s)")
	cmd.Flags().BoolVar(&long, "long", false, "run 4× longer, for real studies")
	cmd.Flags().StringVar(&out, "out", "results", "directory for results")
	cmd.Flags().StringArrayVar(&variants, "variant", nil, "run only this variant (repeatable)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if quick && long {
			return usageError(errors.New("--quick and --long exclude each other"))
		}
		sc, err := scenarios.Lookup(args[0])
		if err != nil {
			return err
		}
		scale := results.ScaleNormal
		switch {
		case quick:
			sc, scale = sc.Quick(), results.ScaleQuick
		case long:
			sc, scale = sc.Scaled(4), results.ScaleLong
		}
		imgs := set()
		if _, err := c.ensureImages(ctx, imgs, false); err != nil {
			return err
		}
		dir := filepath.Join(out, sc.Name, time.Now().UTC().Format("20060102T150405Z"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "running %s (%s per variant, %d variant(s)) → %s\n", sc.Name, sc.Duration, len(sc.Variants), dir)
		res, runErr := harness.Run(ctx, sc,
			harness.WithImages(imgs), harness.WithProgress(c.stderr), harness.WithVariants(variants...),
			harness.WithVersion(version), harness.WithScale(scale), harness.WithLogger(c.log),
			harness.WithHistoryDir(dir))
		if werr := writeRun(ctx, res, dir); werr != nil {
			return errors.Join(runErr, werr)
		}
		fmt.Fprintln(c.stdout, string(reports.Markdown(res)))
		fmt.Fprintf(c.stdout, "report: %s\n", filepath.Join(dir, reports.HTMLFile))
		if runErr != nil {
			if ctx.Err() != nil {
				fmt.Fprintln(c.stderr, "loadlab: interrupted; what was measured is in", dir)
				return exitCode(exitInterrupted)
			}
			return runErr
		}
		if ctx.Err() != nil {
			// Stopped after the measurement, while the reports rendered:
			// the results are complete and stay ok, the reports were
			// finished, and the exit status says the run was stopped.
			fmt.Fprintln(c.stderr, "loadlab: interrupted after the run completed; its results and reports are in", dir)
			return exitCode(exitInterrupted)
		}
		if n := failedChecks(res); n > 0 {
			fmt.Fprintf(c.stderr, "loadlab: %d check(s) failed\n", n)
			return exitCode(exitFailed)
		}
		return nil
	}
	return cmd
}

// holdReportsEnv makes writeRun wait, between results.json and the reports,
// until the run is interrupted (at most a minute): the teardown tests use it
// to interrupt the report stage at a known moment rather than race it.
const holdReportsEnv = "LOADLAB_TEST_HOLD_REPORTS"

// writeRun writes results.json, then the reports, then moves latest; each
// step atomic, and the results first, so nothing measured is lost to a
// failing chart. An interruption (ctx) does not stop it: what was
// measured is always written.
func writeRun(ctx context.Context, res *results.Results, dir string) error {
	return errors.Join(writeResults(ctx, res, dir), linkLatest(dir))
}

// writeResults writes results.json, then the reports.
func writeResults(ctx context.Context, res *results.Results, dir string) error {
	if err := results.Write(dir, res); err != nil {
		return err
	}
	if os.Getenv(holdReportsEnv) == "1" {
		select {
		case <-ctx.Done():
		case <-time.After(time.Minute):
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	return reports.Render(rctx, res, dir)
}

// linkLatest points <dir>/../latest at dir, replacing it atomically.
func linkLatest(dir string) error {
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	tmp := filepath.Join(parent, ".latest.tmp")
	os.Remove(tmp)
	if err := os.Symlink(base, tmp); err != nil {
		return fmt.Errorf("latest link: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(parent, "latest")); err != nil {
		return fmt.Errorf("latest link: %w", err)
	}
	return nil
}

func failedChecks(r *results.Results) int {
	n := 0
	for _, v := range r.Variants {
		for _, c := range v.Checks {
			if !c.Pass {
				n++
			}
		}
	}
	return n
}

func (c cli) listCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the scenarios of the catalogue and what each teaches",
		Example: "  loadlab list",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDURATION\tVARIANTS\tDESCRIPTION")
			for _, sc := range scenarios.Catalogue() {
				names := make([]string, len(sc.Variants))
				for i, v := range sc.Variants {
					names[i] = v.Name
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", sc.Name, sc.Duration, strings.Join(names, ","), firstSentence(sc.Description))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, "\nRun one with: make scenario name=NAME   (or: loadlab run NAME; --quick for CI)")
			return nil
		},
	}
}

func (c cli) validateCmd() *cobra.Command {
	var schema bool
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files; errors name the file, line and field",
		Example: `  loadlab validate my-partition.yaml
  loadlab validate --schema > scenario.schema.json   for your editor`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if schema {
				_, err := c.stdout.Write(scenarios.JSONSchema())
				return err
			}
			if len(args) == 0 {
				return usageError(errors.New("name at least one scenario file (or --schema)"))
			}
			var errs []error
			for _, f := range args {
				sc, err := scenarios.Load(f)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(c.stdout, "%s: ok (%s: %d stream(s), %d fault(s), %d variant(s), %d check(s))\n",
					f, sc.Name, len(sc.Load), len(sc.Faults), len(sc.Variants), len(sc.Checks))
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVar(&schema, "schema", false, "print the JSON Schema of scenario files (for editors)")
	return cmd
}

func (c cli) reportCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "report DIR|results.json",
		Short:   "Re-render the reports of a run from its results.json",
		Example: "  loadlab report results/partition/latest",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := results.Read(args[0])
			if err != nil {
				return err
			}
			dir := args[0]
			if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
				dir = filepath.Dir(dir)
			}
			start := time.Now()
			if err := reports.Render(cmd.Context(), res, dir); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "rendered %s in %s\n", filepath.Join(dir, reports.HTMLFile), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
}

func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}
