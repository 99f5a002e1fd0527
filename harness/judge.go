package harness

import (
	"github.com/loadlab/loadlab/harness/analyse"
	"github.com/loadlab/loadlab/harness/checks"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// judge is the judge stage: the scenario's checks over the variant's
// results, and nothing else.
func judge(sc *scenarios.Scenario, rv *results.Variant) []results.CheckResult {
	return checks.Evaluate(sc.Checks, rv, summaries(rv))
}

// summaries reads phase summaries from a variant's results: a stream's, or
// the all-streams Total when stream is "". ok is false when there is no
// such stream or phase, or the phase covers no second of the run.
func summaries(rv *results.Variant) checks.SummaryFunc {
	return func(stream string, phase results.Phase) (results.PhaseSummary, bool) {
		i := -1
		for j, ph := range rv.Phases {
			if ph.Name == phase.Name {
				i = j
			}
		}
		if _, _, span := analyse.Seconds(phase, rv.DurationS); i < 0 || span == 0 {
			return results.PhaseSummary{Phase: phase.Name}, false
		}
		if stream == "" {
			if i < len(rv.Total) {
				return rv.Total[i], true
			}
			return results.PhaseSummary{Phase: phase.Name}, false
		}
		for _, s := range rv.Streams {
			if s.Name == stream && i < len(s.Phases) {
				return s.Phases[i], true
			}
		}
		return results.PhaseSummary{Phase: phase.Name}, false
	}
}
