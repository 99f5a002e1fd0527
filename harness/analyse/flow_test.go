package analyse

import (
	"math"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/reports/results"
)

// TestFlowCountsByWallTime plants a flow whose figures are known: stream 0
// sends every 100 ms for 3 s, each request answered 250 ms later (2.5 in
// flight on average, 3 at the peak), every fifth one failing; stream 1 is
// one request sent at 0.5 s that the target holds for 2.5 s, which must
// show as in flight through seconds 0–2, answered in second 3.
func TestFlowCountsByWallTime(t *testing.T) {
	const ms = int64(time.Millisecond)
	var ops []history.Op
	for i := range int64(30) {
		outcome := history.OK
		if i%5 == 4 {
			outcome = history.Fail
		}
		ops = append(ops, history.Op{InvokeNs: i * 100 * ms, CompleteNs: i*100*ms + 250*ms, Outcome: outcome})
		if i == 5 {
			ops = append(ops, history.Op{Stream: 1, InvokeNs: 500 * ms, CompleteNs: 3000 * ms, Outcome: history.OK})
		}
	}
	got := flow(ops, 2, 4, "")

	// Second 0 receives the answers of the sends at 0–700 ms (8, of which
	// 7 are successes: #4 failed), and holds 2.3 request-seconds: the
	// first 250 ms start from nothing, and the sends at 800 and 900 ms are
	// answered in second 1. Second 3 receives the answers of the last two
	// sends (#28 a success, #29 failed), both in flight as it starts.
	want := []struct {
		sent, achieved, peak int64
		mean                 float64
	}{
		{10, 7, 3, 2.3},
		{10, 8, 3, 2.5},
		{10, 8, 3, 2.5},
		{0, 1, 2, 0.2},
	}
	for s, w := range want {
		f := got[0][s]
		if f.sent != w.sent || f.achieved != w.achieved || f.maxInFlight != w.peak ||
			math.Abs(float64(f.busyNs)/1e9-w.mean) > 1e-9 {
			t.Errorf("stream 0 second %d: sent %d achieved %d peak %d mean %.3f; want %d %d %d %.3f",
				s, f.sent, f.achieved, f.maxInFlight, float64(f.busyNs)/1e9, w.sent, w.achieved, w.peak, w.mean)
		}
	}
	long := []flowSecond{
		{sent: 1, busyNs: 500 * ms, maxInFlight: 1},
		{busyNs: 1000 * ms, maxInFlight: 1},
		{busyNs: 1000 * ms, maxInFlight: 1},
		{achieved: 1},
	}
	for s, w := range long {
		if got[1][s] != w {
			t.Errorf("stream 1 second %d: %+v, want %+v", s, got[1][s], w)
		}
	}
}

// TestFlowNeedsTheWholeHistory: a history that missed requests would draw a
// drop in throughput that never happened, so there is no flow at all.
func TestFlowNeedsTheWholeHistory(t *testing.T) {
	ops := []history.Op{{InvokeNs: 0, CompleteNs: int64(time.Millisecond)}}
	if f := flow(ops, 1, 2, "history capped at 1 op"); f != nil {
		t.Fatalf("flow of an incomplete history = %v, want none", f)
	}
	var b [2]results.Bucket
	addFlow(b[:], flow(ops, 1, 2, "")[0])
	if b[0].Sent != 1 || b[0].Achieved != 1 || b[0].MaxInFlight != 1 || b[0].InFlight != 0.001 {
		t.Fatalf("bucket 0 = %+v, want one request sent and answered within 1 ms", b[0])
	}
}

// TestAttemptsAndAmplificationByPhase: a phase's attempts are those of the
// wall seconds it contains, and its amplification their ratio to the
// requests sent then; a phase that sent nothing has none (undefined, not 0×).
func TestAttemptsAndAmplificationByPhase(t *testing.T) {
	buckets := []results.Bucket{
		{T: 0, Sent: 10, Attempts: 10},
		{T: 1, Sent: 10, Attempts: 40},
		{T: 2, Sent: 10, Attempts: 30},
		{T: 3},
	}
	phases := []results.Phase{
		{Name: "whole", StartS: 0, EndS: 4},
		{Name: "before f", StartS: 0, EndS: 1},
		{Name: "during f", StartS: 1, EndS: 3},
		{Name: "after f", StartS: 3, EndS: 4},
	}
	sums := make([]results.PhaseSummary, len(phases))
	addAttempts(sums, phases, 4, buckets)
	want := []struct {
		attempts int64
		amp      float64
	}{{80, 80.0 / 30}, {10, 1}, {70, 3.5}, {0, 0}}
	for i, w := range want {
		if sums[i].Attempts != w.attempts || math.Abs(sums[i].Amplification-w.amp) > 1e-9 {
			t.Errorf("%s: attempts %d amplification %v, want %d and %v", phases[i].Name, sums[i].Attempts, sums[i].Amplification, w.attempts, w.amp)
		}
	}
}
