package analyse

import (
	"math"

	"github.com/loadlab/loadlab/reports/results"
)

// recoveredRatio is the success ratio every stream must hold again for a
// fault's service to count as recovered, recoveredFor seconds in a row.
const (
	recoveredRatio = 0.99
	recoveredFor   = 2
)

// Recovery is how long after a fault ended (the link healed, the crashed
// store answered again) the service answered as before: the seconds from
// the fault's end to the start of the first recoveredFor whole seconds in
// which every stream's success ratio is at least recoveredRatio. 0 when
// it never faltered; -1 when it did not recover before the load ended, or
// the fault never ended.
func Recovery(w results.FaultWindow, streams []results.Stream) float64 {
	if w.ActiveToS < 0 {
		return -1
	}
	healthy := func(t int) bool {
		requests := false
		for _, st := range streams {
			if t >= len(st.Seconds) {
				return false
			}
			b := st.Seconds[t]
			if b.Requests == 0 {
				continue
			}
			requests = true
			if float64(b.Successes) < recoveredRatio*float64(b.Requests) {
				return false
			}
		}
		return requests
	}
	// The second the fault ended in counts when it was already healthy.
	for t := int(math.Floor(w.ActiveToS)); ; t++ {
		run := 0
		for run < recoveredFor && healthy(t+run) {
			run++
		}
		if run == recoveredFor {
			return max(0, float64(t)-w.ActiveToS)
		}
		if !anySecond(streams, t+run) {
			return -1
		}
		t += run
	}
}

// anySecond reports whether some stream has second t.
func anySecond(streams []results.Stream, t int) bool {
	for _, st := range streams {
		if t < len(st.Seconds) {
			return true
		}
	}
	return false
}
