package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// metricKind says which unit a check metric is measured in.
type metricKind int

const (
	latencyMetric metricKind = iota // milliseconds; takes us, ms, s
	ratioMetric                     // 0..1; takes %
	rateMetric                      // per second; takes /s
	countMetric                     // whole numbers
	secondsMetric                   // seconds; takes ms, s
	numberMetric                    // any non-negative number, no unit
)

// checkMetrics lists the metrics of the load generator and of the history
// a check may name, in documentation order.
var checkMetrics = []struct {
	name string
	kind metricKind
}{
	{"p50", latencyMetric}, {"p90", latencyMetric}, {"p99", latencyMetric}, {"p999", latencyMetric},
	{"max", latencyMetric}, {"mean", latencyMetric},
	{"success_ratio", ratioMetric}, {"error_ratio", ratioMetric},
	{"throughput", rateMetric}, {"rate", rateMetric},
	{"requests", countMetric}, {"late_sends", countMetric}, {"response_bytes", numberMetric},
	{"attempts", countMetric}, {"amplification", numberMetric},
	{"lost_writes", countMetric}, {"stale_reads", countMetric},
	{"stale_read_ratio", ratioMetric},
	{"impossible_reads", countMetric}, {"version_regressions", countMetric}, {"unconverged_keys", countMetric},
	{"lost_updates", countMetric}, {"lost_update_ratio", ratioMetric},
	{"convergence", secondsMetric},
	{"revocation_lag", secondsMetric},
}

// historyMetrics come from the write/read history of the whole run, not
// from one stream's requests.
var historyMetrics = []string{"lost_writes", "stale_reads", "stale_read_ratio", "convergence", "impossible_reads", "version_regressions", "unconverged_keys", "lost_updates", "lost_update_ratio"}

// scrapedSeries are the series the harness derives from the target's
// /metrics, by name, with their unit as results.json writes it. A test in
// harness/metrics keeps this list and the scraper's in step.
var scrapedSeries = []struct{ name, unit string }{
	{"cache_hit_ratio", "ratio"},
	{"cache_hits_per_second", "per_second"},
	{"stale_reads_per_second", "per_second"},
	{"writes_accepted_per_second", "per_second"},
	{"writes_applied_per_second", "per_second"},
	{"db_queries_per_second", "per_second"},
	{"db_reads_per_second", "per_second"},
	{"db_errors_per_second", "per_second"},
	{"redis_errors_per_second", "per_second"},
	{"limited_per_second", "per_second"},
	{"shed_per_second", "per_second"},
	{"queue_depth", "count"},
	{"queue_lag_seconds", "seconds"},
	{"in_flight_requests", "count"},
	{"db_pool_in_use", "count"},
	{"requests_per_second_by_code_1xx", "per_second"},
	{"requests_per_second_by_code_2xx", "per_second"},
	{"requests_per_second_by_code_3xx", "per_second"},
	{"requests_per_second_by_code_4xx", "per_second"},
	{"requests_per_second_by_code_5xx", "per_second"},
}

// ScrapedSeries returns the unit of every scraped series a check may name.
func ScrapedSeries() map[string]string {
	m := make(map[string]string, len(scrapedSeries))
	for _, s := range scrapedSeries {
		m[s.name] = s.unit
	}
	return m
}

// Aggregations of a scraped series over a phase.
const (
	AggMean     = "mean"     // the mean of its samples (of a per-second series: its rate)
	AggMax      = "max"      // the largest sample
	AggMin      = "min"      // the smallest sample
	AggIncrease = "increase" // of a per-second series: its mean × the phase's length, a count
)

var aggregations = []string{AggMean, AggMax, AggMin, AggIncrease}

// Metric is what one side of a check measures.
type Metric struct {
	Name   string // as written: p99, lost_writes, db_reads_per_second, max(queue_depth)
	Series string // a scraped series, or "" for the generator's and the history's metrics
	Agg    string // with Series: mean, max, min or increase
	kind   metricKind
}

// faultMetrics are measured by a fault of the run, not by its streams:
// revocation_lag by its revoke fault.
var faultMetrics = []string{"revocation_lag"}

// History reports whether the metric comes from the history of the whole
// run rather than from one phase.
func (m Metric) History() bool { return m.Series == "" && slices.Contains(historyMetrics, m.Name) }

