// Package checks evaluates a scenario's checks against the results of a
// whole run, once every variant has run.
//
// A check is a threshold ("p99 < 500ms") or a comparison with another
// variant or phase ("singleflight db_reads_per_second <= 0.3 × none
// db_reads_per_second"). Each side is read from the results alone: latency
// percentiles, ratios and rates from a stream's phase summary (or the
// summary of all streams, Variant.Total), lost writes, stale reads and
// convergence from the variant's history, and scraped series aggregated
// over the phase. Anything that cannot be evaluated (an unknown phase,
// stream or series, no history, no samples, a variant that did not run) is
// a failing result with a message saying why: a check that silently passes
// would be worse than one that fails loudly.
package checks

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// WholePhase is the phase a check without one applies to.
const WholePhase = "whole"

// metricSource says where a metric is read from.
type metricSource int

const (
	fromSummary metricSource = iota
	fromHistory
	fromSeries
	fromFaults
)

// metrics maps each generator and history metric to its source; every
// other metric a check names is a scraped series. The names are those of
// scenarios.ParseMetric.
var metrics = map[string]metricSource{
	"p50": fromSummary, "p90": fromSummary, "p99": fromSummary, "p999": fromSummary,
	"max": fromSummary, "mean": fromSummary,
	"success_ratio": fromSummary, "error_ratio": fromSummary,
	"throughput": fromSummary, "rate": fromSummary, "requests": fromSummary, "late_sends": fromSummary,
	"response_bytes": fromSummary, "attempts": fromSummary, "amplification": fromSummary,
	"lost_writes": fromHistory, "stale_reads": fromHistory, "stale_read_ratio": fromHistory, "convergence": fromHistory,
	"impossible_reads": fromHistory, "version_regressions": fromHistory, "unconverged_keys": fromHistory,
	"lost_updates": fromHistory, "lost_update_ratio": fromHistory,
	"revocation_lag": fromFaults,
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
func undefined(metric string, s results.PhaseSummary, phase, variant string) string {
	switch {
	case metric == "response_bytes" && s.Requests == s.Unsent:
		return fmt.Sprintf("no request was answered in phase %q of variant %s: %s is undefined", phase, variant, metric)
	case metric == "amplification" && s.Amplification == 0:
		return fmt.Sprintf("no request left in phase %q of variant %s (or the op history missed some): %s is undefined", phase, variant, metric)
	case !needsRequests[metric]:
		return ""
	case s.Requests == 0:
		return fmt.Sprintf("no requests in phase %q of variant %s: %s is undefined", phase, variant, metric)
	case s.Successes == 0 && metric != "success_ratio" && metric != "error_ratio":
		return fmt.Sprintf("no successful responses in phase %q of variant %s: the successes' %s is undefined", phase, variant, metric)
	}
	return ""
}

// Evaluate evaluates every check over res and stores the results in the
// Checks of the variant each applies to, in the order of checks: a check
// naming no variant gives one result per variant that ran.
func Evaluate(checks []scenarios.Check, res *results.Results) {
	if res == nil {
		return
	}
	for i := range res.Variants {
		v := &res.Variants[i]
		v.Checks = nil
		for _, c := range checks {
			if c.Variant == "" || c.Variant == v.Name {
				v.Checks = append(v.Checks, evaluate(c, v, res))
			}
		}
	}
}

func evaluate(c scenarios.Check, v *results.Variant, res *results.Results) results.CheckResult {
	phase := orWhole(c.Phase)
	r := results.CheckResult{
		Expect: c.Expect, Variant: v.Name, Stream: c.Stream, Phase: phase,
		Metric: c.Metric, Op: c.Op, Required: c.Value, Where: where(c),
	}
	fail := func(format string, args ...any) results.CheckResult {
		r.Pass, r.Message = false, fmt.Sprintf(format, args...)
		return r
	}
	compare, ok := comparators[c.Op]
	if !ok {
		return fail("unknown comparison %q", c.Op)
	}
	m, err := scenarios.ParseMetric(c.Metric)
	if err != nil {
		return fail("%v", err)
	}
	observed, why := measure(v, c.Stream, phase, m)
	r.Observed = observed
	if why != "" {
		return fail("%s", why)
	}
	if c.Versus != nil {
		other, why := versus(c, v, res)
		r.Versus = &other
		if why != "" {
			return fail("%s", why)
		}
		r.Required = c.Factor*other.Observed + c.Value
	}
	if math.IsNaN(observed) || math.IsNaN(r.Required) {
		return fail("%s is not a number", c.Metric)
	}
	r.Pass = compare(observed, r.Required)
	if !r.Pass {
		r.Message = "observed " + withUnit(observed, m) + ", required " + c.Op + " " + required(r, m)
	}
	if m.WholeRun() && phase != WholePhase {
		r.Message = joinNote(r.Message, m.Name+" covers the whole run, not only phase "+strconv.Quote(phase))
	}
	return r
}

// versus measures the other side of a comparison.
func versus(c scenarios.Check, v *results.Variant, res *results.Results) (results.CheckOperand, string) {
	o := results.CheckOperand{Variant: c.Versus.Variant, Phase: orWhole(c.Versus.Phase), Metric: c.Versus.Metric, Factor: c.Factor, Offset: c.Value}
	if o.Variant == "" {
		o.Variant = v.Name
	}
	ov := res.Variant(o.Variant)
	if ov == nil {
		return o, fmt.Sprintf("variant %s did not run: nothing to compare with", o.Variant)
	}
	m, err := scenarios.ParseMetric(o.Metric)
	if err != nil {
		return o, err.Error()
	}
	var why string
	o.Observed, why = measure(ov, c.Stream, o.Phase, m)
	if why != "" {
		why = fmt.Sprintf("the other side (%s %s %s): %s", o.Variant, o.Metric, o.Phase, why)
	}
	return o, why
}

// required describes the required value: "≤ 3 × 4.1ms (none p99 before
// slow-db) = 12.3ms" for a comparison, the threshold otherwise.
func required(r results.CheckResult, m scenarios.Metric) string {
	o := r.Versus
	if o == nil {
		return withUnit(r.Required, m)
	}
	s := withUnit(o.Observed, m) + " (" + o.Variant + " " + o.Metric + " " + o.Phase + ")"
	if o.Factor != 1 {
		s = strconv.FormatFloat(o.Factor, 'g', 6, 64) + " × " + s
	}
	switch {
	case o.Offset > 0:
		s += " + " + withUnit(o.Offset, m)
	case o.Offset < 0:
		s += " - " + withUnit(-o.Offset, m)
	}
	if o.Factor != 1 || o.Offset != 0 {
		s += " = " + withUnit(r.Required, m)
	}
	return s
}

// measure reads metric m of variant v over a phase; why says what was
// missing when it could not.
func measure(v *results.Variant, stream, phaseName string, m scenarios.Metric) (value float64, why string) {
	idx := phaseIndex(v, phaseName)
	if idx < 0 {
		return 0, fmt.Sprintf("variant %s has no phase %q (phases: %s)", v.Name, phaseName, phaseNames(v))
	}
	phase := v.Phases[idx]
	source, known := metrics[m.Name]
	switch {
	case m.Series != "":
		source = fromSeries
	case !known:
		return 0, fmt.Sprintf("unknown metric %q", m.Name)
	}
	switch source {
	case fromHistory:
		return fromHistoryOf(v, m.Name)
	case fromSeries:
		return fromSeriesOf(v, phase, m)
	case fromFaults:
		return revocationLag(v)
	}
	if phase.EndS <= phase.StartS {
		return 0, fmt.Sprintf("phase %q of variant %s is empty", phaseName, v.Name)
	}
	s, why := summary(v, stream, idx)
	if why != "" {
		return 0, why
	}
	if msg := undefined(m.Name, s, phaseName, v.Name); msg != "" {
		return 0, msg
	}
	return fromPhaseSummary(m.Name, s), ""
}

// summary returns the phase summary of one stream, or of all streams.
func summary(v *results.Variant, stream string, idx int) (results.PhaseSummary, string) {
	if stream == "" {
		if len(v.Total) != len(v.Phases) {
			return results.PhaseSummary{}, fmt.Sprintf("variant %s has no measurements of its streams", v.Name)
		}
		return v.Total[idx], ""
	}
	for _, s := range v.Streams {
		if s.Name != stream {
			continue
		}
		if len(s.Phases) != len(v.Phases) {
			return results.PhaseSummary{}, fmt.Sprintf("stream %q of variant %s has no phase summaries", stream, v.Name)
		}
		return s.Phases[idx], ""
	}
	return results.PhaseSummary{}, fmt.Sprintf("no stream %q in variant %s", stream, v.Name)
}

// fromHistoryOf reads a history metric. History metrics cover the whole
// run whatever the phase: the checker sees operations, not phases.
func fromHistoryOf(v *results.Variant, metric string) (float64, string) {
	h := v.History
	if h == nil {
		return 0, fmt.Sprintf("variant %s has no history: the %s check needs the operation history and the final store state", v.Name, metric)
	}
	if why := nothingToJudge(h, metric); why != "" {
		return 0, why
	}
	switch metric {
	case "lost_writes":
		return float64(h.LostWrites), ""
	case "stale_reads":
		return float64(h.StaleReads), ""
	case "stale_read_ratio":
		return h.StaleRatio, ""
	case "impossible_reads":
		return float64(h.ImpossibleReads), ""
	case "version_regressions":
		return float64(h.VersionRegressions), ""
	case "unconverged_keys":
		return float64(h.UnconvergedKeys), ""
	case "lost_updates":
		return float64(h.Increments.Lost), ""
	case "lost_update_ratio":
		return h.Increments.LostRatio, ""
	case "convergence":
		if h.ConvergenceS < 0 {
			return -1, "the store never held every acknowledged write: no convergence to compare"
		}
		return h.ConvergenceS, ""
	}
	return 0, fmt.Sprintf("unknown metric %q", metric)
}

// fromSeriesOf aggregates a scraped series over a phase. A point at T
// describes the scrape interval that ends at T, so the phase (from, to]
// holds the points with from < T <= to.
func fromSeriesOf(v *results.Variant, phase results.Phase, m scenarios.Metric) (float64, string) {
	var pts []results.Point
	found := false
	for _, s := range v.Metrics {
		if s.Name != m.Series {
			continue
		}
		found = true
		for _, p := range s.Points {
			if p.T > phase.StartS && p.T <= phase.EndS {
				pts = append(pts, p)
			}
		}
	}
	switch {
	case !found:
		return 0, fmt.Sprintf("variant %s has no series %s: the target did not export it, or no scrape succeeded", v.Name, m.Series)
	case len(pts) == 0:
		return 0, fmt.Sprintf("no samples of %s in phase %q of variant %s", m.Series, phase.Name, v.Name)
	}
	sum, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		sum += p.V
		lo, hi = min(lo, p.V), max(hi, p.V)
	}
	mean := sum / float64(len(pts))
	switch m.Agg {
	case scenarios.AggMax:
		return hi, ""
	case scenarios.AggMin:
		return lo, ""
	case scenarios.AggIncrease:
		return mean * (phase.EndS - phase.StartS), ""
	}
	return mean, ""
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
	case "lost_updates", "lost_update_ratio":
		switch inc := h.Increments; {
		case inc == nil:
			return "no increment stream (POST …/increment) in this run: nothing to judge " + metric + " by"
		case inc.Unread != "":
			return "the final counters were not read (" + inc.Unread + "): " + metric + " cannot be judged"
		case inc.Acked == 0:
			return "no increment was acknowledged: nothing to judge " + metric + " by"
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
	case "response_bytes": // per request answered (sent: unsent ones have no response)
		if answered := s.Requests - s.Unsent; answered > 0 {
			return float64(s.BodyBytes) / float64(answered)
		}
	case "attempts":
		return float64(s.Attempts)
	case "amplification":
		return s.Amplification
	}
	return math.NaN()
}

