package main

import (
	"errors"

	"github.com/loadlab/loadlab/reports/compare"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/spf13/cobra"
)

func (c cli) compareCmd() *cobra.Command {
	var (
		markdown, noCorrection bool
		alpha                  float64
		phases, labels         []string
		th                     = compare.DefaultThresholds()
	)
	cmd := &cobra.Command{
		Use:   "compare BASE HEAD",
		Short: "Compare two runs of a scenario; exit 1 on a significant regression",
		Long: `Compare two runs (run directories or results.json files) of the same scenario.
Per variant, stream and phase: p50, p99, throughput and success ratio with deltas,
a Mann-Whitney U test over the per-second samples (Benjamini-Hochberg adjusted),
and the checks side by side. A regression is significant, in the bad direction and
beyond its threshold. Thresholds are percentages (10%) or fractions (0.1).
Exit status: 0 no regression, 1 regression, 2 a usage error or unreadable,
different or incompatible runs.`,
		Example: `  loadlab compare results/partition/20261201T101500Z results/partition/latest
  loadlab compare --p99 20% --phase 'during db-partition' --markdown base/results.json head/results.json`,
		Args: usageArgs(cobra.ExactArgs(2)),
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print Markdown (for $GITHUB_STEP_SUMMARY or a PR comment)")
	cmd.Flags().Float64Var(&alpha, "alpha", compare.DefaultAlpha, "significance level")
	cmd.Flags().Var(fraction{&th.P50Increase}, "p50", "p50 increase that counts as a regression, e.g. 10% or 0.1")
	cmd.Flags().Var(fraction{&th.P99Increase}, "p99", "p99 increase that counts as a regression, e.g. 10% or 0.1")
	cmd.Flags().Var(fraction{&th.ThroughputDrop}, "throughput", "throughput drop that counts as a regression, e.g. 5% or 0.05")
	cmd.Flags().Var(fraction{&th.SuccessRatioDrop}, "success-ratio", "success ratio drop that counts as a regression, in points: 1% or 0.01")
	cmd.Flags().StringArrayVar(&phases, "phase", nil, "compare only this phase (repeatable), e.g. --phase 'during db-partition'")
	cmd.Flags().BoolVar(&noCorrection, "no-correction", false, "judge each row on its raw p-value (benchstat's behaviour)")
	cmd.Flags().StringSliceVar(&labels, "labels", nil, "names for the two runs, e.g. --labels main,pr-42")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		base, err := results.Read(args[0])
		if err != nil {
			return exitErr(exitUsage, err)
		}
		head, err := results.Read(args[1])
		if err != nil {
			return exitErr(exitUsage, err)
		}
		opts := []compare.Option{compare.WithAlpha(alpha), compare.WithThresholds(th), compare.WithCorrection(!noCorrection)}
		if len(phases) > 0 {
			opts = append(opts, compare.WithPhases(compare.OnlyPhases(phases...)))
		}
		if len(labels) == 2 {
			opts = append(opts, compare.WithLabels(labels[0], labels[1]))
		} else if len(labels) != 0 {
			return usageError(errors.New("--labels takes two names: BASE,HEAD"))
		}
		rep, err := compare.Compare(base, head, opts...)
		if err != nil {
			return exitErr(exitUsage, err)
		}
		write := rep.WriteText
		if markdown {
			write = rep.WriteMarkdown
		}
		if err := write(c.stdout); err != nil {
			return exitErr(exitUsage, err)
		}
		if rep.Regressed() {
			return exitCode(exitFailed)
		}
		return nil
	}
	return cmd
}
