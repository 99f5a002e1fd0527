package compare

import (
	"fmt"
	"math"

	"github.com/aclements/go-moremath/stats"
)

// MinRuns is the fewest runs a side a row of independent runs needs before
// it is judged. The interval is then Welch's t interval over runs: with one
// run a side there is no estimate of run-to-run noise at all, and with two
// the single degree of freedom leaves a corrected quantile in the
// hundreds, an interval no real change can clear. Three is the floor at
// which a large, consistent change can reach significance after
// correction. Paired rounds need as many as their signed-rank bound needs
// to reach the corrected level at all (roundsForLevel), and never fewer
// than MinRuns.
const MinRuns = 3

// sample is one row's per-run values: paired (base[i] and head[i] ran side
// by side in round i, so noise of that round hit both) or two independent
// groups of runs.
type sample struct {
	base, head []float64
	paired     bool
}

// estimate is the change of one row on the scale it is judged on: the log
// of the ratio head/base for relative metrics, the difference head − base
// for absolute ones. Paired rounds keep their per-round changes (ranked
// bounds); independent runs a standard error and degrees of freedom
// (Welch's t).
type estimate struct {
	mean   float64   // the point estimate: Hodges–Lehmann (paired) or the difference of means
	diffs  []float64 // paired: each round's change
	se, df float64   // independent runs
}

// estimateOf returns the row's estimate; ok is false when the values cannot
// give one (fewer than MinRuns, or a non-positive value under a log).
func estimateOf(s sample, logScale bool) (estimate, bool) {
	tr := func(v float64) float64 { return v }
	if logScale {
		tr = math.Log
	}
	if s.paired {
		d := make([]float64, len(s.base))
		for i := range d {
			d[i] = tr(s.head[i]) - tr(s.base[i])
		}
		if len(d) < MinRuns {
			return estimate{}, false
		}
		return estimate{mean: hodgesLehmann(d), diffs: d}, true
	}
	if len(s.base) < MinRuns || len(s.head) < MinRuns {
		return estimate{}, false
	}
	b, h := apply(s.base, tr), apply(s.head, tr)
	mb, vb := meanVar(b)
	mh, vh := meanVar(h)
	nb, nh := float64(len(b)), float64(len(h))
	qb, qh := vb/nb, vh/nh
	e := estimate{mean: mh - mb, se: math.Sqrt(qb + qh), df: nb + nh - 2}
	if qb+qh > 0 {
		// Welch–Satterthwaite: the runs of the two sides need not be equally noisy.
		e.df = (qb + qh) * (qb + qh) / (qb*qb/(nb-1) + qh*qh/(nh-1))
	}
	return e, true
}

// bounds returns the lower and the upper one-sided bound of e, each at
// confidence 1 − level (together, a two-sided interval at 1 − 2·level). A
// gate fails on a regression, decided by one bound alone: testing the other
// side at the same level would halve the gate's power for nothing. why says
// why there are no bounds (too few paired rounds for the level).
func (e estimate) bounds(level float64) (lo, hi float64, why string) {
	if e.diffs != nil {
		lo, hi, ok := signedRankBounds(e.diffs, level)
		if !ok {
			return lo, hi, fmt.Sprintf("%d paired rounds cannot reach %s%% confidence after the correction; needs %d", len(e.diffs), formatShort(100*(1-level)), PairedRoundsNeeded(level, 1))
		}
		return lo, hi, ""
	}
	if e.se == 0 {
		return e.mean, e.mean, ""
	}
	t := stats.InvCDF(stats.TDist{V: e.df})(1 - level)
	return e.mean - t*e.se, e.mean + t*e.se, ""
}

func meanVar(xs []float64) (mean, variance float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		variance += (x - mean) * (x - mean)
	}
	return mean, variance / float64(len(xs)-1)
}

func apply(xs []float64, f func(float64) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
