package analyse

import (
	"math"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/reports/results"
)

// fault is one fault applied at 2.03 s and removed at 4.05 s of a 6 s run.
var fault = results.FaultWindow{Name: "cut", PlannedAtS: 2, PlannedForS: 2, ActiveFromS: 2.03, ActiveToS: 4.05}

// measured is a 6 s run of two streams at 100 hits a second. Every hit of
// stream "reads" takes 10 ms, except during the fault (seconds 2 and 3),
// where nine in ten fail at once with a 503 and the rest take 400 ms; the
// hits intended in second 3 were all sent late, after the heal.
func measured() Measured {
	reads := load.NewStreamResult(0, load.Stream{Name: "reads", Method: "GET", Path: "/items/{key}", Rate: 100}, 6)
	writes := load.NewStreamResult(1, load.Stream{Name: "writes", Method: "PUT", Path: "/items/{key}", Rate: 50,
		Stages: []load.Stage{{Duration: time.Second, Target: 100}}, Arrival: load.Poisson}, 6)
	for t := range 6 {
		for i := range 100 {
			x := load.Sample{Code: 200, Success: true, Source: history.SourceDB, Latency: 10 * time.Millisecond}
			if t == 2 || t == 3 {
				x = load.Sample{Code: 503, Latency: time.Millisecond}
				if i%10 == 0 {
					x = load.Sample{Code: 200, Success: true, Source: history.SourceCache, Latency: 400 * time.Millisecond}
				}
			}
			if t == 3 {
				x.Late = 1200 * time.Millisecond
			}
			reads.Record(t, x)
		}
		writes.Record(t, load.Sample{Code: 200, Success: true, Latency: 20 * time.Millisecond})
	}
	writes.Record(5, load.Sample{Unsent: true, Latency: 500 * time.Millisecond})
	reads.Health = load.Health{Intended: 600, Sent: 600}
	writes.Health = load.Health{Intended: 7, Sent: 6, Unsent: 1, Saturated: true}
	return Measured{
		Load:   &load.Result{Duration: 6 * time.Second, ByStream: []*load.StreamResult{reads, writes}},
		Faults: []results.FaultWindow{fault},
	}
}

func TestVariant(t *testing.T) {
	var v results.Variant
	Variant(measured(), &v)

	wantPhases := []string{"whole", "before cut", "during cut", "after cut"}
	if len(v.Phases) != 4 || len(v.Total) != 4 || len(v.Streams) != 2 {
		t.Fatalf("phases %+v, total %d, streams %d", v.Phases, len(v.Total), len(v.Streams))
	}
	for i, name := range wantPhases {
		if v.Phases[i].Name != name || v.Total[i].Phase != name || v.Streams[0].Phases[i].Phase != name {
			t.Errorf("phase %d: %q, total %q, stream %q; want %q", i, v.Phases[i].Name, v.Total[i].Phase, v.Streams[0].Phases[i].Phase, name)
		}
	}
	reads, writes := v.Streams[0], v.Streams[1]
	during := reads.Phases[2]
	// The fault's phase holds seconds 2 and 3, the late ones included.
	if during.Requests != 200 || during.Successes != 20 || during.LateSends != 100 || during.MaxLateMs != 1200 {
		t.Errorf("during: %+v, want seconds 2 and 3: 200 requests, 20 successes, 100 late", during)
	}
	// Fast 503s leave the headline, the successes' latency, alone.
	if during.Latency.P99 < 390 || during.FailureLatency == nil || during.FailureLatency.P99 > 1.1 {
		t.Errorf("during: success p99 %.1f ms, failure %+v: want 400 ms and 1 ms", during.Latency.P99, during.FailureLatency)
	}
	if before := reads.Phases[1]; before.Requests != 200 || before.FailureLatency != nil || math.Abs(before.Latency.P99-10) > 0.1 {
		t.Errorf("before: %+v", before)
	}
	if w := writes.Phases[0]; w.Unsent != 1 || w.Requests != 7 || w.FailureLatency == nil || w.FailureLatency.Max < 499 {
		t.Errorf("writes whole: %+v, want the unsent hit counted and its wait as failure latency", w)
	}
	if writes.Unsent != 1 || !writes.Saturated || writes.Arrival != "poisson" || writes.Rate != "ramp 50/s→100/s" || reads.Rate != "100/s" {
		t.Errorf("writes stream %+v", writes)
	}
	if tot := v.Total[2]; tot.Requests != 202 || tot.Successes != 22 || tot.Codes["503"] != 180 || tot.Sources["cache"] != 20 {
		t.Errorf("total during: %+v, want both streams' seconds 2 and 3", tot)
	}
	if b := reads.Seconds[3]; b.T != 3 || b.Requests != 100 || b.LateSends != 100 || b.MaxLateMs != 1200 || b.Codes["503"] != 90 || b.FailureLatency == nil {
		t.Errorf("bucket 3: %+v", b)
	}
	if tot := v.Total[0]; math.Abs(tot.Rate-(600+7)/6.0) > 1e-9 || math.Abs(tot.Throughput-(600-180+6)/6.0) > 1e-9 {
		t.Errorf("whole: rate %.2f throughput %.2f", tot.Rate, tot.Throughput)
	}
	if v.History != nil {
		t.Error("a history without a final state")
	}
}

