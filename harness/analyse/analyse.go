// Package analyse is the pure step of a variant's pipeline: it turns what
// was measured (the load engine's per-second histograms and op history, the
// faults' actual windows, the scraped series, the store's final state) into
// the results schema. It does no I/O and starts nothing, so every number a
// report shows can be tested without Docker; resultstest builds its
// fixtures through it too.
//
//	load.Result ─┐
//	faults ──────┼─▶ Phases ─▶ per stream: buckets, phase summaries ─▶ results.Variant
//	metrics ─────┤            all streams: Total
//	final state ─┴─▶ history.Check (values, real-time order) ─▶ convergence
package analyse

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/reports/results"
)

// Measured is everything one variant's run measured.
type Measured struct {
	Load    *load.Result
	Faults  []results.FaultWindow // as the schedule applied them
	Metrics []results.Series      // scraped from the target
	// Final is the store's state after the settle phase, as the target's
	// API returned it; nil when there was none to read, and then there is
	// no history check.
	Final *history.Final
	// SeededKeys were written before the load (history.WithSeededKeys).
	SeededKeys int
	// Converged says the settle phase saw the store hold every acknowledged
	// write, at ConvergedAtS seconds since T0.
	Converged    bool
	ConvergedAtS float64
	// Counters are the final values of the counters the increment streams
	// (POST) touched, read from the store, by key index, and CountersFrom
	// where they were read; nil when they could not be, and CountersFrom
	// says why.
	Counters     map[uint32]int64
	CountersFrom string
}

// Variant fills what m measured into v: duration, phases, faults, streams,
// the all-streams totals, metrics and history. The name, settings and
// status are the caller's.
func Variant(m Measured, v *results.Variant) {
	v.Faults, v.Metrics = m.Faults, m.Metrics
	if m.Load == nil {
		return
	}
	v.DurationS = m.Load.Duration.Seconds()
	v.Phases = Phases(v.DurationS, m.Faults)
	v.Streams = make([]results.Stream, len(m.Load.ByStream))
	flows := flow(m.Load.Ops, len(m.Load.ByStream), m.Load.Seconds(), m.Load.Incomplete)
	for i, sr := range m.Load.ByStream {
		v.Streams[i] = stream(sr, v.Phases, v.DurationS)
		if flows != nil {
			addFlow(v.Streams[i].Seconds, flows[i])
			for t := range v.Streams[i].Seconds {
				v.Streams[i].Seconds[t].Attempts = sr.Attempts(t)
			}
			addAttempts(v.Streams[i].Phases, v.Phases, v.DurationS, v.Streams[i].Seconds)
		}
	}
	v.Faults = make([]results.FaultWindow, len(m.Faults)) // not m's: the recovery is filled in
	for i, w := range m.Faults {
		if w.ActiveFromS >= 0 { // a fault never applied has nothing to recover from
			r := Recovery(w, v.Streams)
			w.RecoveryS = &r
		}
		v.Faults[i] = w
	}
	v.Total = make([]results.PhaseSummary, len(v.Phases))
	for i, ph := range v.Phases {
		v.Total[i] = phaseSummary(m.Load.ByStream, ph, v.DurationS)
	}
	if flows != nil {
		var all []results.Bucket
		for _, s := range v.Streams {
			all = append(all, s.Seconds...)
		}
		addAttempts(v.Total, v.Phases, v.DurationS, all)
	}
	if m.Final != nil {
		names := make([]string, len(m.Load.ByStream))
		for i, sr := range m.Load.ByStream {
			names[i] = sr.Stream.Name
		}
		items, increments := history.SplitIncrements(m.Load.Ops, IncrementStreams(m.Load.ByStream))
		h := history.Check(items, *m.Final, history.WithStreamNames(names),
			history.WithSeededKeys(m.SeededKeys), history.WithIncomplete(m.Load.Incomplete))
		h.Converged = m.Converged
		h.ConvergenceS = Convergence(m.Converged, m.Faults, m.Metrics, m.ConvergedAtS)
		if increments != nil {
			inc := results.Increments{Sent: int64(len(increments)), Unread: m.CountersFrom}
			if m.Counters != nil {
				inc = history.CheckIncrements(increments, m.Counters)
				inc.FinalReader = m.CountersFrom
			}
			h.Increments = &inc
		}
		v.History = &h
	}
}

