package analyse

import (
	"slices"
	"time"

	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/reports/results"
)

// flowSecond is what crossed the wire in one second of wall time: the
// load engine's buckets charge every request to the second it was
// intended for (so a backlog belongs to the fault that caused it), which
// hides when requests really left and when answers came back. The op
// history keeps both times, so the flow is read from it.
type flowSecond struct {
	sent, achieved int64
	busyNs         int64 // request-nanoseconds in flight: mean in-flight × 1 s
	maxInFlight    int64
}

// flow reads, for each stream, per second of wall time since T0: requests
// that left, successful answers that arrived, and requests in flight (the
// mean over the second, by Little's law busy time / 1 s, and the peak).
// Answers after the last second (the run stopped with requests in flight)
// are not counted. nil when the history misses requests (an incomplete
// history would draw a drop that never happened).
func flow(ops []history.Op, streams, seconds int, incomplete string) [][]flowSecond {
	if incomplete != "" || seconds <= 0 {
		return nil
	}
	out := make([][]flowSecond, streams)
	for i := range out {
		out[i] = make([]flowSecond, seconds)
	}
	// Ops are in invoke order; each stream's completions are sorted apart
	// to sweep both edges of every request in time order.
	completes := make([][]int64, streams)
	for _, op := range ops {
		s := int(op.Stream)
		if s >= streams {
			continue
		}
		fs := out[s]
		if t := secondAt(op.InvokeNs); t < seconds {
			fs[t].sent++
		}
		if t := secondAt(op.CompleteNs); t < seconds && op.Outcome == history.OK {
			fs[t].achieved++
		}
		addBusy(fs, op.InvokeNs, op.CompleteNs)
		completes[s] = append(completes[s], op.CompleteNs)
	}
	for s := range out {
		slices.Sort(completes[s])
		peakInFlight(out[s], ops, s, completes[s])
	}
	return out
}

func secondAt(ns int64) int { return int(max(ns, 0) / int64(time.Second)) }

// addBusy adds the part of [from, to) in each second to that second's busy time.
func addBusy(fs []flowSecond, from, to int64) {
	const sec = int64(time.Second)
	from = max(from, 0)
	for t := secondAt(from); t < len(fs) && from < to; t++ {
		end := min(to, int64(t+1)*sec)
		fs[t].busyNs += end - from
		from = end
	}
}

// peakInFlight sweeps stream s's sends (ops, in invoke order) and its
// sorted completions, and keeps per second the most requests that were in
// flight at once; a second that starts with requests in flight counts them.
func peakInFlight(fs []flowSecond, ops []history.Op, s int, completes []int64) {
	var inFlight int64
	t := 0 // the second the sweep is in
	advance := func(ns int64) {
		for next := secondAt(ns); t < next && t < len(fs); {
			t++
			if t < len(fs) {
				fs[t].maxInFlight = max(fs[t].maxInFlight, inFlight)
			}
		}
	}
	c := 0
	for _, op := range ops {
		if int(op.Stream) != s {
			continue
		}
		for ; c < len(completes) && completes[c] <= op.InvokeNs; c++ {
			advance(completes[c] - 1) // in flight until just before it was answered
			inFlight--
		}
		advance(op.InvokeNs)
		inFlight++
		if t < len(fs) {
			fs[t].maxInFlight = max(fs[t].maxInFlight, inFlight)
		}
	}
	for ; c < len(completes); c++ { // the seconds the last answers span
		advance(completes[c] - 1)
		inFlight--
	}
}

// addAttempts gives each phase summary the attempts and sends of the
// seconds of wall time it contains (buckets of one stream, or of all), and
// their ratio, the amplification.
func addAttempts(sums []results.PhaseSummary, phases []results.Phase, duration float64, buckets []results.Bucket) {
	for i, ph := range phases {
		var sent int64
		for _, b := range buckets {
			if ph.Contains(b.T, duration) {
				sums[i].Attempts += b.Attempts
				sent += b.Sent
			}
		}
		if sent > 0 {
			sums[i].Amplification = float64(sums[i].Attempts) / float64(sent)
		}
	}
}

// addFlow fills the flow of one stream into its buckets.
func addFlow(buckets []results.Bucket, fs []flowSecond) {
	for t := range min(len(buckets), len(fs)) {
		b := &buckets[t]
		b.Sent, b.Achieved = fs[t].sent, fs[t].achieved
		b.InFlight = float64(fs[t].busyNs) / float64(time.Second)
		b.MaxInFlight = fs[t].maxInFlight
	}
}
