package compare

import (
	"math"
	"testing"
)

func TestBenjaminiHochberg(t *testing.T) {
	// Same as R's p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.9), "BH"), with an
	// untested NaN in the middle.
	got := benjaminiHochberg([]float64{0.01, 0.04, math.NaN(), 0.03, 0.005, 0.9})
	want := []float64{0.025, 0.05, math.NaN(), 0.05, 0.025, 0.9}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || !math.IsNaN(want[i]) && math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("adjusted[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if got := benjaminiHochberg(nil); len(got) != 0 {
		t.Errorf("empty input: %v", got)
	}
}
