package compare

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/loadlab/loadlab/reports/results"
)

const synthSeconds = 30 // 10 seconds per fault phase, like a quick run

func mustCompare(t *testing.T, base, head *results.Results, opts ...Option) *Report {
	t.Helper()
	r, err := Compare(base, head, opts...)
	if err != nil {
		t.Fatalf("Compare: %v", err)
	}
	return r
}

// findRow returns the row of variant/stream/phase/metric or fails the test.
func findRow(t *testing.T, r *Report, variant, stream, phase string, m Metric) Row {
	t.Helper()
	for _, row := range r.Rows {
		if row.Variant == variant && row.Stream == stream && row.Phase == phase && row.Metric == m {
			return row
		}
	}
	t.Fatalf("no row %s/%s/%s %s", variant, stream, phase, m)
	return Row{}
}

func rowsWith(r *Report, c Change) []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Change == c {
			out = append(out, row)
		}
	}
	return out
}

func TestIdenticalRunsShowNoChange(t *testing.T) {
	run := synth("partition", 1, synthSeconds, twoVariants(steady(0.1), steady(0.1))...)
	again := synth("partition", 1, synthSeconds, twoVariants(steady(0.1), steady(0.1))...)
	for name, head := range map[string]*results.Results{"same value": run, "same seed": again} {
		t.Run(name, func(t *testing.T) {
			r := mustCompare(t, run, head)
			if r.Regressed() || r.Verdict != VerdictNoChange {
				t.Fatalf("verdict %q, want %q: %s", r.Verdict, VerdictNoChange, r.Summary())
			}
			// 2 variants × 2 streams × 4 phases × 4 metrics.
			if len(r.Rows) != 64 {
				t.Errorf("%d rows, want 64", len(r.Rows))
			}
			for _, row := range r.Rows {
				if row.Delta != 0 || row.P != 1 && !math.IsNaN(row.P) {
					t.Errorf("%+v: identical runs must give delta 0 and p 1", row)
				}
			}
			if len(r.OnlyInBase)+len(r.OnlyInHead)+len(r.Notes) != 0 {
				t.Errorf("only in base %v, only in head %v, notes %v", r.OnlyInBase, r.OnlyInHead, r.Notes)
			}
		})
	}
}

func TestP99RegressionIsFound(t *testing.T) {
	base := synth("partition", 1, synthSeconds, twoVariants(steady(0.02), steady(0.02))...)
	slower := steady(0.02)
	slower.P99 *= 1.3
	head := synth("partition", 2, synthSeconds, twoVariants(slower, steady(0.02))...)

	r := mustCompare(t, base, head)
	if !r.Regressed() || r.Verdict != VerdictRegression {
		t.Fatalf("verdict %q, want regression: %s", r.Verdict, r.Summary())
	}
	row := findRow(t, r, "cp", "reads", "whole", MetricP99)
	if row.Change != ChangeRegression || row.P >= 0.05 || row.DeltaPct < 20 || row.NBase != synthSeconds || row.NHead != synthSeconds {
		t.Errorf("cp/reads/whole p99: %+v, want a significant ~+30%% regression over 30+30 samples", row)
	}
	// Only the reads' p99 moved: every regression is a reads p99 row.
	for _, row := range rowsWith(r, ChangeRegression) {
		if row.Stream != "reads" || row.Metric != MetricP99 {
			t.Errorf("unexpected regression %+v", row)
		}
	}
	if got := len(rowsWith(r, ChangeRegression)); got != 8 { // 2 variants × 4 phases
		t.Errorf("%d regressed rows, want 8", got)
	}
	if !strings.HasPrefix(r.Summary(), "regression: 8 of 64 comparisons regressed") {
		t.Errorf("summary %q", r.Summary())
	}
}

func TestImprovementIsReported(t *testing.T) {
	base := synth("partition", 1, synthSeconds, twoVariants(steady(0.02), steady(0.02))...)
	faster := steady(0.02)
	faster.P50 *= 0.7
	head := synth("partition", 2, synthSeconds, twoVariants(faster, steady(0.02))...)
	r := mustCompare(t, base, head)
	if r.Verdict != VerdictImprovement || r.Regressed() {
		t.Fatalf("verdict %q, want improvement: %s", r.Verdict, r.Summary())
	}
	if row := findRow(t, r, "ap", "reads", "whole", MetricP50); row.Change != ChangeImprovement {
		t.Errorf("ap/reads/whole p50: %+v, want improvement", row)
	}
}

