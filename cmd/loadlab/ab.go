package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/loadlab/loadlab/harness/analyse"
	"github.com/loadlab/loadlab/harness/duet"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/reports"
	"github.com/loadlab/loadlab/reports/compare"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
	"github.com/spf13/cobra"
)

func (c cli) abCmd() *cobra.Command {
	var (
		quick, long, markdown bool
		baseSpec, headSpec    string
		out                   string
		rounds                int
		variants              []string
	)
	cmd := &cobra.Command{
		Use:   "ab SCENARIO --base X --head Y",
		Short: "A/B gate as a duet: both sides side by side, several rounds; exit 1 on a regression",
		Long: `Run SCENARIO as a duet of two systems under test. Both sides' environments are
up at the same time; every round drives both with the same load (same seed,
same intended send times, one start) and the same fault schedule at the same
moments, so that what the machine does during a round hits both alike. The
sides swap environments every round and alternate which starts first; between
rounds each environment is reset (stores emptied, links healed) and given the
other side's backend.

X and Y are each:
  an image                 loadlab/backend:v1 (a loadlab/backend tag is built from this source tree)
  a git ref of this repo   main, HEAD~1, a commit (built from that commit's source)
  a settings overlay       cache=none   handler_delay=1ms   (on the default backend)

Writes OUT/<scenario>/ab-<UTC time>/ with base/round-NN/ and head/round-NN/
(results.json and the usual reports), duet.json, compare.txt, compare.md and
compare.html (the verdict, a forest plot of every row against its threshold,
both sides' spectra and latency per second overlaid), and prints the
comparison, paired by round (see 'loadlab compare').
Exit status: 0 no regression, 1 regression, 2 error, 130 interrupted.`,
		Example: `  loadlab ab partition --quick --base main --head HEAD
  loadlab ab latency --quick --base cache=cache-aside --head cache=none --rounds 12
  loadlab ab partition --quick --variant cp --base main --head HEAD`,
		Args: usageArgs(cobra.ExactArgs(1)),
	}
	set := imageFlags(cmd)
	cmd.Flags().StringVar(&baseSpec, "base", "", "the base side: image, git ref or settings overlay (required)")
	cmd.Flags().StringVar(&headSpec, "head", "", "the head side: image, git ref or settings overlay (required)")
	cmd.Flags().IntVar(&rounds, "rounds", duet.DefaultRounds, "rounds (each runs both sides side by side)")
	cmd.Flags().StringArrayVar(&variants, "variant", nil, "run only this variant (repeatable): fewer variants, more rounds in the same time")
	cmd.Flags().BoolVar(&quick, "quick", false, fmt.Sprintf("short rounds for CI: about %s of load each (fault phases ≥ %s), so that more rounds fit", scenarios.RoundDuration, scenarios.RoundMinPhase))
	cmd.Flags().BoolVar(&long, "long", false, "run 4× longer")
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the comparison as Markdown")
	cmd.Flags().StringVar(&out, "out", "results", "directory for results")
	judging := judgeFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		switch {
		case baseSpec == "" || headSpec == "":
			return usageError(errors.New("ab: --base and --head are required"))
		case quick && long:
			return usageError(errors.New("ab: --quick and --long exclude each other"))
		case rounds < 1:
			return usageError(fmt.Errorf("ab: --rounds %d: need at least 1", rounds))
		}
		sc, err := scenarios.Lookup(args[0])
		if err != nil {
			return usageError(err)
		}
		if sc, err = sc.Only(variants...); err != nil {
			return usageError(err)
		}
		if quick {
			sc = sc.QuickRound()
		} else if long {
			sc = sc.Scaled(4)
		}
		phases := 0
		for _, p := range phaseNames(sc) {
			if judging.gates(p) {
				phases++
			}
		}
		gated := phases * len(sc.Variants) * len(sc.Load) * len(compare.Metrics)
		if need := compare.PairedRoundsNeeded(judging.alpha, gated); gated > 0 && rounds < need {
			fmt.Fprintf(c.stderr, "ab: warning: %d round(s): the %d gated rows (%s of %d phase(s) × %d variant(s) × %d stream(s)) need at least %d paired rounds to be judged at alpha %g; with fewer only a check can fail the gate (--rounds %d)\n",
				rounds, gated, metricNames(), phases, len(sc.Variants), len(sc.Load), need, judging.alpha, need)
		}
		imgs := set()
		if _, err := c.ensureImages(ctx, imgs, false); err != nil {
			return err
		}
		repo := sourceRepo(ctx)
		var sides [2]duet.Side
		for i, spec := range []string{baseSpec, headSpec} {
			if sides[i], err = duet.Resolve(ctx, spec, repo, imgs, images.WithProgress(c.stderr)); err != nil {
				return exitErr(exitUsage, err)
			}
		}
		dir := filepath.Join(out, sc.Name, "ab-"+time.Now().UTC().Format("20060102T150405Z"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "duet %s: base %s (%s) vs head %s (%s), %d round(s) of %d variant(s), %s each → %s\n",
			sc.Name, baseSpec, sides[0].Image, headSpec, sides[1].Image, rounds, len(sc.Variants), sc.Duration, dir)
		start := time.Now()
		outcome, runErr := duet.Run(ctx, sc, sides[0], sides[1],
			duet.WithRounds(rounds), duet.WithImages(imgs), duet.WithProgress(c.stderr),
			duet.WithVersion(version), duet.WithQuick(quick))
		if outcome == nil {
			return exitErr(exitUsage, runErr)
		}
		fmt.Fprintf(c.stderr, "duet %s: %d round(s) in %s\n", sc.Name, rounds, time.Since(start).Round(time.Second))
		wctx := context.WithoutCancel(ctx)
		if err := writeDuet(wctx, dir, sides, outcome); err != nil {
			return errors.Join(runErr, err)
		}
		opts := append(judging.options(), compare.WithPaired(true),
			compare.WithLabels("base ("+baseSpec+")", "head ("+headSpec+")"))
		rep, err := compare.CompareRuns(outcome.Base, outcome.Head, opts...)
		if err != nil {
			return exitErr(exitUsage, errors.Join(runErr, err))
		}
		var text, md bytes.Buffer
		if err := errors.Join(rep.WriteText(&text), rep.WriteMarkdown(&md)); err != nil {
			return exitErr(exitUsage, err)
		}
		if err := errors.Join(
			results.WriteFileAtomic(filepath.Join(dir, "compare.txt"), text.Bytes()),
			results.WriteFileAtomic(filepath.Join(dir, "compare.md"), md.Bytes()),
			writeComparePage(filepath.Join(dir, reports.CompareHTMLFile), rep, outcome.Base, outcome.Head)); err != nil {
			return exitErr(exitUsage, err)
		}
		shown := text.Bytes()
		if markdown {
			shown = md.Bytes()
		}
		if _, err := c.stdout.Write(shown); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "duet results: %s\n", dir)
		switch {
		case ctx.Err() != nil:
			fmt.Fprintln(c.stderr, "loadlab: interrupted; what was measured is in", dir)
			return exitCode(exitInterrupted)
		case runErr != nil:
			return exitErr(exitUsage, fmt.Errorf("ab: %w", runErr))
		case rep.Regressed():
			return exitCode(exitFailed)
		}
		return nil
	}
	return cmd
}

