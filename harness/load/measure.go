package load

import (
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/reports/results"
)

// Latency histograms record microseconds from 1 µs to 60 s with three
// significant figures. A dense histogram of that range is about 140 KB, too
// much for every second of every stream, so each second keeps a sparse
// (packed) one whose size follows the number of distinct latencies seen;
// summaries merge them into one dense histogram, exactly.
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

// second holds the requests of one stream sent during one second of the
// run; their latencies are still measured from their intended send times.
type second struct {
	requests  int64
	successes int64
	late      int64
	codes     map[uint16]int64
	errors    [numErrClasses]int64
	sources   [numSources]int64
	latency   *hdrhistogram.PackedHistogram // µs from the intended send time
}

func (s *second) record(code uint16, class errClass, src history.Source, success, late bool, latency time.Duration) {
	s.requests++
	if success {
		s.successes++
	}
	if late {
		s.late++
	}
	if s.codes == nil {
		s.codes = make(map[uint16]int64, 4)
	}
	s.codes[code]++
	s.errors[class]++
	s.sources[src]++
	if s.latency == nil {
		s.latency = hdrhistogram.NewPacked(histLowestUs, histHighestUs, histSigFigs)
	}
	_ = s.latency.RecordValue(clampUs(latency))
}

// absorb adds o into s; o is left as it was.
func (s *second) absorb(o *second) {
	s.requests += o.requests
	s.successes += o.successes
	s.late += o.late
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
	if o.latency != nil {
		if s.latency == nil {
			s.latency = hdrhistogram.NewPacked(histLowestUs, histHighestUs, histSigFigs)
		}
		s.latency.Merge(o.latency)
	}
}

func (s *second) bucket(t int) results.Bucket {
	b := results.Bucket{
		T:         t,
		Requests:  s.requests,
		Successes: s.successes,
		LateSends: s.late,
		Codes:     codeMap(s.codes),
		Sources:   sourceMap(&s.sources),
	}
	for c := errTimeout; c < numErrClasses; c++ {
		if n := s.errors[c]; n > 0 {
			if b.Errors == nil {
				b.Errors = make(map[string]int64, 2)
			}
			b.Errors[c.String()] = n
		}
	}
	if s.latency != nil && s.latency.TotalCount() > 0 {
		b.Latency = latencyOf(s.latency.ValueAtPercentilesSlice(percentiles), s.latency.Max(), s.latency.Mean())
	}
	return b
}

// aggregate merges seconds, of one or several streams, into a phase summary.
type aggregate struct {
	requests  int64
	successes int64
	late      int64
	codes     map[uint16]int64
	sources   [numSources]int64
	latency   *hdrhistogram.Histogram
}

func newAggregate() *aggregate {
	return &aggregate{
		codes:   make(map[uint16]int64),
		latency: hdrhistogram.New(histLowestUs, histHighestUs, histSigFigs),
	}
}

func (a *aggregate) add(s *second) {
	a.requests += s.requests
	a.successes += s.successes
	a.late += s.late
	for c, n := range s.codes {
		a.codes[c] += n
	}
	for i := range s.sources {
		a.sources[i] += s.sources[i]
	}
	if s.latency != nil {
		s.latency.MergeInto(a.latency)
	}
}

// summary turns the aggregate into a PhaseSummary over span seconds of load.
func (a *aggregate) summary(phase string, span float64) results.PhaseSummary {
	ps := results.PhaseSummary{
		Phase:     phase,
		Requests:  a.requests,
		Successes: a.successes,
		LateSends: a.late,
		Codes:     codeMap(a.codes),
		Sources:   sourceMap(&a.sources),
	}
	if a.requests > 0 {
		ps.SuccessRatio = float64(a.successes) / float64(a.requests)
	}
	if span > 0 {
		ps.Throughput = float64(a.successes) / span
		ps.Rate = float64(a.requests) / span
	}
	if a.latency.TotalCount() > 0 {
		ps.Latency = latencyOf(a.latency.ValueAtPercentilesSlice(percentiles), a.latency.Max(), a.latency.Mean())
	}
	return ps
}

var percentiles = []float64{50, 90, 99, 99.9}

func latencyOf(p []int64, maxUs int64, meanUs float64) results.Latency {
	return results.Latency{
		P50:  float64(p[0]) / 1e3,
		P90:  float64(p[1]) / 1e3,
		P99:  float64(p[2]) / 1e3,
		P999: float64(p[3]) / 1e3,
		Max:  float64(maxUs) / 1e3,
		Mean: meanUs / 1e3,
	}
}

func clampUs(d time.Duration) int64 {
	us := d.Microseconds()
	switch {
	case us < histLowestUs:
		return histLowestUs
	case us > histHighestUs:
		return histHighestUs
	}
	return us
}

func codeMap(codes map[uint16]int64) map[string]int64 {
	if len(codes) == 0 {
		return nil
	}
	m := make(map[string]int64, len(codes))
	for c, n := range codes {
		m[strconv.Itoa(int(c))] = n
	}
	return m
}

func sourceMap(sources *[numSources]int64) map[string]int64 {
	var m map[string]int64
	for i := 1; i < numSources; i++ {
		if n := sources[i]; n > 0 {
			if m == nil {
				m = make(map[string]int64, 2)
			}
			m[history.Source(i).String()] = n
		}
	}
	return m
}
