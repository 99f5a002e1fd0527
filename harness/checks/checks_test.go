package checks

import (
	"math"
	"strings"
	"testing"

	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

func variant() *results.Variant {
	return &results.Variant{
		Name: "ap",
		Phases: []results.Phase{
			{Name: "whole", StartS: 0, EndS: 60},
			{Name: "before db-partition", StartS: 0, EndS: 20},
			{Name: "during db-partition", StartS: 20, EndS: 40},
			{Name: "after db-partition", StartS: 40, EndS: 60},
		},
		History: &results.History{AckedWrites: 500, OKReads: 2000, LostWrites: 2, StaleReads: 30, StaleRatio: 0.015,
			ImpossibleReads: 1, VersionRegressions: 4, UnconvergedKeys: 3, ConvergenceS: 3.5, Converged: true},
	}
}

// summaries: "reads" and all streams ("") everywhere, "writes" only in
// whole; "before" has no requests at all.
func summaries(stream string, phase results.Phase) (results.PhaseSummary, bool) {
	if stream != "" && stream != "reads" && !(stream == "writes" && phase.Name == "whole") {
		return results.PhaseSummary{}, false
	}
	if phase.Name == "before db-partition" {
		return results.PhaseSummary{Phase: phase.Name}, true
	}
	s := results.PhaseSummary{
		Phase: phase.Name, Requests: 8000, Successes: 7920, SuccessRatio: 0.99,
		Throughput: 396, Rate: 400, LateSends: 3,
		Latency: results.Latency{P50: 1.5, P90: 4, P99: 12, P999: 40, Max: 95, Mean: 2.25},
	}
	if stream == "reads" {
		s.Latency.P99 = 8
	}
	if phase.Name == "during db-partition" {
		s.SuccessRatio, s.Latency.P99 = 0.7, 510
	}
	return s, true
}

func TestEvaluate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		check    scenarios.Check
		pass     bool
		observed float64
		message  string // substring; "" means no message
		phase    string
	}{
		{"p99 whole", scenarios.Check{Metric: "p99", Op: "<", Value: 50}, true, 12, "", "whole"},
		{"p99 of a stream", scenarios.Check{Stream: "reads", Metric: "p99", Op: "<", Value: 10}, true, 8, "", "whole"},
		{"p99 during fails", scenarios.Check{Phase: "during db-partition", Metric: "p99", Op: "<", Value: 50}, false, 510, "observed 510ms, expected < 50ms", "during db-partition"},
		{"p50", scenarios.Check{Metric: "p50", Op: "<=", Value: 1.5}, true, 1.5, "", "whole"},
		{"p90", scenarios.Check{Metric: "p90", Op: "<", Value: 4}, false, 4, "expected < 4ms", "whole"},
		{"p999", scenarios.Check{Metric: "p999", Op: "<=", Value: 40}, true, 40, "", "whole"},
		{"max", scenarios.Check{Metric: "max", Op: "<", Value: 100}, true, 95, "", "whole"},
		{"mean", scenarios.Check{Metric: "mean", Op: "==", Value: 2.25}, true, 2.25, "", "whole"},
		{"success ratio", scenarios.Check{Metric: "success_ratio", Op: ">=", Value: 0.99}, true, 0.99, "", "whole"},
		{"success ratio during", scenarios.Check{Phase: "during db-partition", Metric: "success_ratio", Op: ">=", Value: 0.99}, false, 0.7, "observed 0.7, expected >= 0.99", "during db-partition"},
		{"error ratio is 1-success", scenarios.Check{Metric: "error_ratio", Op: "<=", Value: 0.01}, true, 0.01, "", "whole"},
		{"throughput", scenarios.Check{Metric: "throughput", Op: ">", Value: 390}, true, 396, "", "whole"},
		{"rate", scenarios.Check{Metric: "rate", Op: "!=", Value: 400}, false, 400, "400 req/s", "whole"},
		{"requests", scenarios.Check{Metric: "requests", Op: ">=", Value: 8000}, true, 8000, "", "whole"},
		{"late sends", scenarios.Check{Metric: "late_sends", Op: "==", Value: 0}, false, 3, "observed 3, expected == 0", "whole"},
		{"rate of an empty phase is 0", scenarios.Check{Phase: "before db-partition", Metric: "rate", Op: "==", Value: 0}, true, 0, "", "before db-partition"},
		{"p99 of an empty phase", scenarios.Check{Phase: "before db-partition", Metric: "p99", Op: "<", Value: 50}, false, 0, "no requests", "before db-partition"},
		{"success of an empty phase", scenarios.Check{Phase: "before db-partition", Metric: "success_ratio", Op: ">", Value: 0.5}, false, 0, "no requests", "before db-partition"},
		{"writes in whole", scenarios.Check{Stream: "writes", Metric: "requests", Op: ">", Value: 0}, true, 8000, "", "whole"},
		{"unknown stream", scenarios.Check{Stream: "nope", Metric: "p99", Op: "<", Value: 50}, false, 0, `no stream "nope"`, "whole"},
		{"stream missing in a phase", scenarios.Check{Stream: "writes", Phase: "after db-partition", Metric: "p99", Op: "<", Value: 50}, false, 0, `no stream "writes" in phase "after db-partition"`, "after db-partition"},
		{"unknown phase", scenarios.Check{Phase: "during nothing", Metric: "p99", Op: "<", Value: 50}, false, 0, `no phase "during nothing"`, "during nothing"},
		{"unknown metric", scenarios.Check{Metric: "p42", Op: "<", Value: 50}, false, 0, `unknown metric "p42"`, "whole"},
		{"unknown op", scenarios.Check{Metric: "p99", Op: "=<", Value: 50}, false, 0, `unknown comparison "=<"`, "whole"},
		{"lost writes", scenarios.Check{Metric: "lost_writes", Op: "==", Value: 0}, false, 2, "observed 2, expected == 0", "whole"},
		{"stale reads", scenarios.Check{Metric: "stale_reads", Op: ">", Value: 0}, true, 30, "", "whole"},
		{"stale ratio", scenarios.Check{Metric: "stale_read_ratio", Op: "<", Value: 0.02}, true, 0.015, "", "whole"},
		{"convergence", scenarios.Check{Metric: "convergence", Op: "<", Value: 5}, true, 3.5, "", "whole"},
		{"convergence too slow", scenarios.Check{Metric: "convergence", Op: "<", Value: 2}, false, 3.5, "observed 3.5s, expected < 2s", "whole"},
		{"history in a phase notes its scope", scenarios.Check{Phase: "during db-partition", Metric: "stale_reads", Op: ">", Value: 0}, true, 30, "whole run", "during db-partition"},
		{"impossible reads", scenarios.Check{Metric: "impossible_reads", Op: "==", Value: 0}, false, 1, "observed 1, expected == 0", "whole"},
		{"version regressions", scenarios.Check{Metric: "version_regressions", Op: "<=", Value: 4}, true, 4, "", "whole"},
		{"unconverged keys", scenarios.Check{Metric: "unconverged_keys", Op: "==", Value: 0}, false, 3, "observed 3", "whole"},
		{"history in an unknown phase", scenarios.Check{Phase: "during typo", Metric: "stale_reads", Op: "==", Value: 0}, false, 0, `no phase "during typo"`, "during typo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.check
			c.Expect = "as written"
			got := Evaluate([]scenarios.Check{c}, variant(), summaries)
			if len(got) != 1 {
				t.Fatalf("%d results", len(got))
			}
			r := got[0]
			if r.Pass != tc.pass || math.Abs(r.Observed-tc.observed) > 1e-12 || r.Phase != tc.phase || r.Metric != c.Metric ||
				r.Variant != "ap" || r.Expect != "as written" || r.Stream != c.Stream {
				t.Errorf("result %+v", r)
			}
			if tc.message == "" && r.Message != "" || !strings.Contains(r.Message, tc.message) {
				t.Errorf("message %q, want %q", r.Message, tc.message)
			}
			if !r.Pass && r.Message == "" {
				t.Error("a failing check without a message")
			}
		})
	}
}

