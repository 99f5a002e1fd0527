package load

import (
	"time"

	"github.com/loadlab/loadlab/harness/history"
)

// Result is what a run measured. It is complete after a normal run and
// partial, but consistent, after a cancelled one.
type Result struct {
	T0       time.Time       // load start; every offset is from here
	Duration time.Duration   // load actually run: the planned duration, or until cancelled
	ByStream []*StreamResult // in the order of the streams given to Run
	Ops      []history.Op    // one per request sent, ordered by InvokeNs
	// Incomplete says why Ops misses some requests (empty: complete).
	Incomplete string
}

// StreamResult is one stream's measurements: one bucket per second since
// T0, holding the hits intended in that second.
type StreamResult struct {
	Index   int
	Stream  Stream
	Health  Health
	seconds []second
	// attempts are the requests put on the wire in each second of wall
	// time since T0, retries included (seconds, unlike the buckets, of
	// when they left, not of when their hit was intended).
	attempts []int64
}

// Attempts returns the requests put on the wire in second t of wall time,
// retries included; 0 outside the run.
func (sr *StreamResult) Attempts(t int) int64 {
	if t < 0 || t >= len(sr.attempts) {
		return 0
	}
	return sr.attempts[t]
}

// Health is how well the generator kept the stream's schedule. A saturated
// generator measures itself, not the target.
type Health struct {
	Intended    int64         // hits the schedule placed before the end of the run
	Sent        int64         // requests sent (each has a result and an op)
	Unsent      int64         // Intended − Sent: due, but dropped when the run ended
	LateSends   int64         // sent more than lateThreshold (10 ms) after their intended time
	Retries     int64         // requests sent again by the stream's retry policy (not hits: a hit's retries are part of it)
	MaxLate     time.Duration // worst lateness
	PeakWorkers int           // concurrent requests at peak
	WorkerLimit int           // the cap on concurrent requests
	CapHit      bool          // every worker was busy at some point
	Saturated   bool          // the cap was hit, or over 1% of hits were late or never sent
}

// NewStreamResult returns an empty result of stream st over the given
// number of seconds. The engine builds one per stream; tests and synthetic
// fixtures build their own and Record into it.
func NewStreamResult(index int, st Stream, seconds int) *StreamResult {
	return &StreamResult{Index: index, Stream: st, seconds: make([]second, max(seconds, 1))}
}

// Record adds one hit to second t (since T0). A t outside the run, such as
// a hit dispatched while the run was being stopped, goes to the nearest
// second rather than being lost.
func (sr *StreamResult) Record(t int, x Sample) {
	sr.seconds[min(max(t, 0), len(sr.seconds)-1)].record(x)
}

// trim folds the seconds from n on into second n-1.
func (sr *StreamResult) trim(n int) {
	n = min(max(n, 1), len(sr.seconds))
	for i := n; i < len(sr.seconds); i++ {
		sr.seconds[n-1].absorb(&sr.seconds[i])
	}
	sr.seconds = sr.seconds[:n:n]
}

// Seconds is the number of per-second buckets.
func (sr *StreamResult) Seconds() int { return len(sr.seconds) }

// Second summarises second t.
func (sr *StreamResult) Second(t int) Summary { return sr.seconds[t].summary() }

// Summary merges seconds [from, to) of the stream. Percentiles come from
// the merged histograms, so they are exact, not averages of percentiles.
func (sr *StreamResult) Summary(from, to int) Summary {
	return Merge([]*StreamResult{sr}, from, to)
}

// Merge summarises seconds [from, to) of several streams together.
func Merge(streams []*StreamResult, from, to int) Summary {
	agg := newAggregate()
	for _, sr := range streams {
		for t := max(from, 0); t < to && t < len(sr.seconds); t++ {
			agg.add(&sr.seconds[t])
		}
	}
	return agg.summary()
}

// Seconds is the number of per-second buckets of the run.
func (r *Result) Seconds() int {
	n := 0
	for _, sr := range r.ByStream {
		n = max(n, len(sr.seconds))
	}
	return n
}
