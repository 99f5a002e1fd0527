// Package checks evaluates a scenario's thresholds against one variant's
// measurements.
//
// The pipeline: for each scenarios.Check that applies to the variant (no
// variant named, or this one), find the phase by name in the variant's
// phases ("whole" when none is given), read the observed value — latency
// percentiles, ratios and rates from the stream's phase summary, lost
// writes, stale reads and convergence from the variant's history — and
// compare it with the threshold. Anything that cannot be evaluated (an
// unknown phase, stream or metric, no history) is a failing result with a
// message saying why: a check that silently passes would be worse than one
// that fails loudly.
package checks

import (
	"fmt"
	"math"
	"strconv"

	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// WholePhase is the phase a check without one applies to.
const WholePhase = "whole"

// SummaryFunc returns the summary of a stream ("" for all streams together)
// over a phase, and whether there is one.
type SummaryFunc func(stream string, phase results.Phase) (results.PhaseSummary, bool)

// metricSource says where a metric is read from.
type metricSource int

const (
	fromSummary metricSource = iota
	fromHistory
)

// metrics maps each metric name to its source. The names are those of
// scenarios.Check.Metric.
var metrics = map[string]metricSource{
	"p50": fromSummary, "p90": fromSummary, "p99": fromSummary, "p999": fromSummary,
	"max": fromSummary, "mean": fromSummary,
	"success_ratio": fromSummary, "error_ratio": fromSummary,
	"throughput": fromSummary, "rate": fromSummary, "requests": fromSummary, "late_sends": fromSummary,
	"lost_writes": fromHistory, "stale_reads": fromHistory, "stale_read_ratio": fromHistory, "convergence": fromHistory,
	"impossible_reads": fromHistory, "version_regressions": fromHistory, "unconverged_keys": fromHistory,
}

// needsRequests lists the summary metrics that mean nothing over a phase
// without requests: a p99 or a success ratio of nothing is not 0.
var needsRequests = map[string]bool{
	"p50": true, "p90": true, "p99": true, "p999": true, "max": true, "mean": true,
	"success_ratio": true, "error_ratio": true,
}

// undefined says why metric means nothing over summary s, or "". Latency
// is the successes': with none, a p99 of 0 would pass any upper bound
// while everything failed.
func undefined(metric string, s results.PhaseSummary, phase string) string {
	switch {
	case !needsRequests[metric]:
		return ""
	case s.Requests == 0:
		return fmt.Sprintf("no requests in phase %q: %s is undefined", phase, metric)
	case s.Successes == 0 && metric != "success_ratio" && metric != "error_ratio":
		return fmt.Sprintf("no successful responses in phase %q: the successes' %s is undefined", phase, metric)
	}
	return ""
}

// Evaluate returns one result per check that applies to v, in the order of
// checks. summary supplies stream summaries; it may be nil when v has no
// streams, and then stream metrics fail with a message.
func Evaluate(checks []scenarios.Check, v *results.Variant, summary func(stream string, phase results.Phase) (results.PhaseSummary, bool)) []results.CheckResult {
	if v == nil {
		return nil
	}
	var out []results.CheckResult
	for _, c := range checks {
		if c.Variant != "" && c.Variant != v.Name {
			continue
		}
		out = append(out, evaluate(c, v, summary))
	}
	return out
}

func evaluate(c scenarios.Check, v *results.Variant, summary SummaryFunc) results.CheckResult {
	phaseName := c.Phase
	if phaseName == "" {
		phaseName = WholePhase
	}
	res := results.CheckResult{
		Expect:  c.Expect,
		Variant: v.Name,
		Stream:  c.Stream,
		Phase:   phaseName,
		Metric:  c.Metric,
		Where:   where(c),
	}
	fail := func(format string, args ...any) results.CheckResult {
		res.Pass = false
		res.Message = fmt.Sprintf(format, args...)
		return res
	}

	source, known := metrics[c.Metric]
	if !known {
		return fail("unknown metric %q", c.Metric)
	}
	compare, ok := comparators[c.Op]
	if !ok {
		return fail("unknown comparison %q", c.Op)
	}
	var observed float64
	switch source {
	case fromHistory:
		// History metrics cover the whole run whatever the phase: the
		// checker sees operations, not phases. The phase must still exist,
		// so that a typo is not silently ignored.
		if _, ok := findPhase(v, phaseName); !ok {
			return fail("variant %s has no phase %q (phases: %s)", v.Name, phaseName, phaseNames(v))
		}
		h := v.History
		if h == nil {
			return fail("variant %s has no history: the %s check needs the operation history and the final store state", v.Name, c.Metric)
		}
		if why := nothingToJudge(h, c.Metric); why != "" {
			return fail("%s", why)
		}
		switch c.Metric {
		case "lost_writes":
			observed = float64(h.LostWrites)
		case "stale_reads":
			observed = float64(h.StaleReads)
		case "stale_read_ratio":
			observed = h.StaleRatio
		case "impossible_reads":
			observed = float64(h.ImpossibleReads)
		case "version_regressions":
			observed = float64(h.VersionRegressions)
		case "unconverged_keys":
			observed = float64(h.UnconvergedKeys)
		case "convergence":
			if h.ConvergenceS < 0 {
				res.Observed = -1
				return fail("the store never held every acknowledged write: no convergence to compare")
			}
			observed = h.ConvergenceS
		}
	case fromSummary:
		phase, ok := findPhase(v, phaseName)
		if !ok {
			return fail("variant %s has no phase %q (phases: %s)", v.Name, phaseName, phaseNames(v))
		}
		if summary == nil {
			return fail("variant %s has no stream measurements", v.Name)
		}
		s, ok := summary(c.Stream, phase)
		if !ok {
			if c.Stream == "" {
				return fail("no measurements of the streams in phase %q", phaseName)
			}
			return fail("no stream %q in phase %q of variant %s", c.Stream, phaseName, v.Name)
		}
		if msg := undefined(c.Metric, s, phaseName); msg != "" {
			return fail("%s", msg)
		}
		observed = fromPhaseSummary(c.Metric, s)
	}
	res.Observed = observed
	if math.IsNaN(observed) {
		return fail("%s is not a number", c.Metric)
	}
	if !compare(observed, c.Value) {
		res = fail("observed %s, expected %s %s", withUnit(observed, c.Metric), c.Op, withUnit(c.Value, c.Metric))
	} else {
		res.Pass = true
	}
	if source == fromHistory && phaseName != WholePhase {
		res.Message = joinNote(res.Message, "history metrics cover the whole run, not only phase "+strconv.Quote(phaseName))
	}
	return res
}

// nothingToJudge says why a history metric cannot be judged, or "": a
// check of an incomplete history, or with no acknowledged write or no
// successful read to judge, must not pass vacuously.
func nothingToJudge(h *results.History, metric string) string {
	if h.Incomplete != "" {
		return fmt.Sprintf("the op history is incomplete (%s): %s cannot be judged", h.Incomplete, metric)
	}
	switch metric {
	case "lost_writes", "unconverged_keys", "convergence":
		if h.AckedWrites == 0 {
			return "no write was acknowledged: nothing to judge " + metric + " by"
		}
	case "stale_reads", "stale_read_ratio", "impossible_reads":
		if h.OKReads == 0 {
			return "no read succeeded: nothing to judge " + metric + " by"
		}
	case "version_regressions":
		if h.AckedWrites+h.OKReads == 0 {
			return "no operation succeeded: nothing to judge " + metric + " by"
		}
	}
	return ""
}

func fromPhaseSummary(metric string, s results.PhaseSummary) float64 {
	switch metric {
	case "p50":
		return s.Latency.P50
	case "p90":
		return s.Latency.P90
	case "p99":
		return s.Latency.P99
	case "p999":
		return s.Latency.P999
	case "max":
		return s.Latency.Max
	case "mean":
		return s.Latency.Mean
	case "success_ratio":
		return s.SuccessRatio
	case "error_ratio":
		return 1 - s.SuccessRatio
	case "throughput":
		return s.Throughput
	case "rate":
		return s.Rate
	case "requests":
		return float64(s.Requests)
	case "late_sends":
		return float64(s.LateSends)
	}
	return math.NaN()
}

// epsilon absorbs float noise in == and != (ratios computed two ways).
const epsilon = 1e-9

func nearlyEqual(a, b float64) bool {
	return math.Abs(a-b) <= epsilon*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

var comparators = map[string]func(observed, threshold float64) bool{
	"<":  func(o, t float64) bool { return o < t },
	"<=": func(o, t float64) bool { return o <= t || nearlyEqual(o, t) },
	">":  func(o, t float64) bool { return o > t },
	">=": func(o, t float64) bool { return o >= t || nearlyEqual(o, t) },
	"==": nearlyEqual,
	"!=": func(o, t float64) bool { return !nearlyEqual(o, t) },
}

func findPhase(v *results.Variant, name string) (results.Phase, bool) {
	for _, p := range v.Phases {
		if p.Name == name {
			return p, true
		}
	}
	return results.Phase{}, false
}

func phaseNames(v *results.Variant) string {
	if len(v.Phases) == 0 {
		return "none"
	}
	s := ""
	for i, p := range v.Phases {
		if i > 0 {
			s += ", "
		}
		s += strconv.Quote(p.Name)
	}
	return s
}

func where(c scenarios.Check) string {
	switch {
	case c.File != "" && c.Line > 0:
		return c.File + ":" + strconv.Itoa(c.Line)
	case c.File != "":
		return c.File
	case c.Line > 0:
		return "line " + strconv.Itoa(c.Line)
	}
	return ""
}

func withUnit(v float64, metric string) string {
	s := strconv.FormatFloat(v, 'g', 6, 64)
	switch metric {
	case "p50", "p90", "p99", "p999", "max", "mean":
		return s + "ms"
	case "convergence":
		return s + "s"
	case "throughput", "rate":
		return s + " req/s"
	}
	return s
}

func joinNote(msg, note string) string {
	if msg == "" {
		return note
	}
	return msg + "; " + note
}
