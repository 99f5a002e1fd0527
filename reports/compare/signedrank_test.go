package compare

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/loadlab/loadlab/reports/results"
)

// The critical values of the signed-rank statistic against the printed
// tables (one-sided levels), and the floor of rounds a level needs.
func TestSignedRankCriticalValues(t *testing.T) {
	for _, tc := range []struct {
		n     int
		level float64
		want  int
	}{
		{5, 0.05, 0}, {5, 0.025, -1}, {6, 0.025, 0}, {8, 0.025, 3}, {10, 0.05, 10},
		{10, 0.005, 3}, {16, 0.005, 19}, {20, 0.025, 52}, {30, 0.05, 151},
	} {
		if got := signedRankCritical(tc.n, tc.level); got != tc.want {
			t.Errorf("n %d, level %v: critical value %d, want %d", tc.n, tc.level, got, tc.want)
		}
	}
	for _, tc := range []struct {
		level float64
		want  int
	}{{0.05, 5}, {0.05 / 8, 8}, {0.05 / 16, 9}, {0.05 / 64, 11}} {
		if got := roundsForLevel(tc.level); got != tc.want {
			t.Errorf("level %v: %d rounds, want %d", tc.level, got, tc.want)
		}
		if signedRankCritical(tc.want, tc.level) < 0 || signedRankCritical(tc.want-1, tc.level) >= 0 {
			t.Errorf("level %v: %d rounds should be the fewest that give a bound", tc.level, tc.want)
		}
	}
	// Beyond the exact table the normal approximation takes over; at its
	// edge the two agree to within a rank or two in ten thousand.
	exact := signedRankCritical(maxExactRounds, 0.01)
	approx := func() int {
		n := maxExactRounds
		mean := float64(n*(n+1)) / 4
		sd := math.Sqrt(float64(n*(n+1)*(2*n+1)) / 24)
		return int(math.Floor(mean + sd*normalQuantile(0.01) - 0.5))
	}()
	if d := exact - approx; d < -8 || d > 8 {
		t.Errorf("n %d: exact critical value %d, normal approximation %d", maxExactRounds, exact, approx)
	}
}

// The bounds cover the median they bound at their nominal rate on
// symmetric heavy-tailed noise, and the estimate is the Hodges–Lehmann one.
func TestSignedRankBoundsCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	const trials, n, level = 4000, 12, 0.05
	below, above := 0, 0
	for range trials {
		d := make([]float64, n)
		for i := range d {
			d[i] = rng.NormFloat64() / math.Max(0.05, math.Abs(rng.NormFloat64())) // Cauchy-like tails
		}
		lo, hi, ok := signedRankBounds(d, level)
		if !ok {
			t.Fatal("12 values must give 95 % bounds")
		}
		if lo > 0 {
			below++
		}
		if hi < 0 {
			above++
		}
	}
	for name, misses := range map[string]int{"lower": below, "upper": above} {
		if rate := float64(misses) / trials; rate > 1.25*level || rate < level/3 {
			t.Errorf("the %s bound missed the median in %.1f %% of trials, want at most (and near) %.0f %%", name, 100*rate, 100*level)
		}
	}
	if got := hodgesLehmann([]float64{1, 2, 9}); got != 3.5 {
		t.Errorf("Hodges–Lehmann of 1, 2, 9: %v, want 3.5 (the median of 1, 1.5, 2, 5, 5.5, 9)", got)
	}
}

// Paired rounds too few for the corrected level are not judged, and say
// how many rounds would be.
func TestTooFewRoundsForTheLevelSayHowManyAreNeeded(t *testing.T) {
	slower := steady(0.02)
	slower.P50 *= 2
	base, head := gate(2, 6, 0.02, true, steady(0.02), slower)
	r := mustCompareRuns(t, base, head, WithPaired(true))
	row := findRow(t, r, "cp", "reads", "whole", MetricP50)
	if row.Change != ChangeInsufficient || !strings.Contains(row.Why, "6 paired rounds cannot reach") || !strings.HasSuffix(row.Why, "needs 9") {
		t.Errorf("a ×2 p50 in 6 rounds with 16 gated rows: %q (%s), want insufficient data, needs 9", row.Change, row.Why)
	}
	if math.Abs(row.Est-2) > 0.2 {
		t.Errorf("the estimate is still shown: ×%.3f, want about ×2", row.Est)
	}
	if r.Regressed() || r.Verdict != VerdictInconclusive {
		t.Errorf("verdict %q, want inconclusive: nothing could be judged", r.Verdict)
	}
}

