// Package resultstest builds synthetic results for tests and benchmarks
// through the same code a run uses: every synthetic request is recorded
// into the load engine's per-second histograms, and analyse turns them into
// buckets, phase summaries and totals. A fixture's percentiles are then
// what a run would report for those requests, not a guess at how seconds
// combine.
//
// It imports the harness, which the reports themselves never do: it stands
// in for a run.
package resultstest

import (
	"cmp"
	"slices"
	"time"

	"github.com/loadlab/loadlab/harness/analyse"
	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/reports/results"
)

// Stream is one synthetic stream: Rate requests intended in each second,
// and Request says what came of request i of second t.
type Stream struct {
	Name, Method string
	Rate         int
	Request      func(t, i int) load.Sample
}

// Measure records every request of the streams over the given seconds and
// fills v's duration, phases (derived from faults), streams and totals as a
// run would; v's metrics are kept. Generator health follows from the
// samples: unsent ones are intended but not sent. Request i of second t is
// intended at t + i/Rate seconds; each one sent is also an op of the
// history (a success acknowledged, anything else failed), so the flow per
// second of wall time is there too.
func Measure(v *results.Variant, seconds int, faults []results.FaultWindow, streams ...Stream) {
	res := &load.Result{Duration: time.Duration(seconds) * time.Second}
	for si, st := range streams {
		sr := load.NewStreamResult(si, load.Stream{Name: st.Name, Method: st.Method, Path: "/items/{key}", Rate: float64(st.Rate)}, seconds)
		h := &sr.Health
		for t := range seconds {
			for i := range st.Rate {
				x := st.Request(t, i)
				sr.Record(t, x)
				h.Intended++
				if x.Unsent {
					h.Unsent++
					continue
				}
				if x.Late > 10*time.Millisecond {
					h.LateSends++
				}
				h.MaxLate = max(h.MaxLate, x.Late)
				intended := time.Duration(t)*time.Second + time.Duration(i)*time.Second/time.Duration(st.Rate)
				op := history.Op{InvokeNs: int64(intended + x.Late), CompleteNs: int64(intended + x.Latency), Stream: uint8(si), Outcome: history.Fail}
				if x.Success {
					op.Outcome = history.OK
				}
				res.Ops = append(res.Ops, op)
			}
		}
		h.Sent = h.Intended - h.Unsent
		h.Saturated = h.Unsent*100 > h.Intended || h.LateSends*100 > h.Sent
		res.ByStream = append(res.ByStream, sr)
	}
	slices.SortStableFunc(res.Ops, func(a, b history.Op) int { return cmp.Compare(a.InvokeNs, b.InvokeNs) })
	analyse.Variant(analyse.Measured{Load: res, Faults: faults, Metrics: v.Metrics}, v)
}

// Spread is a latency distribution for request i of n around typical: from
// half of it to one and a half times it, with the last request of each
// second at four times it, so that p99 and max differ from p50.
func Spread(typical time.Duration, i, n int) time.Duration {
	if i == n-1 {
		return 4 * typical
	}
	return typical/2 + time.Duration(int64(typical)*int64(i)/int64(n))
}
