package checks

import (
	"math"
	"strings"
	"testing"

	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

func variant() *results.Variant {
	v := &results.Variant{
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
	withSummaries(v)
	return v
}

// withSummaries fills the streams and the total of v from summaries.
func withSummaries(v *results.Variant) {
	v.Total = nil
	v.Streams = []results.Stream{{Name: "reads"}, {Name: "writes"}}
	for _, p := range v.Phases {
		s, _ := summaries("", p)
		v.Total = append(v.Total, s)
		for i := range v.Streams {
			s, _ := summaries(v.Streams[i].Name, p)
			s.Phase = p.Name
			v.Streams[i].Phases = append(v.Streams[i].Phases, s)
		}
	}
}

// evaluate runs checks over a run of the one variant v.
func evaluate1(checks []scenarios.Check, v *results.Variant) []results.CheckResult {
	res := &results.Results{Variants: []results.Variant{*v}}
	Evaluate(checks, res)
	return res.Variants[0].Checks
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
		{"p99 during fails", scenarios.Check{Phase: "during db-partition", Metric: "p99", Op: "<", Value: 50}, false, 510, "observed 510ms, required < 50ms", "during db-partition"},
		{"p50", scenarios.Check{Metric: "p50", Op: "<=", Value: 1.5}, true, 1.5, "", "whole"},
		{"p90", scenarios.Check{Metric: "p90", Op: "<", Value: 4}, false, 4, "required < 4ms", "whole"},
		{"p999", scenarios.Check{Metric: "p999", Op: "<=", Value: 40}, true, 40, "", "whole"},
		{"max", scenarios.Check{Metric: "max", Op: "<", Value: 100}, true, 95, "", "whole"},
		{"mean", scenarios.Check{Metric: "mean", Op: "==", Value: 2.25}, true, 2.25, "", "whole"},
		{"success ratio", scenarios.Check{Metric: "success_ratio", Op: ">=", Value: 0.99}, true, 0.99, "", "whole"},
		{"success ratio during", scenarios.Check{Phase: "during db-partition", Metric: "success_ratio", Op: ">=", Value: 0.99}, false, 0.7, "observed 0.7, required >= 0.99", "during db-partition"},
		{"error ratio is 1-success", scenarios.Check{Metric: "error_ratio", Op: "<=", Value: 0.01}, true, 0.01, "", "whole"},
		{"throughput", scenarios.Check{Metric: "throughput", Op: ">", Value: 390}, true, 396, "", "whole"},
		{"rate", scenarios.Check{Metric: "rate", Op: "!=", Value: 400}, false, 400, "observed 400/s", "whole"},
		{"requests", scenarios.Check{Metric: "requests", Op: ">=", Value: 8000}, true, 8000, "", "whole"},
		{"late sends", scenarios.Check{Metric: "late_sends", Op: "==", Value: 0}, false, 3, "observed 3, required == 0", "whole"},
		{"rate of an empty phase is 0", scenarios.Check{Phase: "before db-partition", Metric: "rate", Op: "==", Value: 0}, true, 0, "", "before db-partition"},
		{"p99 of an empty phase", scenarios.Check{Phase: "before db-partition", Metric: "p99", Op: "<", Value: 50}, false, 0, "no requests", "before db-partition"},
		{"success of an empty phase", scenarios.Check{Phase: "before db-partition", Metric: "success_ratio", Op: ">", Value: 0.5}, false, 0, "no requests", "before db-partition"},
		{"writes in whole", scenarios.Check{Stream: "writes", Metric: "requests", Op: ">", Value: 0}, true, 8000, "", "whole"},
		{"unknown stream", scenarios.Check{Stream: "nope", Metric: "p99", Op: "<", Value: 50}, false, 0, `no stream "nope"`, "whole"},
		{"stream without requests in a phase", scenarios.Check{Stream: "writes", Phase: "after db-partition", Metric: "p99", Op: "<", Value: 50}, false, 0, `no requests in phase "after db-partition"`, "after db-partition"},
		{"unknown phase", scenarios.Check{Phase: "during nothing", Metric: "p99", Op: "<", Value: 50}, false, 0, `no phase "during nothing"`, "during nothing"},
		{"unknown metric", scenarios.Check{Metric: "p42", Op: "<", Value: 50}, false, 0, `unknown metric "p42"`, "whole"},
		{"unknown op", scenarios.Check{Metric: "p99", Op: "=<", Value: 50}, false, 0, `unknown comparison "=<"`, "whole"},
		{"rate in ms", scenarios.Check{Metric: "rate", Op: "<", Value: 10}, false, 400, "observed 400/s, required < 10/s", "whole"},
		{"lost writes", scenarios.Check{Metric: "lost_writes", Op: "==", Value: 0}, false, 2, "observed 2, required == 0", "whole"},
		{"stale reads", scenarios.Check{Metric: "stale_reads", Op: ">", Value: 0}, true, 30, "", "whole"},
		{"stale ratio", scenarios.Check{Metric: "stale_read_ratio", Op: "<", Value: 0.02}, true, 0.015, "", "whole"},
		{"convergence", scenarios.Check{Metric: "convergence", Op: "<", Value: 5}, true, 3.5, "", "whole"},
		{"convergence too slow", scenarios.Check{Metric: "convergence", Op: "<", Value: 2}, false, 3.5, "observed 3.5s, required < 2s", "whole"},
		{"history in a phase notes its scope", scenarios.Check{Phase: "during db-partition", Metric: "stale_reads", Op: ">", Value: 0}, true, 30, "whole run", "during db-partition"},
		{"impossible reads", scenarios.Check{Metric: "impossible_reads", Op: "==", Value: 0}, false, 1, "observed 1, required == 0", "whole"},
		{"version regressions", scenarios.Check{Metric: "version_regressions", Op: "<=", Value: 4}, true, 4, "", "whole"},
		{"unconverged keys", scenarios.Check{Metric: "unconverged_keys", Op: "==", Value: 0}, false, 3, "observed 3", "whole"},
		{"history in an unknown phase", scenarios.Check{Phase: "during typo", Metric: "stale_reads", Op: "==", Value: 0}, false, 0, `no phase "during typo"`, "during typo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.check
			c.Expect = "as written"
			got := evaluate1([]scenarios.Check{c}, variant())
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
	unread := variant()
	unread.History.Increments = &results.Increments{Sent: 40, Unread: "connection refused"}
	noIncrements := variant()
	noIncrements.History.Increments = &results.Increments{Sent: 40, FinalReader: "postgres"}
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
		{"no increment stream: lost updates cannot pass", variant(), scenarios.Check{Metric: "lost_updates", Op: "==", Value: 0}, "no increment stream"},
		{"counters unread: lost updates cannot pass", unread, scenarios.Check{Metric: "lost_updates", Op: "==", Value: 0}, "not read (connection refused)"},
		{"no increment acknowledged: cannot pass", noIncrements, scenarios.Check{Metric: "lost_update_ratio", Op: "<", Value: 0.01}, "no increment was acknowledged"},
		{"nothing answered: response bytes undefined", variant(), scenarios.Check{Metric: "response_bytes", Op: "<", Value: 1e9, Phase: "before db-partition"}, "no request was answered"},
		{"nothing sent: amplification undefined", variant(), scenarios.Check{Stream: "reads", Metric: "amplification", Op: "<=", Value: 1.2}, "amplification is undefined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := evaluate1([]scenarios.Check{tc.check}, tc.v)[0]
			if r.Pass || !strings.Contains(r.Message, tc.message) {
				t.Errorf("result %+v, want a failure saying %q", r, tc.message)
			}
		})
	}
}

// TestEvaluateIncrementsAndBytes reads the lost updates of the increment
// check, the body bytes per answered request and the amplification of a
// phase.
func TestEvaluateIncrementsAndBytes(t *testing.T) {
	v := variant()
	v.History.Increments = &results.Increments{Sent: 100, Acked: 90, Lost: 9, LostRatio: 0.1, FinalReader: "postgres"}
	v.Streams[0].Phases[0].BodyBytes, v.Streams[0].Phases[0].Unsent = 16384*4000, 0
	v.Streams[0].Phases[0].Attempts, v.Streams[0].Phases[0].Amplification = 16000, 4
	got := evaluate1([]scenarios.Check{
		{Metric: "lost_updates", Op: "==", Value: 9},
		{Metric: "lost_update_ratio", Op: "<", Value: 0.05},
		{Stream: "reads", Metric: "response_bytes", Op: "==", Value: 8192},
		{Stream: "reads", Metric: "amplification", Op: ">=", Value: 4},
	}, v)
	if !got[0].Pass || got[1].Pass || got[1].Observed != 0.1 || !got[2].Pass || !got[3].Pass || got[3].Observed != 4 {
		t.Errorf("results %+v", got)
	}
}

func TestEvaluateSelectsChecksOfTheVariant(t *testing.T) {
	checks := []scenarios.Check{
		{Variant: "cp", Metric: "stale_reads", Op: "==", Value: 0, Expect: "cp only"},
		{Variant: "ap", Metric: "success_ratio", Op: ">=", Value: 0.9, Expect: "ap only", File: "catalogue/partition.yaml", Line: 31},
		{Metric: "lost_writes", Op: "==", Value: 2, Expect: "every variant", Line: 33},
	}
	got := evaluate1(checks, variant())
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
	v := variant()
	v.Total, v.Streams = nil, nil
	r := evaluate1([]scenarios.Check{{Metric: "p99", Op: "<", Value: 1}, {Stream: "reads", Metric: "p99", Op: "<", Value: 1}}, v)
	if len(r) != 2 || r[0].Pass || !strings.Contains(r[0].Message, "no measurements of its streams") || r[1].Pass || !strings.Contains(r[1].Message, `no stream "reads"`) {
		t.Errorf("no summaries: %+v", r)
	}
	v = variant()
	v.Phases = nil
	r = evaluate1([]scenarios.Check{{Metric: "p99", Op: "<", Value: 1}}, v)
	if r[0].Pass || !strings.Contains(r[0].Message, "phases: none") {
		t.Errorf("no phases: %+v", r)
	}
	Evaluate([]scenarios.Check{{Metric: "p99"}}, nil) // no results: nothing to do, no panic
}

// stampedeRun is two variants whose database reads differ during slow-db:
// none reads 40/s, singleflight 8/s; before it both read 5/s.
func stampedeRun() *results.Results {
	mk := func(name string, during float64) results.Variant {
		v := *variant()
		v.Name = name
		v.Phases = []results.Phase{
			{Name: "whole", StartS: 0, EndS: 30},
			{Name: "before slow-db", StartS: 0, EndS: 10},
			{Name: "during slow-db", StartS: 10, EndS: 20},
			{Name: "after slow-db", StartS: 20, EndS: 30},
		}
		withSummaries(&v)
		s := results.Series{Name: "db_reads_per_second", Unit: "per_second"}
		for t := 1; t <= 30; t++ {
			val := 5.0
			if t > 10 && t <= 20 {
				val = during
			}
			s.Points = append(s.Points, results.Point{T: float64(t), V: val})
		}
		v.Metrics = []results.Series{s, {Name: "queue_depth", Unit: "count"}, {Name: "db_queries_per_second", Points: []results.Point{{T: 5, V: 0}}}}
		return v
	}
	return &results.Results{Variants: []results.Variant{mk("none", 40), mk("singleflight", 8)}}
}

func TestEvaluateComparisons(t *testing.T) {
	sf := func(expect, phase string, op string, factor, offset float64, versus scenarios.Operand) scenarios.Check {
		return scenarios.Check{Variant: "singleflight", Phase: phase, Metric: versus.Metric, Op: op, Value: offset, Versus: &versus, Factor: factor, Expect: expect}
	}
	for _, tc := range []struct {
		name     string
		check    scenarios.Check
		pass     bool
		observed float64
		required float64
		message  string
	}{
		{"across variants holds", sf("x", "during slow-db", "<=", 0.3, 0, scenarios.Operand{Variant: "none", Phase: "during slow-db", Metric: "db_reads_per_second"}),
			true, 8, 12, ""},
		{"across variants fails with both sides", sf("x", "during slow-db", "<=", 0.1, 0, scenarios.Operand{Variant: "none", Phase: "during slow-db", Metric: "db_reads_per_second"}),
			false, 8, 4, "observed 8/s, required <= 0.1 × 40/s (none db_reads_per_second during slow-db) = 4/s"},
		{"across phases with an offset", sf("x", "during slow-db", ">=", 1, 2, scenarios.Operand{Phase: "before slow-db", Metric: "db_reads_per_second"}),
			true, 8, 7, ""},
		{"across phases fails", sf("x", "during slow-db", ">=", 2, 0, scenarios.Operand{Phase: "before slow-db", Metric: "db_reads_per_second"}),
			false, 8, 10, "required >= 2 × 5/s (singleflight db_reads_per_second before slow-db) = 10/s"},
		{"latency across variants", sf("x", "during db-partition", ">", 1, -1, scenarios.Operand{Variant: "none", Phase: "during db-partition", Metric: "p99"}),
			true, 510, 509, ""},
		{"the other variant did not run", sf("x", "whole", "<", 1, 0, scenarios.Operand{Variant: "cp", Phase: "whole", Metric: "p99"}),
			false, 12, 0, "variant cp did not run"},
		{"the other side has nothing to judge", scenarios.Check{Variant: "singleflight", Metric: "db_queries_per_second", Op: "<", Factor: 1,
			Versus: &scenarios.Operand{Variant: "none", Phase: "whole", Metric: "max(queue_depth)"}, Expect: "x"},
			false, 0, 0, "the other side (none max(queue_depth) whole): no samples of queue_depth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := stampedeRun()
			if tc.name == "latency across variants" {
				for i := range res.Variants {
					res.Variants[i].Phases = variant().Phases
					withSummaries(&res.Variants[i])
				}
			}
			Evaluate([]scenarios.Check{tc.check}, res)
			if n := len(res.Variants[0].Checks); n != 0 {
				t.Fatalf("none got %d results of a singleflight check", n)
			}
			r := res.Variants[1].Checks[0]
			if r.Pass != tc.pass || !near(r.Observed, tc.observed) || tc.pass && !near(r.Required, tc.required) || r.Versus == nil {
				t.Errorf("result %+v (versus %+v)", r, r.Versus)
			}
			if !strings.Contains(r.Message, tc.message) || tc.message == "" && r.Message != "" {
				t.Errorf("message %q, want %q", r.Message, tc.message)
			}
		})
	}
}

