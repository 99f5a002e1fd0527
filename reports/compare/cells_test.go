package compare

import (
	"math"
	"testing"
)

// TestLimitsAgreeWithJudgement: every judged row of the golden report lies
// wholly beyond Limits' worse bound exactly when it regressed, and wholly
// beyond better exactly when it improved, so a chart drawing the limits
// shows what was judged.
func TestLimitsAgreeWithJudgement(t *testing.T) {
	r := goldenReport(t)
	judged := 0
	for _, row := range r.Rows {
		if math.IsNaN(row.Lo) {
			continue
		}
		judged++
		worse, better, ok := r.Limits(row.Metric)
		if !ok {
			t.Fatalf("no limits for %s", row.Metric)
		}
		beyondWorse, beyondBetter := row.Lo > worse, row.Hi < better
		if worse < better { // higher is better: worse lies below
			beyondWorse, beyondBetter = row.Hi < worse, row.Lo > better
		}
		if got := beyondWorse; got != (row.Change == ChangeRegression) {
			t.Errorf("%s/%s/%s %s: [%g, %g] beyond %g is %v, change %q", row.Variant, row.Stream, row.Phase, row.Metric, row.Lo, row.Hi, worse, got, row.Change)
		}
		if got := beyondBetter; got != (row.Change == ChangeImprovement) {
			t.Errorf("%s/%s/%s %s: [%g, %g] beyond %g is %v, change %q", row.Variant, row.Stream, row.Phase, row.Metric, row.Lo, row.Hi, better, got, row.Change)
		}
	}
	if judged == 0 {
		t.Fatal("the golden report judged no row")
	}
}

func TestLimitsOfTheDefaultThresholds(t *testing.T) {
	r := &Report{Thresholds: DefaultThresholds()}
	for _, tc := range []struct {
		m             Metric
		worse, better float64
	}{
		{MetricP50, 1.05, 1 / 1.05},
		{MetricP99, 1.10, 1 / 1.10},
		{MetricThroughput, 0.95, 1 / 0.95},
		{MetricSuccessRatio, -0.01, 0.01},
	} {
		worse, better, ok := r.Limits(tc.m)
		if !ok || math.Abs(worse-tc.worse) > 1e-12 || math.Abs(better-tc.better) > 1e-12 {
			t.Errorf("Limits(%s) = %g, %g, %v; want %g, %g", tc.m, worse, better, ok, tc.worse, tc.better)
		}
	}
	if _, _, ok := r.Limits("p75"); ok {
		t.Error("Limits of an unknown metric")
	}
}

func TestCellsMatchTheTextTable(t *testing.T) {
	r := goldenReport(t)
	row := r.Rows[0]
	c := row.Cells()
	if c.Runs != "12+12" || c.Change == "" || c.Interval == "" {
		t.Errorf("cells of the first row: %+v", c)
	}
	for _, row := range r.Rows {
		if row.Why != "" && row.Cells().Judgement != "insufficient data: "+row.Why && row.Change == ChangeInsufficient {
			t.Errorf("judgement %q does not carry the reason %q", row.Cells().Judgement, row.Why)
		}
	}
}
