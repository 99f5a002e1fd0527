package compare

import (
	"fmt"
	"math"
)

// DefaultAlpha is the significance level used unless WithAlpha says otherwise.
const DefaultAlpha = 0.05

// MinSamples is the fewest per-second samples a side needs before a metric
// gets a verdict. Below it the Mann-Whitney test cannot reach p < 0.05 in any
// useful way (with 4 against 4 the smallest two-sided p-value is 0.029), so
// the row says "insufficient data" instead of guessing.
const MinSamples = 5

// Thresholds are the smallest changes that count as a regression (or, in the
// good direction, as an improvement) once the change is also significant.
// Relative thresholds are fractions: 0.10 is 10 %. A zero threshold makes any
// significant change count.
type Thresholds struct {
	P50Increase      float64 // relative increase of the p50 latency
	P99Increase      float64 // relative increase of the p99 latency
	ThroughputDrop   float64 // relative decrease of successful responses per second
	SuccessRatioDrop float64 // absolute decrease of the success ratio (0.01 = one percentage point)
}

// DefaultThresholds returns p50 +10 %, p99 +10 %, throughput −5 % and
// success ratio −0.01; start from it to change one of them.
func DefaultThresholds() Thresholds {
	return Thresholds{P50Increase: 0.10, P99Increase: 0.10, ThroughputDrop: 0.05, SuccessRatioDrop: 0.01}
}

// PhaseFilter keeps the phases it returns true for.
type PhaseFilter func(phase string) bool

// OnlyPhases is a PhaseFilter keeping exactly the named phases.
func OnlyPhases(names ...string) PhaseFilter {
	keep := make(map[string]bool, len(names))
	for _, n := range names {
		keep[n] = true
	}
	return func(phase string) bool { return keep[phase] }
}

// Option configures Compare.
type Option func(*config)

type config struct {
	alpha      float64
	thresholds Thresholds
	phases     PhaseFilter
	correct    bool
	baseLabel  string
	headLabel  string
}

func defaultConfig() config {
	return config{
		alpha:      DefaultAlpha,
		thresholds: DefaultThresholds(),
		phases:     func(string) bool { return true },
		correct:    true,
		baseLabel:  "base",
		headLabel:  "head",
	}
}

// WithAlpha sets the significance level, in (0, 1); default 0.05.
func WithAlpha(alpha float64) Option {
	return func(c *config) { c.alpha = alpha }
}

// WithThresholds replaces all thresholds; see DefaultThresholds.
func WithThresholds(t Thresholds) Option {
	return func(c *config) { c.thresholds = t }
}

// WithPhases compares only the phases keep returns true for, both metrics
// and checks. A nil filter keeps every phase.
func WithPhases(keep PhaseFilter) Option {
	return func(c *config) {
		if keep == nil {
			keep = func(string) bool { return true }
		}
		c.phases = keep
	}
}

// WithCorrection turns the multiple-comparison correction on (the default)
// or off. A report runs dozens of tests (variants × streams × phases ×
// metrics); at alpha 0.05 some of them come out "significant" by chance in
// almost every pair of identical runs. With the correction, rows are judged
// on Benjamini-Hochberg adjusted p-values, which keeps the chance of any
// false finding between two runs of the same code near alpha. Turn it off to
// judge each row on its own p-value, as benchstat does.
func WithCorrection(on bool) Option {
	return func(c *config) { c.correct = on }
}

// WithLabels names the two runs in the output, e.g. commit hashes or result
// directories; default "base" and "head".
func WithLabels(base, head string) Option {
	return func(c *config) {
		if base != "" {
			c.baseLabel = base
		}
		if head != "" {
			c.headLabel = head
		}
	}
}

func (c *config) validate() error {
	if !(c.alpha > 0 && c.alpha < 1) {
		return fmt.Errorf("compare: alpha %v outside (0, 1)", c.alpha)
	}
	t := c.thresholds
	for _, th := range []struct {
		name string
		v    float64
	}{
		{"p50 increase", t.P50Increase},
		{"p99 increase", t.P99Increase},
		{"throughput drop", t.ThroughputDrop},
		{"success ratio drop", t.SuccessRatioDrop},
	} {
		if th.v < 0 || math.IsNaN(th.v) || math.IsInf(th.v, 0) {
			return fmt.Errorf("compare: %s threshold %v: must be a finite number >= 0", th.name, th.v)
		}
	}
	return nil
}
