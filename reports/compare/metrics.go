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

// metricSpec says where a metric's values come from and which way is worse.
type metricSpec struct {
	metric Metric
	// higherIsBetter: throughput and success ratio; latency is the other way.
	higherIsBetter bool
	// relative: the threshold is a fraction of the base value, else absolute.
	relative  bool
	threshold func(Thresholds) float64
	summary   func(results.PhaseSummary) float64
	// sample is the metric's value for one second; ok is false when that
	// second has nothing to say (no requests means no latency).
	sample func(results.Bucket) (v float64, ok bool)
}

var metricSpecs = []metricSpec{
	{
		metric:    MetricP50,
		relative:  true,
		threshold: func(t Thresholds) float64 { return t.P50Increase },
		summary:   func(s results.PhaseSummary) float64 { return s.Latency.P50 },
		sample:    func(b results.Bucket) (float64, bool) { return b.Latency.P50, b.Requests > 0 },
	},
	{
		metric:    MetricP99,
		relative:  true,
		threshold: func(t Thresholds) float64 { return t.P99Increase },
		summary:   func(s results.PhaseSummary) float64 { return s.Latency.P99 },
		sample:    func(b results.Bucket) (float64, bool) { return b.Latency.P99, b.Requests > 0 },
	},
	{
		metric:         MetricThroughput,
		higherIsBetter: true,
		relative:       true,
		threshold:      func(t Thresholds) float64 { return t.ThroughputDrop },
		summary:        func(s results.PhaseSummary) float64 { return s.Throughput },
		// A second without a single success is a real zero, not a gap: keep it.
		sample: func(b results.Bucket) (float64, bool) { return float64(b.Successes), true },
	},
	{
		metric:         MetricSuccessRatio,
		higherIsBetter: true,
		threshold:      func(t Thresholds) float64 { return t.SuccessRatioDrop },
		summary:        func(s results.PhaseSummary) float64 { return s.SuccessRatio },
		sample: func(b results.Bucket) (float64, bool) {
			if b.Requests <= 0 {
				return 0, false
			}
			return float64(b.Successes) / float64(b.Requests), true
		},
	},
}

// samples returns the metric's per-second values of the buckets the phase
// contains (results.Phase.Contains: the rule the phase's summary follows
// too, so a row's value and its test cover the same seconds) in a variant
// that ran durationS. Non-finite values are dropped: the U test cannot
// rank NaN.
func (m metricSpec) samples(buckets []results.Bucket, ph results.Phase, durationS float64) []float64 {
	var xs []float64
	for _, b := range buckets {
		if !ph.Contains(b.T, durationS) {
			continue
		}
		v, ok := m.sample(b)
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		xs = append(xs, v)
	}
	return xs
}

// median of xs; NaN when xs is empty. Used only when a stream lacks the
// phase's summary, so the row still shows a value.
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