// TestSecondsFollowContains: the phases of a run share its seconds out,
// each exactly once, the last partial second included.
func TestSecondsFollowContains(t *testing.T) {
	for _, c := range []struct {
		ph       results.Phase
		duration float64
		from, to int
		span     float64
	}{
		{results.Phase{StartS: 2.03, EndS: 4.05}, 6, 2, 4, 2},
		{results.Phase{StartS: 0, EndS: 2.03}, 6, 0, 2, 2},
		{results.Phase{StartS: 4.05, EndS: 6}, 6, 4, 6, 2},
		{results.Phase{StartS: 0, EndS: 2.5}, 2.5, 0, 3, 2.5},
		{results.Phase{StartS: 2, EndS: 2.5}, 2.5, 2, 3, 0.5},
		{results.Phase{StartS: 0, EndS: 2.2}, 2.2, 0, 3, 2.2},
		{results.Phase{StartS: 6, EndS: 6}, 6, 0, 0, 0},
	} {
		from, to, span := Seconds(c.ph, c.duration)
		if from != c.from || to != c.to || math.Abs(span-c.span) > 1e-9 {
			t.Errorf("Seconds(%+v, %v) = %d, %d, %v; want %d, %d, %v", c.ph, c.duration, from, to, span, c.from, c.to, c.span)
		}
	}
	// Before, during and after a fault cover every second once.
	phases := Phases(6, []results.FaultWindow{fault})
	for sec := range 6 {
		n := 0
		for _, ph := range phases[1:] {
			if ph.Contains(sec, 6) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("second %d is in %d of before/during/after", sec, n)
		}
	}
}

func TestVariantHistory(t *testing.T) {
	m := measured()
	m.Load.Ops = []history.Op{
		{InvokeNs: 1, CompleteNs: 2, Key: 1, Value: history.WriteValue(1, 0), Version: 3, Write: true, Outcome: history.OK, Stream: 1, Code: 200},
	}
	// The acknowledged write is gone: the key still holds its seed.
	m.Final = &history.Final{States: map[uint32]history.State{1: {Value: history.SeedValue(1), Version: 2}}}
	m.SeededKeys = 2
	m.Converged, m.ConvergedAtS = true, 5
	var v results.Variant
	Variant(m, &v)
	if v.History == nil || v.History.LostWrites != 1 || !v.History.Converged || math.Abs(v.History.ConvergenceS-(5-4.05)) > 1e-9 {
		t.Errorf("history %+v: want one lost write, converged 0.95 s after the heal", v.History)
	}
	if len(v.History.Examples) == 0 || v.History.Examples[0].Stream != "writes" {
		t.Errorf("examples %+v: want the stream named", v.History.Examples)
	}
}

func TestConvergence(t *testing.T) {
	queue := []results.Series{{Name: "queue_depth", Points: []results.Point{{T: 3, V: 5}, {T: 5, V: 2}, {T: 6, V: 0}}}}
	for _, c := range []struct {
		converged bool
		faults    []results.FaultWindow
		series    []results.Series
		at, want  float64
	}{
		{false, []results.FaultWindow{fault}, nil, 9, -1},
		{true, nil, nil, 9, 0},
		{true, []results.FaultWindow{fault}, queue, 9, 6 - 4.05},
		{true, []results.FaultWindow{fault}, nil, 7, 7 - 4.05},
		{true, []results.FaultWindow{{PlannedAtS: 1, PlannedForS: 2, ActiveFromS: 1, ActiveToS: -1}}, nil, 4, 1},
	} {
		if got := Convergence(c.converged, c.faults, c.series, c.at); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Convergence(%v, %v, %v, %v) = %v, want %v", c.converged, c.faults, c.series, c.at, got, c.want)
		}
	}
}

// TestHeatBoundsAgree keeps the load engine's latency bands and the ones
// results.json documents for Bucket.Heat the same.
func TestHeatBoundsAgree(t *testing.T) {
	if len(load.HeatBounds) != len(results.HeatBoundsMs) {
		t.Fatalf("load has %d heat bands, results documents %d", len(load.HeatBounds), len(results.HeatBoundsMs))
	}
	for i, b := range load.HeatBounds {
		if got := float64(b) / float64(time.Millisecond); got != results.HeatBoundsMs[i] {
			t.Errorf("band %d: load's bound %g ms, results' %g ms", i, got, results.HeatBoundsMs[i])
		}
	}
}
