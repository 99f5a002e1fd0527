package compare

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
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

func mustCompareRuns(t *testing.T, base, head []*results.Results, opts ...Option) *Report {
	t.Helper()
	r, err := CompareRuns(base, head, opts...)
	if err != nil {
		t.Fatalf("CompareRuns: %v", err)
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

// gate draws n runs a side: base from baseShape, head from headShape (cp
// reads; everything else steady), each run with its own seed. Every run gets
// an independent run-level latency offset of relative size offset; with
// paired, base and head of one round share it (the duet's point: what hits
// the machine during a round hits both sides).
func gate(seed uint64, n int, offset float64, paired bool, baseShape, headShape shape) (base, head []*results.Results) {
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range n {
		bo := offset * rng.NormFloat64()
		ho := offset * rng.NormFloat64()
		if paired {
			ho = bo + 0.2*offset*rng.NormFloat64() // mostly shared, a little each
		}
		b, h := baseShape, headShape
		b.Offset, h.Offset = bo, ho
		s := seed*1000 + uint64(i)*2
		base = append(base, synth("partition", s, synthSeconds, twoVariants(b, steady(0.1))...))
		head = append(head, synth("partition", s+1, synthSeconds, twoVariants(h, steady(0.1))...))
	}
	return base, head
}

// noisy is a stream whose seconds are autocorrelated (AR(1), φ = 0.6) at
// 10 % noise: what the issue measured real runs to look like.
func noisy() shape {
	s := steady(0.1)
	s.Phi = 0.6
	return s
}

func TestIdenticalRunsShowNoChange(t *testing.T) {
	base, _ := gate(1, 12, 0.05, false, noisy(), noisy())
	r := mustCompareRuns(t, base, base, WithPaired(true))
	if r.Regressed() || r.Verdict != VerdictNoChange {
		t.Fatalf("verdict %q, want %q: %s", r.Verdict, VerdictNoChange, r.Summary())
	}
	// 2 variants × 2 streams × 4 phases × 4 metrics.
	if len(r.Rows) != 64 || r.Estimated != 64 {
		t.Errorf("%d rows, %d estimated, want 64", len(r.Rows), r.Estimated)
	}
	for _, row := range r.Rows {
		if want := map[bool]float64{true: 1, false: 0}[row.Relative]; row.Est != want || row.Lo != want || row.Hi != want || row.Why != "" {
			t.Errorf("%+v: identical runs must give %v [%v, %v]", row, want, want, want)
		}
	}
	if len(r.OnlyInBase)+len(r.OnlyInHead)+len(r.Notes) != 0 {
		t.Errorf("only in base %v, only in head %v, notes %v", r.OnlyInBase, r.OnlyInHead, r.Notes)
	}
}

// The null case the issue measured: per-second noise autocorrelated (AR(1),
// φ 0.6) plus a 5 % run-level offset. Treating seconds as samples flagged
// about two thirds of such identical pairs; with the run as the unit the
// gate must stay at or under its nominal rate, for independent runs and for
// paired rounds alike.
func TestNullWithAutocorrelatedNoiseAndRunOffsetStaysQuiet(t *testing.T) {
	const gates = 200
	for _, paired := range []bool{false, true} {
		alarms := 0
		for g := range uint64(gates) {
			base, head := gate(g+1, 5, 0.05, paired, noisy(), noisy())
			if r := mustCompareRuns(t, base, head, WithPaired(paired)); r.Regressed() {
				alarms++
			}
		}
		if rate := float64(alarms) / gates; rate > DefaultAlpha {
			t.Errorf("paired %v: %d false alarms in %d A/A gates (%.1f %%), want at most %.0f %%", paired, alarms, gates, 100*rate, 100*DefaultAlpha)
		}
	}
}

// The bounds themselves must have their nominal coverage, not only the gate
// with its thresholds: with threshold 0 and no correction, one row's lower
// bound (one-sided, 95 %) lies above 1 in about alpha of A/A gates.
func TestIntervalCoverageUnderTheNull(t *testing.T) {
	const gates = 400
	for _, paired := range []bool{false, true} {
		above := 0
		for g := range uint64(gates) {
			base, head := gate(g+1, 5, 0.05, paired, noisy(), noisy())
			r := mustCompareRuns(t, base, head, WithPaired(paired), WithCorrection(false), WithThresholds(Thresholds{}), WithPhases(OnlyPhases("whole")))
			if findRow(t, r, "cp", "reads", "whole", MetricP50).Change == ChangeRegression {
				above++
			}
		}
		rate := float64(above) / gates
		if rate < 0.02 || rate > 0.09 {
			t.Errorf("paired %v: the 95 %% lower bound lay above 1 in %.1f %% of A/A gates, want about 5 %%", paired, 100*rate)
		}
	}
}

// A planted +30 % p50 under the same noise is caught: by twelve paired
// rounds (all but a rare one; signed-rank bounds need at least nine to
// reach the corrected 99.69 % for 16 gated rows), by eight independent
// runs a side most of the time (the run offsets do not cancel there).
func TestPlantedShiftIsCaught(t *testing.T) {
	const gates = 40
	slower := noisy()
	slower.P50 *= 1.3
	for _, tc := range []struct {
		paired bool
		rounds int
		min    int
	}{{true, 12, gates - 2}, {false, 8, gates * 3 / 5}} {
		rounds := tc.rounds
		caught := 0
		for g := range uint64(gates) {
			base, head := gate(g+1, rounds, 0.05, tc.paired, noisy(), slower)
			r := mustCompareRuns(t, base, head, WithPaired(tc.paired))
			if row := findRow(t, r, "cp", "reads", "whole", MetricP50); row.Change == ChangeRegression {
				caught++
				if !(row.Lo > 1+DefaultThresholds().P50Increase && row.Est > 1.15 && row.Est < 1.5) {
					t.Errorf("caught row %+v: want ×1.3 with the interval above the threshold", row)
				}
			}
			for _, row := range rowsWith(r, ChangeRegression) {
				if row.Stream != "reads" || row.Metric != MetricP50 && row.Metric != MetricP99 {
					t.Errorf("unexpected regression %+v", row)
				}
			}
		}
		t.Logf("paired %v: caught %d of %d", tc.paired, caught, gates)
		if caught < tc.min {
			t.Errorf("paired %v: caught %d of %d planted +30 %% shifts, want at least %d", tc.paired, caught, gates, tc.min)
		}
	}
}

// With one run a side the run-to-run noise is unknown: even a large change
// is not judged, every row says why, and the report says so.
func TestOneRunASideJudgesNoMetric(t *testing.T) {
	base := synth("partition", 1, synthSeconds, twoVariants(steady(0.02), steady(0.02))...)
	slower := steady(0.02)
	slower.P50 *= 1.5
	head := synth("partition", 2, synthSeconds, twoVariants(slower, steady(0.02))...)
	r := mustCompare(t, base, head)
	if r.Regressed() || r.Verdict != VerdictInconclusive {
		t.Fatalf("verdict %q, want inconclusive: %s", r.Verdict, r.Summary())
	}
	for _, row := range r.Rows {
		if row.Change != ChangeInsufficient || !strings.Contains(row.Why, "run-to-run noise unknown") || !math.IsNaN(row.Lo) {
			t.Errorf("row %+v: want insufficient data, run-to-run noise unknown", row)
		}
	}
	if row := findRow(t, r, "cp", "reads", "whole", MetricP50); row.Head/row.Base < 1.4 {
		t.Errorf("row %+v: the values are still shown", row)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "run-to-run noise is unknown") }) {
		t.Errorf("notes %q: want one about run-to-run noise", r.Notes)
	}
}