// Noise alone must never be called a regression: the same distribution with
// another seed, at a moderate 10 % per-second noise, over many seed pairs.
func TestNoiseAloneIsNoRegression(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		base := synth("partition", seed, synthSeconds, twoVariants(steady(0.1), steady(0.1))...)
		head := synth("partition", seed+1000, synthSeconds, twoVariants(steady(0.1), steady(0.1))...)
		r := mustCompare(t, base, head)
		if r.Regressed() {
			t.Errorf("seed %d: verdict %q from noise alone: %v", seed, r.Verdict, rowsWith(r, ChangeRegression))
		}
	}
}

// A row whose test is significant but whose change stays under the
// threshold is no regression: significance is not importance.
func TestSmallSignificantChangeIsWithinThreshold(t *testing.T) {
	base := synth("partition", 1, synthSeconds, twoVariants(steady(0.01), steady(0.01))...)
	bit := steady(0.01)
	bit.P99 *= 1.05
	head := synth("partition", 2, synthSeconds, twoVariants(bit, steady(0.01))...)
	r := mustCompare(t, base, head)
	row := findRow(t, r, "cp", "reads", "whole", MetricP99)
	if row.P >= 0.05 || row.Change != ChangeNone {
		t.Errorf("cp/reads/whole p99 %+v: want significant but no change", row)
	}
	if r.Verdict != VerdictNoChange {
		t.Errorf("verdict %q, want no significant change", r.Verdict)
	}
	// With a 1 % threshold the same change is a regression.
	th := DefaultThresholds()
	th.P99Increase = 0.01
	if r := mustCompare(t, base, head, WithThresholds(th)); !r.Regressed() {
		t.Errorf("p99 threshold 1%%: verdict %q, want regression", r.Verdict)
	}
}

func TestThroughputDropIsRegression(t *testing.T) {
	base := synth("partition", 1, synthSeconds, twoVariants(steady(0.02), steady(0.02))...)
	// During the fault head's writes fail a fifth of the time: fewer successes
	// per second and a lower success ratio, in that phase only.
	failing := steady(0.02)
	failing.Success = 0.8
	head := synth("partition", 2, synthSeconds,
		synthVariant{Name: "cp", Streams: []synthStream{{Name: "reads", Shape: steady(0.02)}, {Name: "writes", Shape: steady(0.02), During: &failing}}},
		synthVariant{Name: "ap", Streams: []synthStream{{Name: "reads", Shape: steady(0.02)}, {Name: "writes", Shape: steady(0.02)}}},
	)
	r := mustCompare(t, base, head)
	if !r.Regressed() {
		t.Fatalf("verdict %q, want regression: %s", r.Verdict, r.Summary())
	}
	tp := findRow(t, r, "cp", "writes", "during "+synthFault, MetricThroughput)
	if tp.Change != ChangeRegression || tp.DeltaPct > -15 {
		t.Errorf("throughput row %+v: want a ~-20%% regression", tp)
	}
	sr := findRow(t, r, "cp", "writes", "during "+synthFault, MetricSuccessRatio)
	if sr.Change != ChangeRegression {
		t.Errorf("success ratio row %+v: want regression", sr)
	}
	if before := findRow(t, r, "cp", "writes", "before "+synthFault, MetricThroughput); before.Change == ChangeRegression {
		t.Errorf("before the fault nothing changed, got %+v", before)
	}
}

func TestDifferentScenariosAreRefused(t *testing.T) {
	a := synth("partition", 1, synthSeconds, twoVariants(steady(0.1), steady(0.1))...)
	b := synth("overload", 1, synthSeconds, twoVariants(steady(0.1), steady(0.1))...)
	_, err := Compare(a, b)
	if !errors.Is(err, ErrDifferentScenarios) {
		t.Fatalf("err = %v, want ErrDifferentScenarios", err)
	}
	if !strings.Contains(err.Error(), `"partition"`) || !strings.Contains(err.Error(), `"overload"`) {
		t.Errorf("error %q should name both scenarios", err)
	}
}