// slowDown multiplies every latency of run r by f: a round that landed on
// a burst of someone else's work.
func slowDown(r *results.Results, f float64) {
	scale := func(l *results.Latency) {
		l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean = f*l.P50, f*l.P90, f*l.P99, f*l.P999, f*l.Max, f*l.Mean
	}
	for i := range r.Variants {
		for j := range r.Variants[i].Streams {
			st := &r.Variants[i].Streams[j]
			for k := range st.Seconds {
				scale(&st.Seconds[k].Latency)
			}
			for k := range st.Phases {
				scale(&st.Phases[k].Latency)
			}
		}
	}
}

// A round that lands on a burst must neither raise a false alarm nor hide a
// real slowdown: with bursts in about one round in ten, identical sides
// stay under alpha, and a +30 % p50 is still caught in 16 rounds most of
// the time (84 of 100 here; a paired t interval on the same rounds caught
// 43: the bursts inflate its standard deviation).
func TestBurstRoundsNeitherAlarmNorBlind(t *testing.T) {
	const gates, rounds = 100, 16
	slower := noisy()
	slower.P50 *= 1.3
	var alarms, caught int
	for g := range uint64(gates) {
		for _, planted := range []bool{false, true} {
			head := noisy()
			if planted {
				head = slower
			}
			base, headRuns := gate(g+500, rounds, 0.05, true, noisy(), head)
			burst := rand.New(rand.NewPCG(g, 99))
			for i := range rounds {
				if burst.Float64() < 0.1 {
					victim := base[i]
					if burst.IntN(2) == 1 {
						victim = headRuns[i]
					}
					slowDown(victim, 3)
				}
			}
			r := mustCompareRuns(t, base, headRuns, WithPaired(true))
			switch {
			case !planted && r.Regressed():
				alarms++
			case planted && findRow(t, r, "cp", "reads", "whole", MetricP50).Change == ChangeRegression:
				caught++
			}
		}
	}
	t.Logf("with bursts: %d false alarms and %d of %d +30 %% caught", alarms, caught, gates)
	if rate := float64(alarms) / gates; rate > DefaultAlpha {
		t.Errorf("%d false alarms in %d A/A gates with burst rounds, want at most %.0f %%", alarms, gates, 100*DefaultAlpha)
	}
	if caught < gates*3/4 {
		t.Errorf("caught %d of %d planted +30 %% slowdowns through burst rounds, want at least 75 %%", caught, gates)
	}
}

// What a duet must run for its gate to judge: the gated rows of partition's
// cp (2 streams × 4 metrics) need 8 rounds, those of TestDuet's scenario
// (1 stream) 7; and Metrics names every metric a row can have.
func TestPairedRoundsNeeded(t *testing.T) {
	for _, tc := range []struct{ rows, want int }{{8, 8}, {4, 7}, {16, 9}, {1, 5}} {
		if got := PairedRoundsNeeded(DefaultAlpha, tc.rows); got != tc.want {
			t.Errorf("%d gated rows: %d rounds, want %d", tc.rows, got, tc.want)
		}
	}
	if len(Metrics) != len(metricSpecs) {
		t.Fatalf("Metrics %v, metric specs %d", Metrics, len(metricSpecs))
	}
	for i, m := range Metrics {
		if metricSpecs[i].metric != m {
			t.Errorf("Metrics[%d] = %s, spec %s", i, m, metricSpecs[i].metric)
		}
	}
}
