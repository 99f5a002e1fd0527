package main

import (
	"errors"
	"slices"

	"github.com/loadlab/loadlab/reports"
	"github.com/loadlab/loadlab/reports/compare"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/spf13/cobra"
)

func (c cli) compareCmd() *cobra.Command {
	var (
		markdown, paired bool
		labels           []string
		htmlFile         string
	)
	cmd := &cobra.Command{
		Use:   "compare BASE HEAD",
		Short: "Compare runs of a scenario; exit 1 on a regression",
		Long: `Compare the runs of the same scenario on two sides. BASE and HEAD are each a run
directory, a results.json file, or a directory of run directories (several runs
of that side, e.g. the base/ and head/ of a 'loadlab ab' duet).

The run is the unit of evidence, as with benchstat -count: per variant, stream and
phase, each run gives one p50, p99, throughput and success ratio. Each row shows
head/base (the ratio, or for the success ratio the difference) with its 95 %
confidence interval, simultaneous over all rows (Bonferroni), and is a regression
only when the whole interval lies beyond its threshold. --paired: run i of BASE
and run i of HEAD ran side by side (duet rounds). With fewer than 3 runs a side
run-to-run noise is unknown: no metric is judged, and only a check that passes
in BASE and fails in HEAD fails the comparison.
--html FILE also writes the comparison as one self-contained page: the
verdict, a forest plot of every row against its threshold, the table, and
per stream the latency spectra and per-second latency of both sides overlaid.
Exit status: 0 no regression, 1 regression, 2 error.`,
		Example: `  loadlab compare results/partition/20261201T101500Z results/partition/latest
  loadlab compare --p99 20% --phase 'during db-partition' --markdown base/results.json head/results.json
  loadlab compare --paired --markdown results/partition-ab/latest/base results/partition-ab/latest/head
  loadlab compare --paired --html compare.html results/partition/ab-20261201T101500Z/base results/partition/ab-20261201T101500Z/head`,
		Args: usageArgs(cobra.ExactArgs(2)),
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print Markdown (for $GITHUB_STEP_SUMMARY or a PR comment)")
	cmd.Flags().BoolVar(&paired, "paired", false, "run i of BASE and run i of HEAD ran side by side (duet rounds)")
	cmd.Flags().StringSliceVar(&labels, "labels", nil, "names for the two sides, e.g. --labels main,pr-42")
	cmd.Flags().StringVar(&htmlFile, "html", "", "also write the comparison as a self-contained HTML page to this file")
	judging := judgeFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		base, err := compare.ReadRuns(args[0])
		if err != nil {
			return exitErr(exitUsage, err)
		}
		head, err := compare.ReadRuns(args[1])
		if err != nil {
			return exitErr(exitUsage, err)
		}
		opts := append(judging.options(), compare.WithPaired(paired))
		if len(labels) == 2 {
			opts = append(opts, compare.WithLabels(labels[0], labels[1]))
		} else if len(labels) != 0 {
			return usageError(errors.New("--labels takes two names: BASE,HEAD"))
		}
		rep, err := compare.CompareRuns(base, head, opts...)
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
		if htmlFile != "" {
			if err := writeComparePage(htmlFile, rep, base, head); err != nil {
				return exitErr(exitUsage, err)
			}
		}
		if rep.Regressed() {
			return exitCode(exitFailed)
		}
		return nil
	}
	return cmd
}

// writeComparePage writes compare.html atomically; a page that lost a
// chart is still written, and the chart's error returned.
func writeComparePage(path string, rep *compare.Report, base, head []*results.Results) error {
	page, err := reports.ComparePage(rep, base, head)
	if page == nil {
		return err
	}
	return errors.Join(err, results.WriteFileAtomic(path, page))
}

// judgeFlags adds the flags that say how rows are judged (alpha,
// thresholds, phases, correction) and returns their options.
func judgeFlags(cmd *cobra.Command) *judging {
	j := &judging{th: compare.DefaultThresholds()}
	cmd.Flags().Float64Var(&j.alpha, "alpha", compare.DefaultAlpha, "1 - confidence of the intervals")
	cmd.Flags().Var(fraction{&j.th.P50Increase}, "p50", "p50 increase that counts as a regression, e.g. 10% or 0.1 (default 5%)")
	cmd.Flags().Var(fraction{&j.th.P99Increase}, "p99", "p99 increase that counts as a regression, e.g. 10% or 0.1")
	cmd.Flags().Var(fraction{&j.th.ThroughputDrop}, "throughput", "throughput drop that counts as a regression, e.g. 5% or 0.05")
	cmd.Flags().Var(fraction{&j.th.SuccessRatioDrop}, "success-ratio", "success ratio drop that counts as a regression, in points: 1% or 0.01")
	cmd.Flags().StringArrayVar(&j.phases, "phase", nil, "compare only this phase (repeatable), e.g. --phase 'during db-partition'")
	cmd.Flags().StringArrayVar(&j.gated, "gate", []string{compare.GatePhase}, "phase whose rows can fail the gate (repeatable; 'all' for every phase); the other phases' rows are reported as leads")
	cmd.Flags().BoolVar(&j.noCorrection, "no-correction", false, "plain one-sided 1-alpha bounds, not simultaneous over the gated rows")
	return j
}

// judging is how compare and ab judge, as their flags say.
type judging struct {
	noCorrection bool
	alpha        float64
	phases       []string // compared; none: all
	gated        []string // phases whose rows gate; "all": every phase
	th           compare.Thresholds
}

// options are the comparison's options.
func (j *judging) options() []compare.Option {
	opts := []compare.Option{compare.WithAlpha(j.alpha), compare.WithThresholds(j.th), compare.WithCorrection(!j.noCorrection)}
	if len(j.phases) > 0 {
		opts = append(opts, compare.WithPhases(compare.OnlyPhases(j.phases...)))
	}
	if slices.Contains(j.gated, "all") {
		return append(opts, compare.WithGate(nil))
	}
	return append(opts, compare.WithGate(compare.OnlyPhases(j.gated...)))
}

// gates reports whether phase's rows are compared and can fail the gate.
func (j *judging) gates(phase string) bool {
	compared := len(j.phases) == 0 || slices.Contains(j.phases, phase)
	return compared && (slices.Contains(j.gated, "all") || slices.Contains(j.gated, phase))
}