func TestTooFewRunsSaysHowManyAreNeeded(t *testing.T) {
	base, head := gate(3, 2, 0.05, true, noisy(), noisy())
	r := mustCompareRuns(t, base, head, WithPaired(true))
	row := findRow(t, r, "cp", "reads", "during "+synthFault, MetricP50)
	if row.Change != ChangeInsufficient || row.Why != "2 of 3 paired rounds needed" {
		t.Errorf("row %+v: want insufficient data, 2 of 3 paired rounds needed", row)
	}
	if r.Verdict != VerdictInconclusive {
		t.Errorf("verdict %q, want inconclusive", r.Verdict)
	}
}

func TestImprovementIsReported(t *testing.T) {
	faster := steady(0.03)
	faster.P50 *= 0.7
	base, head := gate(5, 12, 0.02, true, steady(0.03), faster)
	r := mustCompareRuns(t, base, head, WithPaired(true))
	if r.Verdict != VerdictImprovement || r.Regressed() {
		t.Fatalf("verdict %q, want improvement: %s", r.Verdict, r.Summary())
	}
	if row := findRow(t, r, "cp", "reads", "whole", MetricP50); row.Change != ChangeImprovement {
		t.Errorf("cp/reads/whole p50: %+v, want improvement", row)
	}
}

