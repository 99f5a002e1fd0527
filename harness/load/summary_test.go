package load

import (
	"io"
	"log/slog"
	"math/rand"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// syntheticResult builds a Result of nStreams streams and nSec seconds whose
// latencies are drawn from rng; truth gets every latency of second t of
// stream s recorded into truth[s][t].
func syntheticResult(nStreams, nSec, perSec int, duration time.Duration, rng *rand.Rand) (*Result, [][][]time.Duration) {
	r := &Result{Duration: duration}
	truth := make([][][]time.Duration, nStreams)
	for s := range nStreams {
		sr := &StreamResult{Index: s, Stream: scenarios.Stream{Name: string(rune('a' + s)), Method: "GET", Path: "/items/{key}", Rate: perSecond(perSec)}}
		sr.seconds = make([]second, nSec)
		truth[s] = make([][]time.Duration, nSec)
		for t := range nSec {
			for i := range perSec {
				lat := time.Duration(rng.ExpFloat64()*float64(5*time.Millisecond)) + time.Duration(s*t)*time.Millisecond
				code := uint16(200)
				if i%10 == 0 {
					code = 503
				}
				sr.seconds[t].record(code, errNone, history.SourceDB, code == 200, i%50 == 0, lat)
				truth[s][t] = append(truth[s][t], lat)
			}
		}
		r.ByStream = append(r.ByStream, sr)
	}
	return r, truth
}

func TestSummaryMergesExactly(t *testing.T) {
	r, truth := syntheticResult(2, 6, 200, 6*time.Second, rand.New(rand.NewSource(1)))
	check := func(name string, got results.PhaseSummary, streams []int, from, to int, span float64) {
		t.Helper()
		h := hdrhistogram.New(histLowestUs, histHighestUs, histSigFigs)
		var n int64
		for _, s := range streams {
			for sec := from; sec < to; sec++ {
				for _, lat := range truth[s][sec] {
					h.RecordValue(clampUs(lat))
					n++
				}
			}
		}
		want := latencyOf(h.ValueAtPercentilesSlice(percentiles), h.Max(), h.Mean())
		if got.Latency != want {
			t.Errorf("%s: latency %+v, want %+v (one histogram of every value)", name, got.Latency, want)
		}
		if got.Requests != n || got.Successes != n*9/10 || got.Codes["503"] != n/10 || got.Sources["db"] != n || got.LateSends != n/50 {
			t.Errorf("%s: %+v, want %d requests, 90%% successes", name, got, n)
		}
		if !within(got.Rate, float64(n)/span, 1e-9) || !within(got.Throughput, float64(n)*0.9/span, 1e-9) {
			t.Errorf("%s: rate %.2f throughput %.2f over %.2f s", name, got.Rate, got.Throughput, span)
		}
	}

	during := results.Phase{Name: "during f", StartS: 2.03, EndS: 4.05}
	got, ok := r.Summary("b", during)
	if !ok {
		t.Fatal("no summary of stream b")
	}
	check("b during", got, []int{1}, 2, 4, 2)
	got, _ = r.Summary("", during)
	check("all during", got, []int{0, 1}, 2, 4, 2)
	got, _ = r.Summary("", results.Phase{Name: "whole", EndS: 6})
	check("all whole", got, []int{0, 1}, 0, 6, 6)

	if _, ok := r.Summary("nope", during); ok {
		t.Error("summary of an unknown stream")
	}
	if _, ok := r.Summary("", results.Phase{Name: "after", StartS: 6, EndS: 6}); ok {
		t.Error("summary of a phase outside the run")
	}

	st := r.Streams([]results.Phase{{Name: "whole", EndS: 6}, during})
	if len(st) != 2 || len(st[1].Phases) != 2 || st[1].Phases[1].Phase != "during f" || len(st[1].Seconds) != 6 {
		t.Fatalf("Streams: %+v", st)
	}
	check("schema b during", st[1].Phases[1], []int{1}, 2, 4, 2)
	if b := st[1].Seconds[3]; b.T != 3 || b.Requests != 200 || b.Latency.P50 < 3 {
		t.Errorf("bucket 3 of b: %+v", b)
	}
}

// TestSummaryPartialLastSecond: a run cancelled at 2.5 s has a half second
// at the end; rates divide by the time really run.
func TestSummaryPartialLastSecond(t *testing.T) {
	r, _ := syntheticResult(1, 3, 100, 2500*time.Millisecond, rand.New(rand.NewSource(2)))
	got, ok := r.Summary("", results.Phase{Name: "whole", EndS: 2.5})
	if !ok || got.Requests != 300 || !within(got.Rate, 300/2.5, 1e-9) {
		t.Errorf("whole of a 2.5 s run: %+v, want 300 requests at 120/s", got)
	}
	got, _ = r.Summary("", results.Phase{Name: "after", StartS: 2, EndS: 2.5})
	if got.Requests != 100 || !within(got.Rate, 200, 1e-9) {
		t.Errorf("last half second: %+v, want 100 requests at 200/s", got)
	}
}
