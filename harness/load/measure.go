package load

import (
	"maps"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadlab/loadlab/harness/history"
)

// Latency histograms record microseconds from 1 µs to 60 s with three
// significant figures. A dense histogram of that range is about 140 KB, too
// much for every second of every stream, so each second keeps sparse
// (packed) ones whose size follows the number of distinct latencies seen;
// summaries merge them into dense histograms, exactly.
const (
	histLowestUs  = 1
	histHighestUs = 60_000_000
	histSigFigs   = 3

	// lateThreshold is how far behind its intended time a send may leave
	// before it counts as late. Timer and scheduler jitter alone reaches
	// 5-8 ms at p99 on a busy 2-core machine; 10 ms late is the generator
	// falling behind its schedule, not the clock. Latency is measured from
	// the intended time whatever the threshold.
	lateThreshold = 10 * time.Millisecond
)

const numSources = int(history.SourceQueue) + 1

// HeatBounds are the upper bounds of the latency bands a second counts its
// answers in, for the report's heatmap: 1, 2 and 5 times each power of ten
// from 100 µs to the histograms' 60 s ceiling. Band i holds the latencies
// in (HeatBounds[i-1], HeatBounds[i]], band 0 everything up to 100 µs.
var HeatBounds = func() []time.Duration {
	var b []time.Duration
	for d := 100 * time.Microsecond; d < histHighestUs*time.Microsecond; d *= 10 {
		b = append(b, d, 2*d, 5*d)
	}
	return append(b[:len(b)-1], histHighestUs*time.Microsecond) // …, 20 s, 60 s
}()

// heatBand is the band of HeatBounds a latency falls in.
func heatBand(d time.Duration) int {
	i, _ := slices.BinarySearch(HeatBounds, d)
	return min(i, len(HeatBounds)-1)
}

// Sample is one request as the engine records it: where it belongs and
// what came of it. The engine records one per hit, sent or not; tests and
// synthetic fixtures record their own through StreamResult.Record, so they
// are aggregated by the same code as a run.
type Sample struct {
	Code    uint16         // HTTP status; 0 for a transport error or an unsent hit
	Class   ErrorClass     // transport error class when Code is 0
	Source  history.Source // the response's X-Source
	Success bool           // counts as a success (see isSuccess)
	Unsent  bool           // due but never sent: the generator gave up on it
	Late    time.Duration  // how long after its intended time it left
	Latency time.Duration  // from the intended send time to the end of the response
	// BodyBytes is the size of the response body received (0 for a 304,
	// an error or an unsent hit).
	BodyBytes int64
}

// Latency summarises one latency histogram. Durations are whole
// microseconds, the histograms' unit.
type Latency struct {
	Count                    int64
	P50, P90, P99, P999, Max time.Duration
	Mean                     time.Duration
}

// Quantile is one point of a latency spectrum: the latency at or below
// which Percent per cent of the requests completed.
type Quantile struct {
	Percent float64
	Latency time.Duration
}

