package load

import (
	"io"
	"log/slog"
	"math/rand"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadlab/loadlab/harness/history"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// syntheticResult builds a Result of nStreams streams and nSec seconds whose
// latencies are drawn from rng; truth gets every latency of second t of
// stream s recorded into truth[s][t]. One request in ten is a 503.
func syntheticResult(nStreams, nSec, perSec int, rng *rand.Rand) (*Result, [][][]time.Duration) {
	r := &Result{Duration: time.Duration(nSec) * time.Second}
	truth := make([][][]time.Duration, nStreams)
	for s := range nStreams {
		sr := NewStreamResult(s, Stream{Name: string(rune('a' + s)), Rate: perSecond(perSec)}, nSec)
		truth[s] = make([][]time.Duration, nSec)
		for t := range nSec {
			for i := range perSec {
				lat := time.Duration(rng.ExpFloat64()*float64(5*time.Millisecond)) + time.Duration(s*t)*time.Millisecond
				x := Sample{Code: 200, Source: history.SourceDB, Success: true, Latency: lat}
				if i%10 == 0 {
					x.Code, x.Success = 503, false
				}
				if i%50 == 0 {
					x.Late = 20 * time.Millisecond
				}
				sr.Record(t, x)
				truth[s][t] = append(truth[s][t], lat)
			}
		}
		r.ByStream = append(r.ByStream, sr)
	}
	return r, truth
}

// TestMergeIsExact: a merged summary equals one histogram of every value,
// successes and failures apart.
func TestMergeIsExact(t *testing.T) {
	r, truth := syntheticResult(2, 6, 200, rand.New(rand.NewSource(1)))
	check := func(name string, got Summary, streams []int, from, to int) {
		t.Helper()
		ok := hdrhistogram.New(histLowestUs, histHighestUs, histSigFigs)
		failed := hdrhistogram.New(histLowestUs, histHighestUs, histSigFigs)
		var n int64
		for _, s := range streams {
			for sec := from; sec < to; sec++ {
				for i, lat := range truth[s][sec] {
					us, _ := toMicros(lat)
					if i%10 == 0 {
						_ = failed.RecordValue(us)
					} else {
						_ = ok.RecordValue(us)
					}
					n++
				}
			}
		}
		if want := latencyOf(ok); got.Success != want {
			t.Errorf("%s: success latency %+v, want %+v (one histogram of every value)", name, got.Success, want)
		}
		if want := latencyOf(failed); got.Failure != want {
			t.Errorf("%s: failure latency %+v, want %+v", name, got.Failure, want)
		}
		if got.Requests != n || got.Successes != n*9/10 || got.Codes[503] != n/10 || got.Sources[history.SourceDB] != n || got.Late != n/50 {
			t.Errorf("%s: %+v, want %d requests, 90%% successes", name, got, n)
		}
	}
	check("b 2..4", r.ByStream[1].Summary(2, 4), []int{1}, 2, 4)
	check("all 2..4", Merge(r.ByStream, 2, 4), []int{0, 1}, 2, 4)
	check("all", Merge(r.ByStream, 0, r.Seconds()), []int{0, 1}, 0, 6)
	check("one second", r.ByStream[0].Second(3), []int{0}, 3, 4)
	if s := Merge(r.ByStream, 6, 9); s.Requests != 0 || s.Success.Count != 0 {
		t.Errorf("seconds past the run: %+v", s)
	}
}

// TestFastFailuresLeaveSuccessLatency: a phase of fast 503s, the service
// failing, must not pull down the latency of what it still serves. With one
// histogram for both, 995 answers of 1 ms would make the p99 1 ms.
func TestFastFailuresLeaveSuccessLatency(t *testing.T) {
	sr := NewStreamResult(0, Stream{Name: "reads"}, 2)
	for i := range 1000 {
		sr.Record(0, Sample{Code: 200, Success: true, Latency: 30 * time.Millisecond})
		if i%200 == 0 {
			sr.Record(1, Sample{Code: 200, Success: true, Latency: 30 * time.Millisecond})
		} else {
			sr.Record(1, Sample{Code: 503, Latency: time.Millisecond})
		}
	}
	before, during := sr.Second(0), sr.Second(1)
	if during.Success.P99 != before.Success.P99 || during.Success.Count != 5 {
		t.Errorf("success p99 %v during the failures, %v before: want it unaffected", during.Success.P99, before.Success.P99)
	}
	if during.Failure.P99 != time.Millisecond || during.Failure.Count != 995 {
		t.Errorf("failure latency %+v, want 995 at 1 ms", during.Failure)
	}
}

// TestOverflowIsCounted: a latency above the histograms' ceiling is kept at
// the ceiling and counted, not silently clamped.
func TestOverflowIsCounted(t *testing.T) {
	sr := NewStreamResult(0, Stream{Name: "reads"}, 1)
	sr.Record(0, Sample{Code: 0, Class: ErrTimeout, Latency: 90 * time.Second})
	sr.Record(0, Sample{Unsent: true, Latency: 61 * time.Second})
	sr.Record(0, Sample{Code: 200, Success: true, Latency: time.Second})
	s := sr.Second(0)
	if s.Overflow != 2 || s.Failure.Max < time.Minute || s.Unsent != 1 || s.Requests != 3 {
		t.Errorf("summary %+v: want 2 overflows recorded at 60 s, 1 unsent of 3", s)
	}
	if s.Codes[0] != 1 || s.Errors[ErrTimeout] != 1 {
		t.Errorf("codes %v errors %v: an unsent hit has no code", s.Codes, s.Errors)
	}
}
