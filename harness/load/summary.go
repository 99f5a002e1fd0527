package load

import (
	"strings"
	"time"

	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// Streams returns every stream's measurements in the results schema: one
// bucket per second of load, and one summary per phase in the order given.
func (r *Result) Streams(phases []results.Phase) []results.Stream {
	out := make([]results.Stream, len(r.ByStream))
	for i, sr := range r.ByStream {
		s := results.Stream{
			Name:        sr.Stream.Name,
			Method:      sr.Stream.Method,
			Path:        sr.Stream.Path,
			Rate:        DescribeRate(sr.Stream),
			Seconds:     make([]results.Bucket, len(sr.seconds)),
			Phases:      make([]results.PhaseSummary, len(phases)),
			Intended:    sr.Health.Intended,
			Sent:        sr.Health.Sent,
			LateSends:   sr.Health.LateSends,
			MaxLateMs:   float64(sr.Health.MaxLate) / float64(time.Millisecond),
			MaxWorkers:  sr.Health.PeakWorkers,
			WorkerLimit: sr.Health.WorkerLimit,
			Saturated:   sr.Health.Saturated,
		}
		for t := range sr.seconds {
			s.Seconds[t] = sr.seconds[t].bucket(t)
		}
		for j, ph := range phases {
			s.Phases[j] = r.summarize([]*StreamResult{sr}, ph)
		}
		out[i] = s
	}
	return out
}

// Summary aggregates one stream, or all streams together when stream is
// "", over a phase. Percentiles come from the merged histograms of the
// phase's seconds, so they are exact, not averages of percentiles. ok is
// false when no stream has that name or the phase covers no second of the
// run; the summary then has no requests.
func (r *Result) Summary(stream string, phase results.Phase) (results.PhaseSummary, bool) {
	var picked []*StreamResult
	for _, sr := range r.ByStream {
		if stream == "" || sr.Stream.Name == stream {
			picked = append(picked, sr)
		}
	}
	if len(picked) == 0 {
		return results.PhaseSummary{Phase: phase.Name}, false
	}
	if _, _, span := r.phaseSeconds(phase); span == 0 {
		return results.PhaseSummary{Phase: phase.Name}, false
	}
	return r.summarize(picked, phase), true
}

func (r *Result) summarize(streams []*StreamResult, phase results.Phase) results.PhaseSummary {
	from, to, span := r.phaseSeconds(phase)
	agg := newAggregate()
	for _, sr := range streams {
		for t := from; t < to && t < len(sr.seconds); t++ {
			agg.add(&sr.seconds[t])
		}
	}
	return agg.summary(phase.Name, span)
}

// phaseSeconds returns the seconds [from, to) that belong to a phase and how
// long they lasted. A second belongs to the phase whose window holds its
// midpoint, so a fault applied at 20.03 s owns seconds 20, 21, ...; the last
// second of a cancelled run may be partial and counts for its real length.
func (r *Result) phaseSeconds(phase results.Phase) (from, to int, span float64) {
	d := r.Duration.Seconds()
	n := r.seconds()
	from, to = -1, -1
	for t := 0; t < n; t++ {
		end := min(float64(t+1), d)
		mid := (float64(t) + end) / 2
		if phase.StartS <= mid && mid < phase.EndS {
			if from < 0 {
				from = t
			}
			to = t + 1
			span += end - float64(t)
		}
	}
	if from < 0 {
		return 0, 0, 0
	}
	return from, to, span
}

// seconds is the number of per-second buckets of the run.
func (r *Result) seconds() int {
	n := 0
	for _, sr := range r.ByStream {
		n = max(n, len(sr.seconds))
	}
	return n
}

// DescribeRate renders a stream's rate as a scenario would write it:
// "400/s", or "ramp 50/s→400/s" with one arrow per stage.
func DescribeRate(s scenarios.Stream) string {
	if len(s.Stages) == 0 {
		return s.Rate.String()
	}
	var b strings.Builder
	b.WriteString("ramp ")
	b.WriteString(s.Rate.String())
	for _, st := range s.Stages {
		b.WriteString("→")
		b.WriteString(st.Target.String())
	}
	return b.String()
}