// WholeRun reports whether the metric has one value for the whole run
// (history metrics, and those a fault measures), whatever the phase.
func (m Metric) WholeRun() bool {
	return m.History() || m.Series == "" && slices.Contains(faultMetrics, m.Name)
}

// Unit is the unit of the metric's values: ms, s, ratio, per_second, count
// or "" (a plain number).
func (m Metric) Unit() string {
	return map[metricKind]string{latencyMetric: "ms", secondsMetric: "s", ratioMetric: "ratio",
		rateMetric: "per_second", countMetric: "count"}[m.kind]
}

// ParseMetric reads a check metric: a generator or history metric (p99,
// success_ratio, lost_writes), a scraped series (its mean over the phase),
// or AGG(SERIES) with AGG one of mean, max, min, increase.
func ParseMetric(text string) (Metric, error) {
	for _, m := range checkMetrics {
		if m.name == text {
			return Metric{Name: text, kind: m.kind}, nil
		}
	}
	agg, series := AggMean, text
	if open := strings.IndexByte(text, '('); open > 0 && strings.HasSuffix(text, ")") {
		agg, series = text[:open], text[open+1:len(text)-1]
		if !slices.Contains(aggregations, agg) {
			return Metric{}, fmt.Errorf("unknown aggregation %q (use %s)", agg, strings.Join(aggregations, ", "))
		}
	}
	unit, ok := ScrapedSeries()[series]
	if !ok {
		all := append(metricNames(), seriesNames()...)
		msg := fmt.Sprintf("unknown metric %q", series)
		if sug := suggest(series, all); sug != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		}
		return Metric{}, fmt.Errorf("%s; metrics: %s; or a scraped series (db_reads_per_second, max(queue_depth), ...: see scenarios/README.md)", msg, strings.Join(metricNames(), ", "))
	}
	kind := map[string]metricKind{"ratio": ratioMetric, "per_second": rateMetric, "seconds": secondsMetric}[unit]
	if unit == "count" {
		kind = numberMetric
	}
	if agg == AggIncrease {
		if unit != "per_second" {
			return Metric{}, fmt.Errorf("increase(%s): only a per-second series has an increase", series)
		}
		kind = numberMetric
	}
	return Metric{Name: text, Series: series, Agg: agg, kind: kind}, nil
}

func metricNames() []string {
	names := make([]string, len(checkMetrics))
	for i, m := range checkMetrics {
		names[i] = m.name
	}
	return names
}

func seriesNames() []string {
	names := make([]string, len(scrapedSeries))
	for i, s := range scrapedSeries {
		names[i] = s.name
	}
	return names
}

// checkOps in the order the expression parser tries them: two-character
// operators before their one-character prefixes.
var checkOps = []string{"<=", ">=", "==", "!=", "<", ">"}

// expectation is a parsed expect: LEFT OP VALUE, or LEFT OP [FACTOR ×] RIGHT [± OFFSET].
type expectation struct {
	variant, phase string // named on the left side; "" when not
	metric         Metric
	op             string
	value          float64 // threshold, or offset of a relative check
	versus         *Operand
	factor         float64
}

const expectForm = `METRIC OP VALUE (e.g. "p99 < 500ms") or [VARIANT] METRIC [PHASE] OP [FACTOR ×] [VARIANT] METRIC [PHASE] [+|- VALUE] (e.g. "p99 during slow-db <= 3 × p99 before slow-db")`

// parseExpect reads an expectation. variants are the scenario's variant
// names: a side may start with one.
func parseExpect(text string, variants []string) (expectation, error) {
	var e expectation
	at := strings.IndexAny(text, "<>=!")
	if at < 0 {
		left := strings.TrimSpace(text)
		if _, err := ParseMetric(strings.Fields(left + " x")[0]); err != nil {
			return e, err
		}
		return e, fmt.Errorf("%q: expected an operator (%s) after %s", text, strings.Join(checkOps, " "), left)
	}
	for _, o := range checkOps {
		if strings.HasPrefix(text[at:], o) {
			e.op = o
			break
		}
	}
	left, right := strings.TrimSpace(text[:at]), text[at:]
	if e.op == "" {
		return e, fmt.Errorf("%q: expected an operator (%s) after %s", text, strings.Join(checkOps, " "), left)
	}
	right = strings.TrimSpace(right[len(e.op):])
	if left == "" {
		return e, fmt.Errorf("%q is not %s", text, expectForm)
	}
	var err error
	e.variant, e.phase, e.metric, err = parseOperand(strings.Fields(left), variants)
	if err != nil {
		return e, err
	}
	if right == "" || right[0] >= '0' && right[0] <= '9' || right[0] == '.' || right[0] == '-' {
		if v, err := parseMetricValue(e.metric.kind, right); err == nil || !isRelative(right) {
			if err != nil {
				return e, fmt.Errorf("%q: %s %w", text, e.metric.Name, err)
			}
			e.value = v
			return e, nil
		}
	}
	if err := e.parseVersus(right, variants); err != nil {
		return e, fmt.Errorf("%q: %w", text, err)
	}
	return e, nil
}

