package compare

import (
	"math"
	"slices"
)

// Paired rounds are judged by ranks, not by a t interval: the estimate is
// the Hodges–Lehmann median of the per-round changes (the median of the
// Walsh averages (d_i + d_j)/2, i ≤ j) and the bounds are the exact
// Wilcoxon signed-rank bounds. On a shared machine one round in ten or
// twenty lands on a burst of someone else's work and measures ×3 or ×6 on
// one side; a t interval, built on the mean and the standard deviation,
// widens for every row that round touched, and the gate goes blind. The
// rank bounds move by one Walsh average per such round. They assume only
// that the per-round changes are symmetric about their median, which holds
// exactly for identical sides that swap slots (head and base are then
// exchangeable), and their level is exact, not asymptotic; they lose about
// 5 % of the t interval's power on normal noise.

// maxExactRounds bounds the exact null distribution of the signed-rank
// statistic (O(n³) to build); beyond it the normal approximation is used.
const maxExactRounds = 200

// PairedRoundsNeeded is the fewest paired rounds at which every one of rows
// gated rows can be judged at alpha (their bounds corrected over rows):
// what a duet must run for its gate to be able to fail on a metric.
func PairedRoundsNeeded(alpha float64, rows int) int {
	return max(MinRuns, roundsForLevel(alpha/float64(max(rows, 1))))
}

// roundsForLevel is the fewest paired rounds whose signed-rank bound can
// reach confidence 1 − level at all: the most extreme outcome, every
// round's change on one side, has probability 2⁻ⁿ.
func roundsForLevel(level float64) int {
	if !(level > 0) {
		return math.MaxInt
	}
	return max(1, int(math.Ceil(math.Log2(1/level)-1e-9)))
}

// signedRankBounds returns the lower and the upper one-sided bound of the
// median of d, each at confidence 1 − level; ok is false when d has too few
// values for that level (roundsForLevel).
func signedRankBounds(d []float64, level float64) (lo, hi float64, ok bool) {
	n := len(d)
	c := signedRankCritical(n, level)
	if c < 0 {
		return math.NaN(), math.NaN(), false
	}
	w := walshAverages(d)
	// P(W⁺ ≤ c) ≤ level: the (c+1)-th smallest Walsh average is a lower
	// bound at 1 − level, the (c+1)-th largest an upper one.
	return w[c], w[len(w)-1-c], true
}

// hodgesLehmann is the median of the Walsh averages of d.
func hodgesLehmann(d []float64) float64 {
	if len(d) == 0 {
		return math.NaN()
	}
	return median(walshAverages(d))
}

// walshAverages returns (d_i + d_j)/2 for every i ≤ j, sorted.
func walshAverages(d []float64) []float64 {
	w := make([]float64, 0, len(d)*(len(d)+1)/2)
	for i := range d {
		for j := i; j < len(d); j++ {
			w = append(w, (d[i]+d[j])/2)
		}
	}
	slices.Sort(w)
	return w
}

// signedRankCritical returns the largest c with P(W⁺ ≤ c) ≤ level under
// the null hypothesis for n values (W⁺ is the sum of the ranks of the
// positive values), or −1 when even P(W⁺ = 0) = 2⁻ⁿ exceeds level.
func signedRankCritical(n int, level float64) int {
	if n < 1 || !(level > 0) {
		return -1
	}
	if n > maxExactRounds {
		mean := float64(n*(n+1)) / 4
		sd := math.Sqrt(float64(n*(n+1)*(2*n+1)) / 24)
		// Continuity-corrected: P(W⁺ ≤ c) ≈ Φ((c + ½ − mean)/sd).
		return int(math.Floor(mean + sd*normalQuantile(level) - 0.5))
	}
	// p[w] = P(W⁺ = w), built one rank at a time: rank r is in W⁺ or not,
	// each with probability ½.
	top := n * (n + 1) / 2
	p := make([]float64, top+1)
	p[0] = 1
	for r := 1; r <= n; r++ {
		for w := r * (r + 1) / 2; w >= 0; w-- {
			if w >= r {
				p[w] = (p[w] + p[w-r]) / 2
			} else {
				p[w] /= 2
			}
		}
	}
	c, cum := -1, 0.0
	for w := 0; w <= top/2; w++ {
		cum += p[w]
		if cum > level*(1+1e-12) {
			break
		}
		c = w
	}
	return c
}

// normalQuantile is the standard normal quantile function.
func normalQuantile(p float64) float64 {
	return -math.Sqrt2 * math.Erfcinv(2*p)
}
