// Package resultstest helps tests and benchmarks build synthetic results.
package resultstest

import (
	"math"

	"github.com/loadlab/loadlab/reports/results"
)

// Summarize aggregates the buckets of a phase the simple way: counts add
// up, each latency percentile takes the worst second. A real run merges the
// seconds' histograms instead; synthetic results have none to merge.
func Summarize(buckets []results.Bucket, ph results.Phase) results.PhaseSummary {
	ps := results.PhaseSummary{Phase: ph.Name, Codes: map[string]int64{}, Sources: map[string]int64{}}
	var sumMean float64
	for _, b := range buckets {
		if float64(b.T) < ph.StartS || float64(b.T) >= ph.EndS {
			continue
		}
		ps.Requests += b.Requests
		ps.Successes += b.Successes
		for k, n := range b.Codes {
			ps.Codes[k] += n
		}
		for k, n := range b.Sources {
			ps.Sources[k] += n
		}
		l := &ps.Latency
		l.P50 = math.Max(l.P50, b.Latency.P50)
		l.P90 = math.Max(l.P90, b.Latency.P90)
		l.P99 = math.Max(l.P99, b.Latency.P99)
		l.P999 = math.Max(l.P999, b.Latency.P999)
		l.Max = math.Max(l.Max, b.Latency.Max)
		sumMean += b.Latency.Mean * float64(b.Requests)
	}
	if ps.Requests > 0 {
		ps.SuccessRatio = float64(ps.Successes) / float64(ps.Requests)
		ps.Latency.Mean = sumMean / float64(ps.Requests)
	}
	secs := ph.EndS - ph.StartS
	ps.Rate = float64(ps.Requests) / secs
	ps.Throughput = float64(ps.Successes) / secs
	return ps
}
