package compare

import (
	"errors"

	"github.com/aclements/go-moremath/stats"
)

// utest is the outcome of one Mann-Whitney U test of base against head.
type utest struct {
	p float64
	// shift is the way head's samples tend to lie relative to base's:
	// +1 larger, -1 smaller, 0 neither.
	shift int
}

// mannWhitney runs the two-sided Mann-Whitney U test, as benchstat does: we
// want to see a change either way (improvements are reported too), and the
// direction is read from U, not assumed. Callers ensure both samples have at
// least MinSamples values.
func mannWhitney(base, head []float64) (utest, error) {
	res, err := stats.MannWhitneyUTest(base, head, stats.LocationDiffers)
	if errors.Is(err, stats.ErrSamplesEqual) {
		// Every value on both sides is the same: nothing changed.
		return utest{p: 1}, nil
	}
	if err != nil {
		return utest{}, err
	}
	// U counts the pairs where the base value is the larger (ties count half);
	// below half of all pairs, head tends to be larger.
	half := float64(res.N1*res.N2) / 2
	t := utest{p: res.P}
	switch {
	case res.U < half:
		t.shift = +1
	case res.U > half:
		t.shift = -1
	}
	return t, nil
}