// writeDuet writes every round of both sides with its reports, and
// duet.json: what each side was and how each round ran.
func writeDuet(ctx context.Context, dir string, sides [2]duet.Side, o *duet.Outcome) error {
	var errs []error
	for i := range o.Rounds {
		for side, res := range map[string]*results.Results{"base": o.Base[i], "head": o.Head[i]} {
			rd := filepath.Join(dir, side, fmt.Sprintf("round-%02d", i+1))
			if err := os.MkdirAll(rd, 0o755); err != nil {
				return err
			}
			errs = append(errs, writeResults(ctx, res, rd))
		}
	}
	manifest, err := json.MarshalIndent(struct {
		Base   duet.Side    `json:"base"`
		Head   duet.Side    `json:"head"`
		Rounds []duet.Round `json:"rounds"`
	}{sides[0], sides[1], o.Rounds}, "", "  ")
	if err != nil {
		return err
	}
	errs = append(errs, results.WriteFileAtomic(filepath.Join(dir, "duet.json"), append(manifest, '\n')))
	return errors.Join(errs...)
}

// sourceRepo is the git repository git refs are resolved in: LOADLAB_SOURCE,
// or the one around the working directory; "" when there is none.
func sourceRepo(ctx context.Context) string {
	if dir := os.Getenv("LOADLAB_SOURCE"); dir != "" {
		return dir
	}
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// metricNames lists the compared metrics, e.g. "p50, p99, throughput, success_ratio".
func metricNames() string {
	names := make([]string, len(compare.Metrics))
	for i, m := range compare.Metrics {
		names[i] = string(m)
	}
	return strings.Join(names, ", ")
}

// phaseNames are the phases a run of sc reports (analyse.Phases over its
// planned fault windows).
func phaseNames(sc *scenarios.Scenario) []string {
	planned := make([]results.FaultWindow, len(sc.Faults))
	for i, f := range sc.Faults {
		planned[i] = results.FaultWindow{Name: f.Name, PlannedAtS: f.At.Seconds(), PlannedForS: f.For.Seconds(), ActiveFromS: -1, ActiveToS: -1}
	}
	var names []string
	for _, p := range analyse.Phases(sc.Duration.Seconds(), planned) {
		names = append(names, p.Name)
	}
	return names
}