// A change whose interval lies beyond 1 but not beyond the threshold is no
// regression: significance is not importance.
func TestSmallChangeIsWithinThreshold(t *testing.T) {
	bit := steady(0.01)
	bit.P99 *= 1.05
	base, head := gate(1, 12, 0.005, true, steady(0.01), bit)
	r := mustCompareRuns(t, base, head, WithPaired(true))
	row := findRow(t, r, "cp", "reads", "whole", MetricP99)
	if !(row.Lo > 1) || row.Change != ChangeNone {
		t.Errorf("cp/reads/whole p99 %+v: want an interval above 1 but no change", row)
	}
	th := DefaultThresholds()
	th.P99Increase = 0.01
	if r := mustCompareRuns(t, base, head, WithPaired(true), WithThresholds(th)); !r.Regressed() {
		t.Errorf("p99 threshold 1%%: verdict %q, want regression", r.Verdict)
	}
}

func TestThroughputDropIsRegression(t *testing.T) {
	failing := steady(0.02)
	failing.Success = 0.8
	var base, head []*results.Results
	for i := range uint64(4) {
		base = append(base, synth("partition", 10+i, synthSeconds, twoVariants(steady(0.02), steady(0.02))...))
		// During the fault head's writes fail a fifth of the time.
		head = append(head, synth("partition", 20+i, synthSeconds,
			synthVariant{Name: "cp", Streams: []synthStream{{Name: "reads", Shape: steady(0.02)}, {Name: "writes", Shape: steady(0.02), During: &failing}}},
			synthVariant{Name: "ap", Streams: []synthStream{{Name: "reads", Shape: steady(0.02)}, {Name: "writes", Shape: steady(0.02)}}},
		))
	}
	r := mustCompareRuns(t, base, head)
	if !r.Regressed() {
		t.Fatalf("verdict %q, want regression: %s", r.Verdict, r.Summary())
	}
	if tp := findRow(t, r, "cp", "writes", "during "+synthFault, MetricThroughput); tp.Change != ChangeRegression || tp.Est > 0.85 {
		t.Errorf("throughput row %+v: want a ~×0.8 regression", tp)
	}
	if sr := findRow(t, r, "cp", "writes", "during "+synthFault, MetricSuccessRatio); sr.Change != ChangeRegression || sr.Est > -0.15 {
		t.Errorf("success ratio row %+v: want a ~-0.2 regression", sr)
	}
	if before := findRow(t, r, "cp", "writes", "before "+synthFault, MetricThroughput); before.Change == ChangeRegression {
		t.Errorf("before the fault nothing changed, got %+v", before)
	}
}