func TestTooFewSecondsIsInconclusive(t *testing.T) {
	// 12 seconds: phases of 4 seconds, and "whole" 12. Fault phases get no
	// verdict; "whole" still does.
	base := synth("partition", 1, 12, twoVariants(steady(0.02), steady(0.02))...)
	slower := steady(0.02)
	slower.P99 *= 2
	head := synth("partition", 2, 12, twoVariants(slower, steady(0.02))...)
	r := mustCompare(t, base, head)
	during := findRow(t, r, "cp", "reads", "during "+synthFault, MetricP99)
	if during.Change != ChangeInsufficient || !math.IsNaN(during.P) || during.NBase != 4 {
		t.Errorf("during row %+v: want insufficient data, p NaN, 4 samples", during)
	}
	if whole := findRow(t, r, "cp", "reads", "whole", MetricP99); whole.Change != ChangeRegression {
		t.Errorf("whole row %+v: want regression", whole)
	}

	// With only fault phases, nothing can be judged.
	only := OnlyPhases("before "+synthFault, "during "+synthFault)
	r = mustCompare(t, base, head, WithPhases(only))
	if r.Verdict != VerdictInconclusive || r.Regressed() {
		t.Errorf("verdict %q, want inconclusive", r.Verdict)
	}
	for _, row := range r.Rows {
		if !only(row.Phase) {
			t.Errorf("row of filtered-out phase %q", row.Phase)
		}
	}
}

func TestCheckThatStartsFailingIsRegression(t *testing.T) {
	base := synth("partition", 1, synthSeconds, twoVariants(steady(0.02), steady(0.02))...)
	head := synth("partition", 1, synthSeconds, twoVariants(steady(0.02), steady(0.02))...)
	head.Variants[1].Checks[0].Pass = false
	head.Variants[1].Checks[0].Observed = 61
	head.Variants[1].Checks[0].Message = "p99 61ms >= 50ms"
	r := mustCompare(t, base, head)
	if !r.Regressed() {
		t.Fatalf("verdict %q, want regression", r.Verdict)
	}
	if len(r.Checks) != 2 || r.Checks[0].Change != ChangeNone || r.Checks[1].Change != ChangeRegression {
		t.Errorf("checks %+v", r.Checks)
	}
	// And the other way round it is an improvement.
	if r := mustCompare(t, head, base); r.Verdict != VerdictImprovement {
		t.Errorf("reverse verdict %q, want improvement", r.Verdict)
	}
}

func TestOnlyInOneSideIsListed(t *testing.T) {
	base := synth("partition", 1, synthSeconds, twoVariants(steady(0.02), steady(0.02))...)
	head := synth("partition", 1, synthSeconds,
		synthVariant{Name: "cp", Streams: []synthStream{{Name: "reads", Shape: steady(0.02)}}},
		synthVariant{Name: "ap+queue", Streams: []synthStream{{Name: "reads", Shape: steady(0.02)}}},
	)
	head.Variants[0].Phases = head.Variants[0].Phases[:3] // no "after" phase
	head.Variants[0].Checks = nil
	r := mustCompare(t, base, head)
	wantBase := []string{`phase "cp/after db-partition"`, `stream "cp/writes"`, `check "cp/after db-partition: p99 < 50ms"`, `variant "ap"`}
	wantHead := []string{`variant "ap+queue"`}
	if !slices.Equal(r.OnlyInBase, wantBase) || !slices.Equal(r.OnlyInHead, wantHead) {
		t.Errorf("only in base %q, want %q; only in head %q, want %q", r.OnlyInBase, wantBase, r.OnlyInHead, wantHead)
	}
	if len(r.Rows) != 12 { // cp/reads × 3 phases × 4 metrics
		t.Errorf("%d rows, want 12", len(r.Rows))
	}
}

func TestUnfinishedRunIsInconclusive(t *testing.T) {
	base := synth("partition", 1, synthSeconds, twoVariants(steady(0.02), steady(0.02))...)
	head := synth("partition", 2, synthSeconds, twoVariants(steady(0.02), steady(0.02))...)
	head.Status, head.Reason = results.StatusAborted, "interrupted"
	r := mustCompare(t, base, head)
	if r.Verdict != VerdictInconclusive {
		t.Errorf("verdict %q, want inconclusive", r.Verdict)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "aborted") {
		t.Errorf("notes %q", r.Notes)
	}
}