// IncrementStreams says, by stream index, which streams send increments.
func IncrementStreams(streams []*load.StreamResult) []bool {
	out := make([]bool, len(streams))
	for i, sr := range streams {
		out[i] = sr.Stream.IsIncrement()
	}
	return out
}

// Phases derives the named windows of a variant from its faults' actual
// active windows (planned ones when a fault never became active).
func Phases(duration float64, windows []results.FaultWindow) []results.Phase {
	ph := []results.Phase{{Name: "whole", StartS: 0, EndS: duration}}
	for _, w := range windows {
		from, to := w.ActiveFromS, w.ActiveToS
		if from < 0 {
			from = w.PlannedAtS
		}
		if to < 0 {
			to = w.PlannedAtS + w.PlannedForS
		}
		from, to = min(from, duration), min(to, duration)
		ph = append(ph,
			results.Phase{Name: "before " + w.Name, StartS: 0, EndS: from},
			results.Phase{Name: "during " + w.Name, StartS: from, EndS: to},
			results.Phase{Name: "after " + w.Name, StartS: to, EndS: duration},
		)
	}
	return ph
}

// Convergence is the time from the last heal until the store held every
// acknowledged write: the first scrape after the heal with an empty write
// queue, or, when the queue never emptied under load (or there is none),
// the moment the settle phase saw the store converge (at, seconds since
// T0). -1 when it never converged; 0 without faults.
func Convergence(converged bool, windows []results.FaultWindow, series []results.Series, at float64) float64 {
	if !converged {
		return -1
	}
	if len(windows) == 0 {
		return 0
	}
	heal := 0.0
	for _, w := range windows {
		to := w.ActiveToS
		if to < 0 {
			to = w.PlannedAtS + w.PlannedForS
		}
		heal = max(heal, to)
	}
	for _, s := range series {
		if s.Name != "queue_depth" {
			continue
		}
		for _, p := range s.Points {
			if p.T >= heal && p.V == 0 {
				return p.T - heal
			}
		}
	}
	return max(0, at-heal)
}

// stream is one stream's buckets, summaries and generator health.
func stream(sr *load.StreamResult, phases []results.Phase, duration float64) results.Stream {
	h := sr.Health
	s := results.Stream{
		Name:        sr.Stream.Name,
		Method:      sr.Stream.Method,
		Path:        sr.Stream.Path,
		Rate:        DescribeRate(sr.Stream),
		Seconds:     make([]results.Bucket, sr.Seconds()),
		Phases:      make([]results.PhaseSummary, len(phases)),
		Intended:    h.Intended,
		Sent:        h.Sent,
		Unsent:      h.Unsent,
		LateSends:   h.LateSends,
		Retries:     h.Retries,
		MaxLateMs:   ms(h.MaxLate),
		MaxWorkers:  h.PeakWorkers,
		WorkerLimit: h.WorkerLimit,
		Saturated:   h.Saturated,
	}
	if sr.Stream.Arrival == load.Poisson {
		s.Arrival = "poisson"
	}
	s.Conditional = sr.Stream.Conditional
	for t := range s.Seconds {
		s.Seconds[t] = bucket(t, sr.Second(t))
	}
	for i, ph := range phases {
		s.Phases[i] = phaseSummary([]*load.StreamResult{sr}, ph, duration)
	}
	return s
}

