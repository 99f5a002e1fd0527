package harness

import (
	"testing"

	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// TestJudgeReadsTheResults: checks see the same numbers as the results,
// a stream's or the all-streams total, and fail on what is not there.
func TestJudgeReadsTheResults(t *testing.T) {
	whole := results.Phase{Name: "whole", EndS: 4}
	during := results.Phase{Name: "during cut", StartS: 1, EndS: 2}
	empty := results.Phase{Name: "after cut", StartS: 4, EndS: 4}
	rv := &results.Variant{
		Name: "cp", DurationS: 4, Phases: []results.Phase{whole, during, empty},
		Streams: []results.Stream{{Name: "reads", Phases: []results.PhaseSummary{
			{Phase: "whole", Requests: 40, Successes: 40, SuccessRatio: 1},
			{Phase: "during cut", Requests: 10, Successes: 2, SuccessRatio: 0.2},
			{Phase: "after cut"},
		}}},
		Total: []results.PhaseSummary{
			{Phase: "whole", Requests: 80, Successes: 60, SuccessRatio: 0.75},
			{Phase: "during cut", Requests: 20, Successes: 2, SuccessRatio: 0.1},
			{Phase: "after cut"},
		},
	}
	get := summaries(rv)
	if s, ok := get("reads", during); !ok || s.SuccessRatio != 0.2 {
		t.Errorf("reads during: %+v, %v", s, ok)
	}
	if s, ok := get("", during); !ok || s.SuccessRatio != 0.1 {
		t.Errorf("all during: %+v, %v", s, ok)
	}
	for name, c := range map[string]struct {
		stream string
		phase  results.Phase
	}{"no stream": {"writes", whole}, "no phase": {"", results.Phase{Name: "during nothing", EndS: 1}}, "no second": {"", empty}} {
		if _, ok := get(c.stream, c.phase); ok {
			t.Errorf("%s: a summary", name)
		}
	}
	sc := &scenarios.Scenario{Checks: []scenarios.Check{
		{Phase: "during cut", Metric: "success_ratio", Op: ">=", Value: 0.5, Expect: "success_ratio >= 0.5"},
		{Stream: "reads", Metric: "success_ratio", Op: ">=", Value: 0.9, Expect: "success_ratio >= 0.9"},
	}}
	got := judge(sc, rv)
	if len(got) != 2 || got[0].Pass || got[0].Observed != 0.1 || !got[1].Pass || got[1].Observed != 1 {
		t.Errorf("checks %+v: want the total during the cut to fail at 0.1, reads' whole to pass at 1", got)
	}
}

// TestJudgeNoSuccessesNoLatency: a phase where everything failed has no
// success latency; a latency check fails instead of passing on a zero.
func TestJudgeNoSuccessesNoLatency(t *testing.T) {
	rv := &results.Variant{
		Name: "cp", DurationS: 2, Phases: []results.Phase{{Name: "whole", EndS: 2}},
		Total: []results.PhaseSummary{{Phase: "whole", Requests: 100, FailureLatency: &results.Latency{P99: 3}}},
	}
	sc := &scenarios.Scenario{Checks: []scenarios.Check{{Metric: "p99", Op: "<", Value: 50, Expect: "p99 < 50ms"}}}
	if got := judge(sc, rv); len(got) != 1 || got[0].Pass {
		t.Errorf("checks %+v: want p99 < 50ms to fail when nothing succeeded", got)
	}
}
