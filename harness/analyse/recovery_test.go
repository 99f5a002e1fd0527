package analyse

import (
	"testing"

	"github.com/loadlab/loadlab/reports/results"
)

// ratios is a stream whose second t answers ok[t] of 100 requests.
func ratios(ok ...int64) results.Stream {
	var st results.Stream
	for t, n := range ok {
		st.Seconds = append(st.Seconds, results.Bucket{T: t, Requests: 100, Successes: n})
	}
	return st
}

func TestRecovery(t *testing.T) {
	ended := results.FaultWindow{ActiveFromS: 2, ActiveToS: 4.3}
	for _, tc := range []struct {
		name    string
		w       results.FaultWindow
		streams []results.Stream
		want    float64
	}{
		// Seconds 4 and 5 are still failing, 6 and 7 are healthy: recovered
		// 1.7 s after the fault ended at 4.3 s.
		{"burst after the heal", ended, []results.Stream{ratios(100, 100, 0, 0, 10, 50, 100, 100, 100)}, 1.7},
		{"never faltered", ended, []results.Stream{ratios(100, 100, 100, 100, 100, 100, 100)}, 0},
		// One healthy second, then a relapse: not recovered until 7 and 8.
		{"a relapse resets", ended, []results.Stream{ratios(100, 100, 0, 0, 0, 100, 50, 100, 100)}, 2.7},
		// Every stream must be healthy: the second one is not until 7.
		{"every stream", ended, []results.Stream{ratios(100, 100, 0, 0, 0, 100, 100, 100, 100), ratios(100, 100, 0, 0, 0, 0, 0, 100, 100)}, 2.7},
		{"not before the end", ended, []results.Stream{ratios(100, 100, 0, 0, 0, 0, 100)}, -1},
		{"never ended", results.FaultWindow{ActiveFromS: 2, ActiveToS: -1}, []results.Stream{ratios(100, 100, 100)}, -1},
		// A second without requests neither counts nor breaks a run.
		{"idle seconds", ended, []results.Stream{ratios(100, 100, 0, 0, 0, 100, 100, 100), {Seconds: make([]results.Bucket, 8)}}, 0.7},
	} {
		if got := Recovery(tc.w, tc.streams); got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("%s: recovery %v, want %v", tc.name, got, tc.want)
		}
	}
}
