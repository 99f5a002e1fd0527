package compare

import (
	"fmt"
	"math"
)

// DefaultAlpha is the significance level used unless WithAlpha says otherwise.
const DefaultAlpha = 0.05

// Thresholds are the smallest changes that count as a regression (or, in the
// good direction, as an improvement): a row's whole confidence interval must
// lie beyond its threshold.
// Relative thresholds are fractions: 0.10 is 10 %. A zero threshold makes any
// significant change count.
type Thresholds struct {
	P50Increase      float64 // relative increase of the p50 latency
	P99Increase      float64 // relative increase of the p99 latency
	ThroughputDrop   float64 // relative decrease of successful responses per second
	SuccessRatioDrop float64 // absolute decrease of the success ratio (0.01 = one percentage point)
}

// DefaultThresholds returns p50 +5 %, p99 +10 %, throughput −5 % and
// success ratio −0.01; start from it to change one of them.
//
// The p50 threshold is what the gate's own calibration supports: a quick
// duet of 20 rounds on a busy 2-core machine bounds the p50 ratio within
// about ±8 %, so a true +30 % (measured ×1.18–×1.36) cleared +10 % in only
// about half the gates, while no A/A gate's lower bound came near ×1.05
// (docs/PERFORMANCE.md, "Calibration of the gate"). The p99 of a few
// hundred requests a round spreads far more; its threshold stays +10 %.
func DefaultThresholds() Thresholds {
	return Thresholds{P50Increase: 0.05, P99Increase: 0.10, ThroughputDrop: 0.05, SuccessRatioDrop: 0.01}
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
	gate       PhaseFilter
	correct    bool
	paired     bool
	baseLabel  string
	headLabel  string
}

func defaultConfig() config {
	return config{
		alpha:      DefaultAlpha,
		thresholds: DefaultThresholds(),
		phases:     func(string) bool { return true },
		gate:       OnlyPhases(GatePhase),
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

// GatePhase is the phase whose rows gate by default: the whole run.
const GatePhase = "whole"

// WithGate says which phases' rows can fail the gate; the rows of the other
// phases are still estimated and reported, as leads rather than verdicts.
// The default gates on the whole run only: every phase row added to the
// gate widens every gated interval (the correction divides alpha among
// them), and in a quick run a fault phase holds a few seconds of each round,
// so its rows are the noisiest. A nil filter gates every phase.
func WithGate(gated PhaseFilter) Option {
	return func(c *config) {
		if gated == nil {
			gated = func(string) bool { return true }
		}
		c.gate = gated
	}
}

// WithCorrection turns the multiple-comparison correction on (the default)
// or off. A report estimates dozens of rows (variants × streams × phases ×
// metrics); with 95 % bounds a few of them would miss their true value in
// almost every gate. With the correction the bounds are simultaneous
// (Bonferroni over the gated rows, each bound at confidence 1 − alpha/rows;
// the reported rows over all rows), so the chance that any gated row is
// wrongly called a regression is at most alpha. Off, each bound is a plain
// one-sided 1 − alpha bound.
func WithCorrection(on bool) Option {
	return func(c *config) { c.correct = on }
}

// WithPaired says that base[i] and head[i] ran side by side, at the same
// time and under the same load (the rounds of a duet, `loadlab ab`): each row
// is then judged on the paired ratios head[i]/base[i], in which noise shared
// by both sides of a round cancels. Without it, the runs of the two sides
// are taken as independent (Welch's t on the logs).
func WithPaired(on bool) Option {
	return func(c *config) { c.paired = on }
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
