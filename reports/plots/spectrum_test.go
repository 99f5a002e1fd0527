package plots

import (
	"testing"

	"github.com/loadlab/loadlab/reports/results"
)

// TestSpectrumPoints checks the spectrum's placement: x = 1/(1−p), points
// finer than the phase's successes can resolve dropped, the maximum at
// x = successes.
func TestSpectrumPoints(t *testing.T) {
	ps := results.PhaseSummary{Successes: 150, Spectrum: []results.Quantile{
		{Percent: 0, Ms: 1}, {Percent: 50, Ms: 2}, {Percent: 90, Ms: 4}, {Percent: 99, Ms: 9},
		{Percent: 99.9, Ms: 30}, {Percent: 100, Ms: 80},
	}}
	got := spectrumPoints(ps)
	want := [][2]float64{{1, 1}, {2, 2}, {10, 4}, {100, 9}, {150, 80}} // 99.9 % needs 1000 requests
	if len(got) != len(want) {
		t.Fatalf("points %v, want %v", got, want)
	}
	for i, w := range want {
		if d := got[i].X - w[0]; d > 1e-9 || d < -1e-9 || got[i].Y != w[1] {
			t.Errorf("point %d: (%g, %g), want (%g, %g)", i, got[i].X, got[i].Y, w[0], w[1])
		}
	}
}

// TestSpectrumChartNeedsSpectra: results written before spectra existed
// get no spectrum chart rather than an empty one.
func TestSpectrumChartNeedsSpectra(t *testing.T) {
	r := synthetic(2, 1, 30, 50)
	if s := spectrumChart(r, "s0"); s != nil {
		t.Errorf("a spectrum chart without spectra: %q", s.name)
	}
}