func TestZeroThroughput(t *testing.T) {
	base, head := gate(2, 3, 0.02, true, noisy(), noisy())
	setThroughput := func(runs []*results.Results, v float64) {
		for _, run := range runs {
			for i := range run.Variants[0].Streams[1].Phases {
				run.Variants[0].Streams[1].Phases[i].Throughput = v
			}
		}
	}
	setThroughput(base, 0)
	setThroughput(head, 0)
	r := mustCompareRuns(t, base, head, WithPaired(true))
	if row := findRow(t, r, "cp", "writes", "whole", MetricThroughput); row.Change != ChangeNone || row.Why != "" || row.Est != 1 {
		t.Errorf("nothing on both sides: %+v, want no change", row)
	}
	head[1].Variants[0].Streams[1].Phases[0].Throughput = 5
	r = mustCompareRuns(t, base, head, WithPaired(true))
	if row := findRow(t, r, "cp", "writes", "whole", MetricThroughput); row.Change != ChangeNotJudged || row.Why == "" {
		t.Errorf("zero in some runs: %+v, want not judged", row)
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
	if _, err := CompareRuns([]*results.Results{a, a}, []*results.Results{a}, WithPaired(true)); err == nil {
		t.Error("paired runs of unequal counts: no error")
	}
}

func TestCheckThatStartsFailingIsRegression(t *testing.T) {
	base := synth("partition", 1, synthSeconds, twoVariants(steady(0.02), steady(0.02))...)
	head := synth("partition", 1, synthSeconds, twoVariants(steady(0.02), steady(0.02))...)
	head.Variants[1].Checks[0].Pass = false
	head.Variants[1].Checks[0].Observed = 61
	r := mustCompare(t, base, head)
	if !r.Regressed() {
		t.Fatalf("verdict %q, want regression: one run a side still fails on a check", r.Verdict)
	}
	if len(r.Checks) != 2 || r.Checks[0].Change != ChangeNone || r.Checks[1].Change != ChangeRegression {
		t.Errorf("checks %+v", r.Checks)
	}
	if r := mustCompare(t, head, base); r.Verdict != VerdictImprovement {
		t.Errorf("reverse verdict %q, want improvement", r.Verdict)
	}
	// Over several runs: failing in one head run of three is no regression,
	// in two of three it is.
	heads := []*results.Results{head, base, base}
	if r := mustCompareRuns(t, []*results.Results{base, base, base}, heads); r.Checks[1].Change != ChangeNone || r.Checks[1].HeadPassed != 2 {
		t.Errorf("one failing head run of three: %+v, want no change", r.Checks[1])
	}
	heads[1] = head
	if r := mustCompareRuns(t, []*results.Results{base, base, base}, heads); !r.Regressed() {
		t.Errorf("two failing head runs of three: verdict %q, want regression", r.Verdict)
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
	base, head := gate(4, 3, 0.02, true, noisy(), noisy())
	head[1].Status, head[1].Reason = results.StatusAborted, "interrupted"
	r := mustCompareRuns(t, base, head, WithPaired(true))
	if r.Verdict != VerdictInconclusive {
		t.Errorf("verdict %q, want inconclusive", r.Verdict)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "head run 2 of 3 status is \"aborted\": interrupted") {
		t.Errorf("notes %q", r.Notes)
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
	if _, err := CompareRuns(nil, nil); err == nil {
		t.Error("no runs: no error")
	}
}

func TestStricterAlphaWidensTheInterval(t *testing.T) {
	slower := noisy()
	slower.P50 *= 1.25
	base, head := gate(9, 16, 0.05, true, noisy(), slower)
	whole := WithPhases(OnlyPhases("whole"))
	loose := findRow(t, mustCompareRuns(t, base, head, WithPaired(true), whole), "cp", "reads", "whole", MetricP50)
	strict := findRow(t, mustCompareRuns(t, base, head, WithPaired(true), whole, WithAlpha(0.001)), "cp", "reads", "whole", MetricP50)
	if !(strict.Lo < loose.Lo && strict.Hi > loose.Hi && strict.Est == loose.Est) {
		t.Errorf("alpha 0.001 %+v should be wider than alpha 0.05 %+v around the same estimate", strict, loose)
	}
}

// The CLI's path: runs written as results.json, read back, compared.
func TestCompareRunsReadFromDisk(t *testing.T) {
	slower := steady(0.03)
	slower.P50 *= 1.5
	base, head := gate(6, 12, 0.02, true, steady(0.03), slower)
	var back [2][]*results.Results
	for side, runs := range [][]*results.Results{base, head} {
		for _, run := range runs {
			dir := t.TempDir()
			if err := results.Write(dir, run); err != nil {
				t.Fatal(err)
			}
			got, err := results.Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			back[side] = append(back[side], got)
		}
	}
	if r := mustCompareRuns(t, back[0], back[1], WithPaired(true)); !r.Regressed() {
		t.Errorf("verdict %q, want regression: %s", r.Verdict, r.Summary())
	}
}

func TestNothingInCommonIsInconclusive(t *testing.T) {
	base := synth("partition", 1, synthSeconds, synthVariant{Name: "cp", Streams: []synthStream{{Name: "reads", Shape: steady(0.02)}}})
	head := synth("partition", 1, synthSeconds, synthVariant{Name: "ap", Streams: []synthStream{{Name: "reads", Shape: steady(0.02)}}})
	r := mustCompare(t, base, head)
	if r.Verdict != VerdictInconclusive || !strings.HasPrefix(r.Summary(), "inconclusive: nothing in common to compare") {
		t.Errorf("verdict %q, summary %q", r.Verdict, r.Summary())
	}
}

func TestReadRuns(t *testing.T) {
	dir := t.TempDir()
	base, _ := gate(6, 3, 0.02, true, steady(0.03), steady(0.03))
	for i, run := range base {
		sub := filepath.Join(dir, fmt.Sprintf("round-%02d", i+1))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := results.Write(sub, run); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "plots"), 0o755); err != nil { // no results.json: skipped
		t.Fatal(err)
	}
	runs, err := ReadRuns(dir)
	if err != nil || len(runs) != 3 || runs[2].StartedAt != base[2].StartedAt {
		t.Fatalf("ReadRuns(dir of runs) = %d runs, %v; want 3", len(runs), err)
	}
	if runs, err := ReadRuns(filepath.Join(dir, "round-02")); err != nil || len(runs) != 1 {
		t.Errorf("ReadRuns(run dir) = %d runs, %v; want 1", len(runs), err)
	}
	if _, err := ReadRuns(filepath.Join(dir, "plots")); err == nil || !strings.Contains(err.Error(), "no results.json") {
		t.Errorf("ReadRuns(empty dir) error %v, want no results.json", err)
	}
}

// A slowdown only during the fault is a lead, not a verdict: its phase row
// says regression (not gated), the whole run's row stays within its
// threshold, and the gate passes; gating every phase (WithGate(nil)) makes
// the same runs fail it. The whole run is what the gate judges by default,
// since every gated row widens every gated interval.
func TestPhaseRowsAreLeadsNotVerdicts(t *testing.T) {
	during := steady(0.02)
	during.P50 *= 1.3
	var base, head []*results.Results
	for i := range uint64(12) {
		base = append(base, synth("partition", 2*i+1, synthSeconds, twoVariants(steady(0.02), steady(0.02))...))
		h := synth("partition", 2*i+2, synthSeconds,
			synthVariant{Name: "cp", Streams: []synthStream{{Name: "reads", Shape: steady(0.02), During: &during}, {Name: "writes", Shape: steady(0.02)}}},
			synthVariant{Name: "ap", Streams: []synthStream{{Name: "reads", Shape: steady(0.02)}, {Name: "writes", Shape: steady(0.02)}}})
		head = append(head, h)
	}
	// A third of the run at ×1.3 moves the whole run's p50 by about ×1.1:
	// judged here against a +10 % threshold, so that only the phase row
	// clears its threshold.
	th := DefaultThresholds()
	th.P50Increase = 0.10
	r := mustCompareRuns(t, base, head, WithPaired(true), WithThresholds(th))
	lead := findRow(t, r, "cp", "reads", "during "+synthFault, MetricP50)
	if lead.Gated || lead.Change != ChangeRegression || lead.Cells().Judgement != "regression (not gated)" {
		t.Errorf("the fault phase's row: gated %v, %q (%q), want a regression that is not gated", lead.Gated, lead.Change, lead.Cells().Judgement)
	}
	if whole := findRow(t, r, "cp", "reads", "whole", MetricP50); !whole.Gated || whole.Change != ChangeNone {
		t.Errorf("the whole run's row: gated %v, %q ×%.3f [%.3f, %.3f], want a gated row within its threshold", whole.Gated, whole.Change, whole.Est, whole.Lo, whole.Hi)
	}
	if r.Regressed() || !strings.Contains(r.Summary(), "1 phase row beyond its threshold (a lead: not gated)") {
		t.Errorf("verdict %q: %s", r.Verdict, r.Summary())
	}
	if r.GateFamily != 16 || r.Estimated != 64 {
		t.Errorf("gate family %d of %d estimated rows, want 16 of 64 (2 variants × 2 streams × 4 metrics, of 4 phases)", r.GateFamily, r.Estimated)
	}
	if all := mustCompareRuns(t, base, head, WithPaired(true), WithGate(nil)); !all.Regressed() {
		t.Errorf("gating every phase: verdict %q, want a regression: %s", all.Verdict, all.Summary())
	}
}

// The gate's family is its gated rows only: gating the whole run narrows
// every gated interval against gating every phase, and no phase filter that
// leaves nothing to gate passes quietly.
func TestSmallerGateFamilyNarrowsTheGatedIntervals(t *testing.T) {
	base, head := gate(3, 16, 0.05, true, noisy(), noisy())
	width := func(r *Report) float64 {
		row := findRow(t, r, "cp", "reads", "whole", MetricP50)
		return math.Log(row.Hi / row.Lo)
	}
	whole := mustCompareRuns(t, base, head, WithPaired(true))
	every := mustCompareRuns(t, base, head, WithPaired(true), WithGate(nil))
	if !(width(whole) < 0.9*width(every)) {
		t.Errorf("gated interval width (log) %.3f with the whole run gated, %.3f with every phase: want it narrower", width(whole), width(every))
	}
	none := mustCompareRuns(t, base, head, WithPaired(true), WithGate(OnlyPhases("no such phase")))
	if none.Verdict != VerdictInconclusive || !slices.ContainsFunc(none.Notes, func(n string) bool { return strings.Contains(n, "nothing but a check can fail the gate") }) {
		t.Errorf("nothing gated: verdict %q, notes %v", none.Verdict, none.Notes)
	}
}