func TestEvaluateScrapedSeries(t *testing.T) {
	for _, tc := range []struct {
		metric, phase string
		pass          bool
		observed      float64
		message       string
	}{
		{"db_reads_per_second", "during slow-db", true, 40, ""},
		{"mean(db_reads_per_second)", "whole", true, 50.0 / 3, ""},
		{"max(db_reads_per_second)", "whole", true, 40, ""},
		{"min(db_reads_per_second)", "whole", true, 5, ""},
		{"increase(db_reads_per_second)", "during slow-db", true, 400, ""},
		{"queue_depth", "whole", false, 0, `no samples of queue_depth in phase "whole"`},
		{"cache_hit_ratio", "whole", false, 0, "has no series cache_hit_ratio"},
	} {
		res := stampedeRun()
		Evaluate([]scenarios.Check{{Variant: "none", Phase: tc.phase, Metric: tc.metric, Op: ">=", Value: 0}}, res)
		r := res.Variants[0].Checks[0]
		if r.Pass != tc.pass || !near(r.Observed, tc.observed) || !strings.Contains(r.Message, tc.message) {
			t.Errorf("%s over %s: %+v", tc.metric, tc.phase, r)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestEvaluateRevocationLag reads the lag of the variant's revoke fault:
// a token still taken when the fault ended is an infinite lag (every
// upper bound fails, every lower bound holds); no revoke fault, or a
// failed one, leaves nothing to judge.
func TestEvaluateRevocationLag(t *testing.T) {
	withLag := func(lag float64, errMsg string) *results.Variant {
		v := variant()
		v.Faults = append(v.Faults, results.FaultWindow{Name: "logout", Revoke: "token", RevocationLagS: &lag, Error: errMsg})
		return v
	}
	for _, tc := range []struct {
		name    string
		v       *results.Variant
		check   scenarios.Check
		pass    bool
		message string
	}{
		{"measured, within", withLag(0.05, ""), scenarios.Check{Metric: "revocation_lag", Op: "<=", Value: 1}, true, ""},
		{"measured, beyond", withLag(4.2, ""), scenarios.Check{Metric: "revocation_lag", Op: "<=", Value: 1}, false, "observed 4.2s"},
		{"still taken fails an upper bound", withLag(-1, ""), scenarios.Check{Metric: "revocation_lag", Op: "<=", Value: 1e9}, false, "still worked"},
		{"still taken holds a lower bound", withLag(-1, ""), scenarios.Check{Metric: "revocation_lag", Op: ">=", Value: 5}, true, ""},
		{"failed fault", withLag(-1, "apply: tokens: login: 404 Not Found"), scenarios.Check{Metric: "revocation_lag", Op: ">=", Value: 0}, false, "failed"},
		{"no revoke fault", variant(), scenarios.Check{Metric: "revocation_lag", Op: ">=", Value: 0}, false, "no revoke fault"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := evaluate1([]scenarios.Check{tc.check}, tc.v)[0]
			if r.Pass != tc.pass || !strings.Contains(r.Message, tc.message) {
				t.Errorf("result %+v, want pass %v saying %q", r, tc.pass, tc.message)
			}
		})
	}
}
