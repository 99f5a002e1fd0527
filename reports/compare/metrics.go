package compare

import (
	"math"
	"slices"

	"github.com/loadlab/loadlab/reports/results"
)

// Metric names one compared quantity of a stream in a phase.
type Metric string

// The compared metrics, in the order rows are reported.
const (
	MetricP50          Metric = "p50"           // latency, ms
	MetricP99          Metric = "p99"           // latency, ms
	MetricThroughput   Metric = "throughput"    // successful responses per second
	MetricSuccessRatio Metric = "success_ratio" // successes / requests
)

// metricSpec says where a metric's values come from, how a change is
// measured and which way is worse.
type metricSpec struct {
	metric Metric
	// higherIsBetter: throughput and success ratio; latency is the other way.
	higherIsBetter bool
	// relative: the change is the ratio head/base (estimated on the log
	// scale) and the threshold a fraction of it; else the difference
	// head − base against an absolute threshold.
	relative  bool
	threshold func(Thresholds) float64
	// value is the metric's value of one run in one phase; ok is false when
	// the phase has nothing to say (no requests means no latency).
	value func(results.PhaseSummary) (v float64, ok bool)
}

// Metrics lists the compared metrics, in the order rows are reported.
var Metrics = []Metric{MetricP50, MetricP99, MetricThroughput, MetricSuccessRatio}

var metricSpecs = []metricSpec{
	{
		metric:    MetricP50,
		relative:  true,
		threshold: func(t Thresholds) float64 { return t.P50Increase },
		value:     func(s results.PhaseSummary) (float64, bool) { return s.Latency.P50, s.Requests > 0 },
	},
	{
		metric:    MetricP99,
		relative:  true,
		threshold: func(t Thresholds) float64 { return t.P99Increase },
		value:     func(s results.PhaseSummary) (float64, bool) { return s.Latency.P99, s.Requests > 0 },
	},
	{
		metric:         MetricThroughput,
		higherIsBetter: true,
		relative:       true,
		threshold:      func(t Thresholds) float64 { return t.ThroughputDrop },
		// A phase without a single success is a real zero, not a gap: keep it.
		value: func(s results.PhaseSummary) (float64, bool) { return s.Throughput, true },
	},
	{
		metric:         MetricSuccessRatio,
		higherIsBetter: true,
		threshold:      func(t Thresholds) float64 { return t.SuccessRatioDrop },
		value:          func(s results.PhaseSummary) (float64, bool) { return s.SuccessRatio, s.Requests > 0 },
	},
}

// valueOf is the metric's value for one run's stream in a phase of a
// variant that ran durationS: from the phase summary (the exact HdrHistogram
// merge) when the stream has one, else the median of the per-second values
// the phase contains (results.Phase.Contains, the rule summaries follow), so
// that a results.json without summaries still compares.
func (m metricSpec) valueOf(s *results.Stream, p *results.Phase, durationS float64) (v float64, ok, fromSummary bool) {
	if sum, found := phaseSummary(s, p.Name); found {
		v, ok = m.value(sum)
		return v, ok && !math.IsNaN(v) && !math.IsInf(v, 0), true
	}
	var xs []float64
	for _, b := range s.Seconds {
		if !p.Contains(b.T, durationS) {
			continue
		}
		sum := results.PhaseSummary{Requests: b.Requests, Successes: b.Successes, Throughput: float64(b.Successes), Latency: b.Latency}
		if b.Requests > 0 {
			sum.SuccessRatio = float64(b.Successes) / float64(b.Requests)
		}
		if x, ok := m.value(sum); ok && !math.IsNaN(x) && !math.IsInf(x, 0) {
			xs = append(xs, x)
		}
	}
	if len(xs) == 0 {
		return 0, false, false
	}
	return median(xs), true, false
}

func phaseSummary(s *results.Stream, phase string) (results.PhaseSummary, bool) {
	for _, ps := range s.Phases {
		if ps.Phase == phase {
			return ps, true
		}
	}
	return results.PhaseSummary{}, false
}

// median of xs; NaN when xs is empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