func TestEvaluateHistoryEdgeCases(t *testing.T) {
	never := variant()
	never.History.ConvergenceS, never.History.Converged = -1, false
	none := variant()
	none.History = nil
	noAcks := variant()
	noAcks.History.AckedWrites, noAcks.History.LostWrites = 0, 0
	noReads := variant()
	noReads.History.OKReads, noReads.History.StaleReads, noReads.History.ImpossibleReads = 0, 0, 0
	partial := variant()
	partial.History.Incomplete = "stream writes: read back: EOF"
	for _, tc := range []struct {
		name    string
		v       *results.Variant
		check   scenarios.Check
		message string
	}{
		{"never converged fails any bound", never, scenarios.Check{Metric: "convergence", Op: "<", Value: 1e9}, "never held"},
		{"never converged fails even >", never, scenarios.Check{Metric: "convergence", Op: ">", Value: -5}, "never held"},
		{"no history", none, scenarios.Check{Metric: "lost_writes", Op: "==", Value: 0}, "no history"},
		{"no history for convergence", none, scenarios.Check{Metric: "convergence", Op: "<", Value: 5}, "no history"},
		{"nothing acked: lost writes cannot pass", noAcks, scenarios.Check{Metric: "lost_writes", Op: "==", Value: 0}, "no write was acknowledged"},
		{"nothing acked: unconverged keys cannot pass", noAcks, scenarios.Check{Metric: "unconverged_keys", Op: "==", Value: 0}, "no write was acknowledged"},
		{"no read: stale reads cannot pass", noReads, scenarios.Check{Metric: "stale_reads", Op: "==", Value: 0}, "no read succeeded"},
		{"no read: impossible reads cannot pass", noReads, scenarios.Check{Metric: "impossible_reads", Op: "==", Value: 0}, "no read succeeded"},
		{"incomplete history fails", partial, scenarios.Check{Metric: "lost_writes", Op: "==", Value: 0}, "incomplete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Evaluate([]scenarios.Check{tc.check}, tc.v, summaries)[0]
			if r.Pass || !strings.Contains(r.Message, tc.message) {
				t.Errorf("result %+v, want a failure saying %q", r, tc.message)
			}
		})
	}
}