// The verdict needs the samples to move the way the summary does: a phase
// p99 pushed up by one terrible second, while every other second got faster,
// is no regression.
func TestSummaryAndSamplesMustAgree(t *testing.T) {
	base := synth("partition", 1, synthSeconds, twoVariants(steady(0.02), steady(0.02))...)
	faster := steady(0.02)
	faster.P99 *= 0.8
	head := synth("partition", 2, synthSeconds, twoVariants(faster, steady(0.02))...)
	for i := range head.Variants[0].Streams[0].Phases {
		head.Variants[0].Streams[0].Phases[i].Latency.P99 = 500 // one outlier dominates the phase's histogram
	}
	r := mustCompare(t, base, head)
	row := findRow(t, r, "cp", "reads", "whole", MetricP99)
	if row.P >= 0.05 || row.Delta <= 0 || row.Change != ChangeNone {
		t.Errorf("row %+v: want significant, positive delta, no change", row)
	}
}

func TestInvalidOptions(t *testing.T) {
	run := synth("partition", 1, synthSeconds, twoVariants(steady(0.1), steady(0.1))...)
	for name, opt := range map[string]Option{
		"alpha 0":             WithAlpha(0),
		"alpha 1":             WithAlpha(1),
		"alpha NaN":           WithAlpha(math.NaN()),
		"negative threshold":  WithThresholds(Thresholds{P99Increase: -0.1}),
		"infinite threshold":  WithThresholds(Thresholds{ThroughputDrop: math.Inf(1)}),
		"NaN ratio threshold": WithThresholds(Thresholds{SuccessRatioDrop: math.NaN()}),
	} {
		if _, err := Compare(run, run, opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Compare(nil, run); err == nil {
		t.Error("nil base: no error")
	}
}

func TestStricterAlphaHidesWeakEvidence(t *testing.T) {
	// 6 seconds a side at 2x p99: the exact U test bottoms out at p = 0.002,
	// significant at 0.05, not at 0.001.
	base := synth("partition", 1, 6, twoVariants(steady(0.02), steady(0.02))...)
	slower := steady(0.02)
	slower.P99 *= 2
	head := synth("partition", 2, 6, twoVariants(slower, steady(0.02))...)
	whole := OnlyPhases("whole")
	if r := mustCompare(t, base, head, WithPhases(whole)); !r.Regressed() {
		t.Errorf("alpha 0.05: verdict %q, want regression", r.Verdict)
	}
	if r := mustCompare(t, base, head, WithPhases(whole), WithAlpha(0.001)); r.Regressed() {
		t.Errorf("alpha 0.001: verdict %q, want no regression", r.Verdict)
	}
}

// The CLI's path: runs written as results.json, read back from their
// directories, compared.
func TestCompareRunsReadFromDisk(t *testing.T) {
	baseDir, headDir := t.TempDir(), t.TempDir()
	slower := steady(0.02)
	slower.P99 *= 1.3
	if err := results.Write(baseDir, synth("partition", 1, synthSeconds, twoVariants(steady(0.02), steady(0.02))...)); err != nil {
		t.Fatal(err)
	}
	if err := results.Write(headDir, synth("partition", 2, synthSeconds, twoVariants(slower, steady(0.02))...)); err != nil {
		t.Fatal(err)
	}
	base, err := results.Read(baseDir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := results.Read(headDir)
	if err != nil {
		t.Fatal(err)
	}
	if r := mustCompare(t, base, head); !r.Regressed() {
		t.Errorf("verdict %q, want regression", r.Verdict)
	}
}

func TestNothingInCommonIsInconclusive(t *testing.T) {
	base := synth("partition", 1, synthSeconds, synthVariant{Name: "cp", Streams: []synthStream{{Name: "reads", Shape: steady(0.02)}}})
	head := synth("partition", 1, synthSeconds, synthVariant{Name: "ap", Streams: []synthStream{{Name: "reads", Shape: steady(0.02)}}})
	r := mustCompare(t, base, head)
	if r.Verdict != VerdictInconclusive || r.Summary() != "inconclusive: nothing in common to compare" {
		t.Errorf("verdict %q, summary %q", r.Verdict, r.Summary())
	}
}
