package load

import (
	"slices"
	"testing"
	"time"
)

// TestHeatCountsAnswersByBand records answers of known latencies into one
// second and reads its bands back: each in its (lower, upper] band, a bound
// itself in the band it closes, a latency past the ceiling in the last,
// failures counted, unsent hits not.
func TestHeatCountsAnswersByBand(t *testing.T) {
	sr := NewStreamResult(0, Stream{Name: "s"}, 1)
	for _, x := range []Sample{
		{Code: 200, Success: true, Latency: 50 * time.Microsecond},  // band 0: ≤ 0.1 ms
		{Code: 200, Success: true, Latency: 100 * time.Microsecond}, // band 0: the bound itself
		{Code: 200, Success: true, Latency: 3 * time.Millisecond},   // band 5: (2, 5] ms
		{Code: 503, Latency: 3 * time.Millisecond},                  // a failure, same band
		{Code: 200, Success: true, Latency: 70 * time.Second},       // past the ceiling: the last band
		{Unsent: true, Latency: 4 * time.Second},                    // never answered: not counted
	} {
		sr.Record(0, x)
	}
	want := make([]int64, len(HeatBounds))
	want[0], want[5], want[len(want)-1] = 2, 2, 1
	if got := sr.Second(0).Heat; !slices.Equal(got, want) {
		t.Errorf("heat %v, want %v (bounds %v)", got, want, HeatBounds)
	}
}