// isRelative reports whether the right side of an expectation names a
// metric rather than holding only a value: it has a letter outside a unit.
func isRelative(right string) bool {
	f := strings.Fields(strings.NewReplacer("×", " × ", "*", " * ").Replace(right))
	return len(f) > 1
}

// parseOperand reads [VARIANT] METRIC [PHASE].
func parseOperand(f []string, variants []string) (variant, phase string, m Metric, err error) {
	if len(f) == 0 {
		return "", "", m, fmt.Errorf("a side names no metric")
	}
	if len(f) > 1 && slices.Contains(variants, f[0]) {
		variant, f = f[0], f[1:]
	}
	if m, err = ParseMetric(f[0]); err != nil {
		if variant == "" && len(f) > 1 {
			if _, merr := ParseMetric(f[1]); merr == nil {
				return "", "", m, fmt.Errorf("%s", unknownName("variant", f[0], variants))
			}
		}
		return "", "", m, err
	}
	if rest := f[1:]; len(rest) > 0 {
		part, fault, perr := ParsePhase(strings.Join(rest, " "))
		if perr != nil {
			return "", "", m, fmt.Errorf("after %s: %w", m.Name, perr)
		}
		phase = strings.TrimSpace(part + " " + fault)
	}
	return variant, phase, m, nil
}

// parseVersus reads [FACTOR ×] [VARIANT] METRIC [PHASE] [+|- OFFSET].
func (e *expectation) parseVersus(right string, variants []string) error {
	f := strings.Fields(strings.NewReplacer("×", " × ", "*", " × ").Replace(right))
	e.factor = 1
	if num, ok := strings.CutSuffix(f[0], "x"); ok && len(f) > 1 { // 2x
		if _, err := strconv.ParseFloat(num, 64); err == nil {
			f = append([]string{num, "x"}, f[1:]...)
		}
	}
	if len(f) >= 2 && (f[1] == "×" || f[1] == "x") {
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil || v <= 0 || math.IsInf(v, 0) {
			return fmt.Errorf("factor %q must be a positive number", f[0])
		}
		e.factor, f = v, f[2:]
	}
	sign := 0.0
	if n := len(f); n >= 2 && (f[n-2] == "+" || f[n-2] == "-") {
		sign = map[string]float64{"+": 1, "-": -1}[f[n-2]]
		off, err := parseMetricValue(e.metric.kind, f[n-1])
		if err != nil {
			return fmt.Errorf("offset: %s %w", e.metric.Name, err)
		}
		e.value, f = sign*off, f[:n-2]
	}
	variant, phase, m, err := parseOperand(f, variants)
	if err != nil {
		return err
	}
	if m.kind != e.metric.kind && !(isQuantity(m.kind) && isQuantity(e.metric.kind)) {
		return fmt.Errorf("compares %s (%s) with %s (%s): both sides need one unit", e.metric.Name, kindName(e.metric.kind), m.Name, kindName(m.kind))
	}
	e.versus = &Operand{Variant: variant, Phase: phase, Metric: m.Name}
	return nil
}

// isQuantity: counts and plain numbers compare with each other.
func isQuantity(k metricKind) bool { return k == countMetric || k == numberMetric }

func kindName(k metricKind) string {
	return map[metricKind]string{latencyMetric: "a latency", ratioMetric: "a ratio", rateMetric: "a rate",
		countMetric: "a count", secondsMetric: "seconds", numberMetric: "a number"}[k]
}