func TestEvaluateSelectsChecksOfTheVariant(t *testing.T) {
	checks := []scenarios.Check{
		{Variant: "cp", Metric: "stale_reads", Op: "==", Value: 0, Expect: "cp only"},
		{Variant: "ap", Metric: "success_ratio", Op: ">=", Value: 0.9, Expect: "ap only", File: "catalogue/partition.yaml", Line: 31},
		{Metric: "lost_writes", Op: "==", Value: 2, Expect: "every variant", Line: 33},
	}
	got := Evaluate(checks, variant(), summaries)
	if len(got) != 2 || got[0].Expect != "ap only" || got[1].Expect != "every variant" {
		t.Fatalf("results %+v", got)
	}
	if got[0].Where != "catalogue/partition.yaml:31" || got[1].Where != "line 33" {
		t.Errorf("where: %q %q", got[0].Where, got[1].Where)
	}
	if !got[0].Pass || !got[1].Pass {
		t.Errorf("results %+v", got)
	}
}

func TestEvaluateWithoutSummariesOrVariant(t *testing.T) {
	r := Evaluate([]scenarios.Check{{Metric: "p99", Op: "<", Value: 1}}, variant(), nil)
	if len(r) != 1 || r[0].Pass || !strings.Contains(r[0].Message, "no stream measurements") {
		t.Errorf("nil summary: %+v", r)
	}
	v := variant()
	v.Phases = nil
	r = Evaluate([]scenarios.Check{{Metric: "p99", Op: "<", Value: 1}}, v, summaries)
	if r[0].Pass || !strings.Contains(r[0].Message, "phases: none") {
		t.Errorf("no phases: %+v", r)
	}
	if r := Evaluate([]scenarios.Check{{Metric: "p99"}}, nil, summaries); r != nil {
		t.Errorf("nil variant: %+v", r)
	}
}