// epsilon absorbs float noise in == and != (ratios computed two ways).
const epsilon = 1e-9

func nearlyEqual(a, b float64) bool {
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b // the tolerance would scale to infinity
	}
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

func orWhole(phase string) string {
	if phase == "" {
		return WholePhase
	}
	return phase
}

func phaseIndex(v *results.Variant, name string) int {
	for i, p := range v.Phases {
		if p.Name == name {
			return i
		}
	}
	return -1
}

func phaseNames(v *results.Variant) string {
	if len(v.Phases) == 0 {
		return "none"
	}
	names := make([]string, len(v.Phases))
	for i, p := range v.Phases {
		names[i] = strconv.Quote(p.Name)
	}
	return strings.Join(names, ", ")
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

// revocationLag is the lag the variant's revoke fault measured: +Inf
// when the target still took the token when the fault ended (the lag is
// longer than the fault, so no upper bound holds and every lower bound
// within it does).
func revocationLag(v *results.Variant) (float64, string) {
	for _, f := range v.Faults {
		switch {
		case f.Revoke == "":
			continue
		case f.Error != "":
			return 0, fmt.Sprintf("revoke fault %s failed (%s): nothing to judge revocation_lag by", f.Name, f.Error)
		case f.RevocationLagS == nil:
			return 0, fmt.Sprintf("revoke fault %s measured no lag", f.Name)
		case *f.RevocationLagS < 0:
			return math.Inf(1), ""
		}
		return *f.RevocationLagS, ""
	}
	return 0, fmt.Sprintf("variant %s has no revoke fault: nothing to judge revocation_lag by", v.Name)
}

// withUnit formats a value in its metric's unit, as checks are written.
func withUnit(v float64, m scenarios.Metric) string {
	if math.IsInf(v, 1) && m.Name == "revocation_lag" {
		return "∞ (the token still worked when the revoke fault ended)"
	}
	s := strconv.FormatFloat(v, 'g', 6, 64)
	switch m.Unit() {
	case "ms":
		return s + "ms"
	case "s":
		return s + "s"
	case "per_second":
		return s + "/s"
	}
	return s
}

func joinNote(msg, note string) string {
	if msg == "" {
		return note
	}
	return msg + "; " + note
}