// phaseSummary merges the seconds a phase contains, of the given streams.
func phaseSummary(streams []*load.StreamResult, ph results.Phase, duration float64) results.PhaseSummary {
	from, to, span := Seconds(ph, duration)
	sum := load.Merge(streams, from, to)
	ps := results.PhaseSummary{
		Phase:          ph.Name,
		Requests:       sum.Requests,
		Successes:      sum.Successes,
		Latency:        latency(sum.Success),
		FailureLatency: failureLatency(sum.Failure),
		Codes:          codes(sum.Codes),
		Sources:        sources(sum.Sources),
		LateSends:      sum.Late,
		Unsent:         sum.Unsent,
		Overflow:       sum.Overflow,
		MaxLateMs:      ms(sum.MaxLate),
		BodyBytes:      sum.BodyBytes,
	}
	for _, q := range sum.Spectrum {
		ps.Spectrum = append(ps.Spectrum, results.Quantile{Percent: q.Percent, Ms: ms(q.Latency)})
	}
	if sum.Requests > 0 {
		ps.SuccessRatio = float64(sum.Successes) / float64(sum.Requests)
	}
	if span > 0 {
		ps.Throughput = float64(sum.Successes) / span
		ps.Rate = float64(sum.Requests) / span
	}
	return ps
}

// Seconds returns the seconds [from, to) a phase contains (results.Phase.
// Contains: the one rule) and how long they lasted: the last second of a
// run cut short counts for its real length.
func Seconds(ph results.Phase, duration float64) (from, to int, span float64) {
	n := int(math.Ceil(duration))
	from, to = -1, -1
	for t := range n {
		if !ph.Contains(t, duration) {
			continue
		}
		if from < 0 {
			from = t
		}
		to = t + 1
		span += min(float64(t+1), duration) - float64(t)
	}
	if from < 0 {
		return 0, 0, 0
	}
	return from, to, span
}

func bucket(t int, s load.Summary) results.Bucket {
	return results.Bucket{
		T:              t,
		Requests:       s.Requests,
		Successes:      s.Successes,
		Unsent:         s.Unsent,
		Codes:          codes(s.Codes),
		Errors:         errorClasses(s.Errors),
		LateSends:      s.Late,
		MaxLateMs:      ms(s.MaxLate),
		Overflow:       s.Overflow,
		Latency:        latency(s.Success),
		FailureLatency: failureLatency(s.Failure),
		Sources:        sources(s.Sources),
		Heat:           s.Heat,
		BodyBytes:      s.BodyBytes,
	}
}

func latency(l load.Latency) results.Latency {
	return results.Latency{P50: ms(l.P50), P90: ms(l.P90), P99: ms(l.P99), P999: ms(l.P999), Max: ms(l.Max), Mean: ms(l.Mean)}
}

// failureLatency is nil when nothing failed, so a clean second stays small.
func failureLatency(l load.Latency) *results.Latency {
	if l.Count == 0 {
		return nil
	}
	r := latency(l)
	return &r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func codes(m map[uint16]int64) map[string]int64 {
	return byName(m, func(c uint16) string { return strconv.Itoa(int(c)) })
}

func errorClasses(m map[load.ErrorClass]int64) map[string]int64 {
	return byName(m, load.ErrorClass.String)
}

func sources(m map[history.Source]int64) map[string]int64 {
	return byName(m, history.Source.String)
}

// byName re-keys counts by name for the schema; nil when empty.
func byName[K comparable](m map[K]int64, name func(K) string) map[string]int64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]int64, len(m))
	for k, n := range m {
		out[name(k)] = n
	}
	return out
}

// DescribeRate renders a stream's rate as a scenario would write it:
// "400/s", or "ramp 50/s→400/s" with one arrow per stage.
func DescribeRate(s load.Stream) string {
	var b strings.Builder
	if len(s.Stages) > 0 {
		b.WriteString("ramp ")
	}
	b.WriteString(perSecond(s.Rate))
	for _, st := range s.Stages {
		b.WriteString("→")
		b.WriteString(perSecond(st.Target))
	}
	return b.String()
}

// perSecond renders a rate: "400/s", or per minute when below one a second.
func perSecond(r float64) string {
	if r > 0 && r < 1 {
		return strconv.FormatFloat(r*60, 'g', 4, 64) + "/m"
	}
	return strconv.FormatFloat(r, 'g', 6, 64) + "/s"
}

// Total summarises every stream of r together over phase ph, as a
// variant's Total does; for benchmarks and tools that drive the engine
// without the harness.
func Total(r *load.Result, ph results.Phase) results.PhaseSummary {
	return phaseSummary(r.ByStream, ph, r.Duration.Seconds())
}
