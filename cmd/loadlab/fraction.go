package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// fraction is a flag for a relative threshold: "10%" or "0.1". A bare
// number of 1 or more is refused as ambiguous ("10" could mean 10 % or
// +1000 %); write 150% for more than a whole.
type fraction struct{ v *float64 }

func (f fraction) String() string {
	if f.v == nil {
		return ""
	}
	return strconv.FormatFloat(*f.v*100, 'g', -1, 64) + "%"
}

func (f fraction) Type() string { return "percent" }

func (f fraction) Set(s string) error {
	v, err := parseFraction(s)
	if err != nil {
		return err
	}
	*f.v = v
	return nil
}

func parseFraction(s string) (float64, error) {
	text := strings.TrimSpace(s)
	pct := strings.HasSuffix(text, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(text, "%")), 64)
	switch {
	case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%q is not a percentage or a fraction (e.g. 10%% or 0.1)", s)
	case v < 0:
		return 0, fmt.Errorf("%q is negative: thresholds are sizes of a change", s)
	case pct:
		return v / 100, nil
	case v >= 1:
		return 0, fmt.Errorf("%q is ambiguous: write %s%% for %s percent, or %g for %g %%", s, text, text, v/100, v)
	}
	return v, nil
}