// SpectrumPercentiles are the points of a spectrum, as HdrHistogram prints
// its percentile distribution: each step halves the distance to 100 %, down
// to about one request in a hundred thousand, plus the round percentiles a
// chart labels (90, 99, 99.9, 99.99, 99.999).
var SpectrumPercentiles = func() []float64 {
	ps := []float64{0, 90, 99, 99.9, 99.99, 99.999}
	for gap := 50.0; gap >= 0.001; gap /= 2 {
		ps = append(ps, 100-gap)
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}()

// Summary is what the engine measured over some seconds of one or several
// streams.
type Summary struct {
	Requests  int64 // due in these seconds: sent, plus Unsent
	Successes int64
	Unsent    int64 // due but never sent; failures, recorded in Failure at (end − intended)
	Late      int64 // sent more than lateThreshold after their intended time
	MaxLate   time.Duration
	Overflow  int64                // latencies above the histograms' 60 s ceiling, recorded at the ceiling
	BodyBytes int64                // response body bytes received
	Codes     map[uint16]int64     // HTTP status of sent requests; 0: transport error
	Errors    map[ErrorClass]int64 // transport errors by class
	Sources   map[history.Source]int64
	Success   Latency // latency of the successes: the headline
	Failure   Latency // latency of everything else, unsent hits included
	// Heat counts the answers (successes and failures, not unsent hits) per
	// HeatBounds band; per-second summaries only (StreamResult.Second), nil
	// when nothing was answered.
	Heat []int64
	// Spectrum is the successes' latency at every SpectrumPercentiles
	// point, and at 100 % (the maximum); merged summaries only (Merge),
	// where a tail has enough requests to show (empty without successes).
	Spectrum []Quantile
}

// second holds the requests of one stream intended during one second of
// the run, whenever they really left: a backlog that builds up during a
// fault is charged to the fault (the wrk2 / HdrHistogram convention for an
// open model). Lateness is recorded beside it.
type second struct {
	requests  int64
	successes int64
	unsent    int64
	late      int64
	maxLate   time.Duration
	overflow  int64
	bodyBytes int64
	codes     map[uint16]int64
	errors    [numErrClasses]int64
	sources   [numSources]int64
	success   *hdrhistogram.PackedHistogram // µs from the intended send time
	failure   *hdrhistogram.PackedHistogram
	heat      []int64 // answers (sent requests) per HeatBounds band; nil until one
}

func (s *second) record(x Sample) {
	s.requests++
	s.bodyBytes += x.BodyBytes
	switch {
	case x.Unsent:
		s.unsent++
	default:
		if s.codes == nil {
			s.codes = make(map[uint16]int64, 4)
		}
		s.codes[x.Code]++
		if x.Code == 0 {
			s.errors[x.Class]++
		}
		s.sources[x.Source]++
		if s.heat == nil {
			s.heat = make([]int64, len(HeatBounds))
		}
		s.heat[heatBand(x.Latency)]++
		if x.Late > lateThreshold {
			s.late++
		}
		s.maxLate = max(s.maxLate, x.Late)
	}
	h := &s.failure
	if x.Success && !x.Unsent {
		s.successes++
		h = &s.success
	}
	if *h == nil {
		*h = hdrhistogram.NewPacked(histLowestUs, histHighestUs, histSigFigs)
	}
	us, over := toMicros(x.Latency)
	if over {
		s.overflow++
	}
	_ = (*h).RecordValue(us)
}

// absorb adds o into s; o is left as it was.
func (s *second) absorb(o *second) {
	s.requests += o.requests
	s.successes += o.successes
	s.unsent += o.unsent
	s.late += o.late
	s.maxLate = max(s.maxLate, o.maxLate)
	s.overflow += o.overflow
	s.bodyBytes += o.bodyBytes
	for c, n := range o.codes {
		if s.codes == nil {
			s.codes = make(map[uint16]int64, len(o.codes))
		}
		s.codes[c] += n
	}
	for i := range o.errors {
		s.errors[i] += o.errors[i]
	}
	for i := range o.sources {
		s.sources[i] += o.sources[i]
	}
	mergePacked(&s.success, o.success)
	mergePacked(&s.failure, o.failure)
	if o.heat != nil {
		if s.heat == nil {
			s.heat = make([]int64, len(HeatBounds))
		}
		for i, n := range o.heat {
			s.heat[i] += n
		}
	}
}

func mergePacked(dst **hdrhistogram.PackedHistogram, src *hdrhistogram.PackedHistogram) {
	if src == nil {
		return
	}
	if *dst == nil {
		*dst = hdrhistogram.NewPacked(histLowestUs, histHighestUs, histSigFigs)
	}
	(*dst).Merge(src)
}

// aggregate merges seconds, of one or several streams, into one Summary.
type aggregate struct {
	sum              Summary
	errors           [numErrClasses]int64
	sources          [numSources]int64
	success, failure *hdrhistogram.Histogram
}

func newAggregate() *aggregate {
	return &aggregate{
		sum:     Summary{Codes: map[uint16]int64{}},
		success: hdrhistogram.New(histLowestUs, histHighestUs, histSigFigs),
		failure: hdrhistogram.New(histLowestUs, histHighestUs, histSigFigs),
	}
}

func (a *aggregate) add(s *second) {
	a.sum.Requests += s.requests
	a.sum.Successes += s.successes
	a.sum.Unsent += s.unsent
	a.sum.Late += s.late
	a.sum.MaxLate = max(a.sum.MaxLate, s.maxLate)
	a.sum.Overflow += s.overflow
	a.sum.BodyBytes += s.bodyBytes
	for c, n := range s.codes {
		a.sum.Codes[c] += n
	}
	for i := range s.errors {
		a.errors[i] += s.errors[i]
	}
	for i := range s.sources {
		a.sources[i] += s.sources[i]
	}
	if s.success != nil {
		s.success.MergeInto(a.success)
	}
	if s.failure != nil {
		s.failure.MergeInto(a.failure)
	}
}

func (a *aggregate) summary() Summary {
	sum := a.sum
	if len(sum.Codes) == 0 {
		sum.Codes = nil
	}
	sum.Errors, sum.Sources = errorMap(&a.errors), sourceMap(&a.sources)
	sum.Success, sum.Failure = latencyOf(a.success), latencyOf(a.failure)
	sum.Spectrum = spectrumOf(a.success)
	return sum
}

func spectrumOf(h histogram) []Quantile {
	if h.TotalCount() == 0 {
		return nil
	}
	us := h.ValueAtPercentilesSlice(SpectrumPercentiles)
	out := make([]Quantile, 0, len(us)+1)
	for i, v := range us {
		out = append(out, Quantile{Percent: SpectrumPercentiles[i], Latency: time.Duration(v) * time.Microsecond})
	}
	return append(out, Quantile{Percent: 100, Latency: time.Duration(h.Max()) * time.Microsecond})
}

// summary of one second on its own, without a dense histogram.
func (s *second) summary() Summary {
	sum := Summary{
		Requests: s.requests, Successes: s.successes, Unsent: s.unsent, Late: s.late,
		MaxLate: s.maxLate, Overflow: s.overflow, BodyBytes: s.bodyBytes, Codes: maps.Clone(s.codes),
		Errors: errorMap(&s.errors), Sources: sourceMap(&s.sources), Heat: slices.Clone(s.heat),
	}
	if s.success != nil {
		sum.Success = latencyOf(s.success)
	}
	if s.failure != nil {
		sum.Failure = latencyOf(s.failure)
	}
	return sum
}

// histogram is what both the packed and the dense histograms offer.
type histogram interface {
	TotalCount() int64
	ValueAtPercentilesSlice([]float64) []int64
	Max() int64
	Mean() float64
}

var percentiles = []float64{50, 90, 99, 99.9}

func latencyOf(h histogram) Latency {
	n := h.TotalCount()
	if n == 0 {
		return Latency{}
	}
	p := h.ValueAtPercentilesSlice(percentiles)
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	return Latency{
		Count: n,
		P50:   us(p[0]), P90: us(p[1]), P99: us(p[2]), P999: us(p[3]),
		Max:  us(h.Max()),
		Mean: time.Duration(h.Mean() * float64(time.Microsecond)),
	}
}

// toMicros converts a latency to the histograms' unit, raising it to their
// floor and lowering it to their ceiling; over says it was lowered, so the
// caller counts it rather than hide it.
func toMicros(d time.Duration) (us int64, over bool) {
	us = d.Microseconds()
	switch {
	case us < histLowestUs:
		return histLowestUs, false
	case us > histHighestUs:
		return histHighestUs, true
	}
	return us, false
}

func errorMap(errors *[numErrClasses]int64) map[ErrorClass]int64 {
	var m map[ErrorClass]int64
	for c := ErrTimeout; c < numErrClasses; c++ {
		if n := errors[c]; n > 0 {
			if m == nil {
				m = make(map[ErrorClass]int64, 2)
			}
			m[c] = n
		}
	}
	return m
}

func sourceMap(sources *[numSources]int64) map[history.Source]int64 {
	var m map[history.Source]int64
	for i := 1; i < numSources; i++ {
		if n := sources[i]; n > 0 {
			if m == nil {
				m = make(map[history.Source]int64, 2)
			}
			m[history.Source(i)] = n
		}
	}
	return m
}
