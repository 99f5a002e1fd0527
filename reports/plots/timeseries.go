package plots

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/loadlab/loadlab/reports/results"
)

const timeAxis = "time since load start (s)"

// A bucket covers the second [T, T+1); its point is drawn at the middle of
// that second so it lines up honestly with the fault bands.
const bucketMid = 0.5

// segments cuts a per-second series into runs of consecutive valid seconds,
// so a second without requests shows as a gap instead of a drop to zero.
func segments(buckets []results.Bucket, value func(results.Bucket) (float64, bool)) []plotter.XYs {
	var out []plotter.XYs
	var cur plotter.XYs
	for _, b := range buckets {
		y, ok := value(b)
		if !ok || math.IsNaN(y) || math.IsInf(y, 0) {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, plotter.XY{X: float64(b.T) + bucketMid, Y: y})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// addLines adds one line per segment with the same style and registers the
// first one in the legend under name (a legend entry even when there is no
// data, so colours stay comparable across charts).
func (s *spec) addLines(name string, segs []plotter.XYs, sty draw.LineStyle) {
	for _, xys := range segs {
		s.plot.Add(line{&plotter.Line{XYs: xys, LineStyle: sty}})
	}
	s.addLegend(name, &plotter.Line{LineStyle: sty})
}

// addLine adds one line to p, without a legend entry.
func addLine(p *plot.Plot, xys plotter.XYs, sty draw.LineStyle) {
	p.Add(line{&plotter.Line{XYs: xys, LineStyle: sty}})
}

// line is a plotter.Line without glyph boxes: the plot asks for a box per
// point several times per draw only to pad by half a line width, which
// costs more than drawing the line.
type line struct{ l *plotter.Line }

func (l line) Plot(c draw.Canvas, p *plot.Plot) { l.l.Plot(c, p) }

func (l line) DataRange() (xmin, xmax, ymin, ymax float64) { return l.l.DataRange() }

// timeEnd is the right end of the time axis: the longest load of any
// variant, or the last bucket, or the end of a planned fault.
func timeEnd(r *results.Results) float64 {
	end := 1.0
	for _, v := range r.Variants {
		end = math.Max(end, v.DurationS)
		for _, st := range v.Streams {
			if n := len(st.Seconds); n > 0 {
				end = math.Max(end, float64(st.Seconds[n-1].T+1))
			}
		}
		for _, f := range v.Faults {
			end = math.Max(end, math.Max(f.ActiveToS, f.PlannedAtS+f.PlannedForS))
		}
	}
	return end
}

// streamNames lists stream names in order of first appearance.
func streamNames(r *results.Results) []string {
	var names []string
	seen := map[string]bool{}
	for _, v := range r.Variants {
		for _, st := range v.Streams {
			if !seen[st.Name] {
				seen[st.Name] = true
				names = append(names, st.Name)
			}
		}
	}
	return names
}

func findStream(v *results.Variant, name string) *results.Stream {
	for i := range v.Streams {
		if v.Streams[i].Name == name {
			return &v.Streams[i]
		}
	}
	return nil
}

func newTimeSpec(r *results.Results, name, kind, stream, title, yLabel string, end float64) *spec {
	s := newSpec(name, kind, stream, title, timeAxis, yLabel)
	s.plot.Add(newFaultBands(r.Variants, end))
	s.plot.X.Min, s.plot.X.Max = 0, end
	return s
}

// percentile is one latency percentile drawn on the latency charts.
type percentile struct {
	name string
	get  func(results.Latency) float64
}

var latencyPercentiles = []percentile{
	{"p50", func(l results.Latency) float64 { return l.P50 }},
	{"p99", func(l results.Latency) float64 { return l.P99 }},
}

// latencyChart draws p50 and p99 per second of one stream, variants
// overlaid. The y axis turns logarithmic when the values span more than a
// factor of logSpan, as they do when a fault turns 2 ms into 2 s.
func latencyChart(r *results.Results, stream string, end float64) *spec {
	const logSpan = 20
	s := newTimeSpec(r, "latency-"+fileName(stream), "latency", stream,
		fmt.Sprintf("Latency of %s per second (p50 solid, p99 dashed)", stream), "latency (ms)", end)

	minPos, maxV := math.Inf(1), 0.0
	for i := range r.Variants {
		st := findStream(&r.Variants[i], stream)
		if st == nil {
			continue
		}
		for _, b := range st.Seconds {
			if b.Requests == 0 {
				continue
			}
			for _, pc := range latencyPercentiles {
				y := pc.get(b.Latency)
				if y > 0 && y < minPos {
					minPos = y
				}
				maxV = math.Max(maxV, y)
			}
		}
	}
	logScale := maxV > 0 && maxV/minPos >= logSpan

	for i := range r.Variants {
		v := &r.Variants[i]
		st := findStream(v, stream)
		if st == nil {
			continue
		}
		for k, pc := range latencyPercentiles {
			segs := segments(st.Seconds, func(b results.Bucket) (float64, bool) {
				y := pc.get(b.Latency)
				return y, b.Requests > 0 && (!logScale || y > 0)
			})
			s.addLines(v.Name+" "+pc.name, segs, lineStyle(i, k, vg.Points(1.2)))
		}
	}

	switch {
	case logScale:
		s.plot.Y.Scale = plot.LogScale{}
		s.plot.Y.Tick.Marker = logTicks{}
		s.plot.Y.Min = math.Pow(10, math.Floor(math.Log10(minPos)))
		s.plot.Y.Max = maxV * 2 // headroom for the fault labels
	case maxV > 0:
		s.plot.Y.Min, s.plot.Y.Max = 0, maxV*1.15
	default:
		s.plot.Y.Min, s.plot.Y.Max = 0, 1
	}
	return s
}

// throughputChart draws, per second of one stream, the requests offered
// (the schedule), sent and achieved (successful answers, as they arrived),
// variants overlaid, with the requests in flight in a panel below: the
// generator's saturation (sent falls below offered, in flight reaches the
// worker limit) and the target's knee (achieved flattens while in flight
// climbs) in one picture. A file from before the flow was recorded gets
// successes and requests by intended second, without the panel.
func throughputChart(r *results.Results, stream string, end float64) *spec {
	// Files from before the flow was recorded have no sends by wall time.
	if !anySecond(r, stream, func(b results.Bucket) bool { return b.Sent > 0 }) {
		return intendedThroughputChart(r, stream, end)
	}
	title := fmt.Sprintf("Throughput of %s: offered (dotted), sent (dashed), achieved (solid)", stream)
	// Only with retries is the attempts line more than the sent line again.
	retried := anySecond(r, stream, func(b results.Bucket) bool { return b.Attempts > b.Sent })
	if retried {
		title = fmt.Sprintf("Throughput of %s: offered (dotted), sent (dashed), attempts with retries (dash-dot), achieved (solid)", stream)
	}
	s := newTimeSpec(r, "throughput-"+fileName(stream), "throughput", stream, title, "requests/s", end)
	s.plot.X.Label.Text = ""
	s.lower = newPlot("", timeAxis, "")
	s.lower.Add(newFaultBands(r.Variants, end))
	s.lower.X.Min, s.lower.X.Max = 0, end
	maxV, maxIn, limit := 0.0, 0.0, 0
	for i := range r.Variants {
		v := &r.Variants[i]
		st := findStream(v, stream)
		if st == nil {
			continue
		}
		per := func(f func(results.Bucket) float64) []plotter.XYs {
			return segments(st.Seconds, func(b results.Bucket) (float64, bool) { return f(b), true })
		}
		s.addLines(v.Name+" achieved/s", per(func(b results.Bucket) float64 { return float64(b.Achieved) }), lineStyle(i, 0, vg.Points(1.4)))
		s.addLines(v.Name+" sent/s", per(func(b results.Bucket) float64 { return float64(b.Sent) }), lineStyle(i, 1, vg.Points(0.9)))
		s.addLines(v.Name+" offered/s", per(func(b results.Bucket) float64 { return float64(b.Requests) }), lineStyle(i, 2, vg.Points(0.9)))
		if retried {
			// What the target got: a retry storm is this line far above sent.
			attempts := lineStyle(i, 0, vg.Points(1.1))
			attempts.Dashes = []vg.Length{vg.Points(7), vg.Points(2), vg.Points(1.5), vg.Points(2)}
			s.addLines(v.Name+" attempts/s", per(func(b results.Bucket) float64 { return float64(b.Attempts) }), attempts)
		}
		for _, seg := range per(func(b results.Bucket) float64 { return b.InFlight }) {
			addLine(s.lower, seg, lineStyle(i, 0, vg.Points(1.2)))
		}
		for _, seg := range per(func(b results.Bucket) float64 { return float64(b.MaxInFlight) }) {
			addLine(s.lower, seg, lineStyle(i, 2, vg.Points(0.8)))
		}
		for _, b := range st.Seconds {
			maxV = math.Max(maxV, float64(max(b.Requests, b.Sent, b.Achieved, b.Attempts)))
			maxIn = math.Max(maxIn, float64(b.MaxInFlight))
		}
		limit = max(limit, st.WorkerLimit)
	}
	s.plot.Y.Min, s.plot.Y.Max = 0, math.Max(1, maxV*1.15)
	s.lower.Y.Min, s.lower.Y.Max = 0, math.Max(1, maxIn*1.15)
	// A long rotated label would pad the short panel away: the styles are
	// spelled out in the panel's title.
	s.lower.Y.Label.Text = "in flight"
	s.lower.Title.Text = "requests in flight per second: mean (solid), peak (dotted)"
	s.lower.Title.TextStyle.Font.Size = vg.Points(9)
	if limit > 0 && float64(limit) <= maxIn*2 {
		// The generator's cap, drawn only when in flight came near it.
		addLine(s.lower, plotter.XYs{{X: 0, Y: float64(limit)}, {X: end, Y: float64(limit)}},
			draw.LineStyle{Color: color.Gray{Y: 0x60}, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(1), vg.Points(2)}})
		s.lower.Y.Max = math.Max(s.lower.Y.Max, float64(limit)*1.1)
	}
	return s
}

// anySecond reports whether some second of the stream, in any variant,
// satisfies pred.
func anySecond(r *results.Results, stream string, pred func(results.Bucket) bool) bool {
	for i := range r.Variants {
		if st := findStream(&r.Variants[i], stream); st != nil && slices.ContainsFunc(st.Seconds, pred) {
			return true
		}
	}
	return false
}

// intendedThroughputChart draws successful responses per second of one
// stream (solid) against requests intended per second (dotted), both by
// intended second, variants overlaid.
func intendedThroughputChart(r *results.Results, stream string, end float64) *spec {
	s := newTimeSpec(r, "throughput-"+fileName(stream), "throughput", stream,
		fmt.Sprintf("Throughput of %s (successes solid, sent dotted)", stream), "requests/s", end)
	maxV := 0.0
	for i := range r.Variants {
		v := &r.Variants[i]
		st := findStream(v, stream)
		if st == nil {
			continue
		}
		ok := segments(st.Seconds, func(b results.Bucket) (float64, bool) { return float64(b.Successes), true })
		sent := segments(st.Seconds, func(b results.Bucket) (float64, bool) { return float64(b.Requests), true })
		for _, b := range st.Seconds {
			maxV = math.Max(maxV, float64(max(b.Requests, b.Successes)))
		}
		s.addLines(v.Name+" ok/s", ok, lineStyle(i, 0, vg.Points(1.2)))
		s.addLines(v.Name+" sent/s", sent, lineStyle(i, 2, vg.Points(0.8)))
	}
	s.plot.Y.Min, s.plot.Y.Max = 0, math.Max(1, maxV*1.15)
	return s
}

// bytesChart draws the response body bytes received per second of one
// stream (for the requests intended in that second), variants overlaid:
// what revalidating with ETags saves on the wire. Only for streams that
// revalidate (Stream.Conditional) in some variant; nil otherwise.
func bytesChart(r *results.Results, stream string, end float64) *spec {
	conditional := false
	for i := range r.Variants {
		if st := findStream(&r.Variants[i], stream); st != nil && st.Conditional {
			conditional = true
		}
	}
	if !conditional {
		return nil
	}
	s := newTimeSpec(r, "bytes-"+fileName(stream), "throughput", stream,
		fmt.Sprintf("Response body bytes received per second, %s", stream), "KiB/s", end)
	maxV := 0.0
	for i := range r.Variants {
		st := findStream(&r.Variants[i], stream)
		if st == nil {
			continue
		}
		segs := segments(st.Seconds, func(b results.Bucket) (float64, bool) { return float64(b.BodyBytes) / 1024, true })
		for _, b := range st.Seconds {
			maxV = math.Max(maxV, float64(b.BodyBytes)/1024)
		}
		s.addLines(r.Variants[i].Name, segs, lineStyle(i, 0, vg.Points(1.2)))
	}
	s.plot.Y.Min, s.plot.Y.Max = 0, math.Max(1, maxV*1.15)
	return s
}

// successChart draws the success ratio per second of one stream, variants
// overlaid; seconds without requests are gaps.
func successChart(r *results.Results, stream string, end float64) *spec {
	s := newTimeSpec(r, "success-"+fileName(stream), "success", stream,
		fmt.Sprintf("Success ratio of %s per second", stream), "ratio (successes / requests)", end)
	for i := range r.Variants {
		v := &r.Variants[i]
		st := findStream(v, stream)
		if st == nil {
			continue
		}
		segs := segments(st.Seconds, func(b results.Bucket) (float64, bool) {
			if b.Requests == 0 {
				return 0, false
			}
			return float64(b.Successes) / float64(b.Requests), true
		})
		s.addLines(v.Name, segs, lineStyle(i, 0, vg.Points(1.2)))
	}
	s.plot.Y.Min, s.plot.Y.Max = 0, 1.12 // headroom for the fault labels
	return s
}

// metricNames lists scraped series names in order of first appearance.
func metricNames(r *results.Results) []string {
	var names []string
	seen := map[string]bool{}
	for _, v := range r.Variants {
		for _, m := range v.Metrics {
			if !seen[m.Name] && len(m.Points) > 0 {
				seen[m.Name] = true
				names = append(names, m.Name)
			}
		}
	}
	return names
}

// metricChart draws one scraped series, variants overlaid.
func metricChart(r *results.Results, name string, end float64) *spec {
	unit := ""
	for _, v := range r.Variants {
		for _, m := range v.Metrics {
			if m.Name == name && m.Unit != "" && unit == "" {
				unit = m.Unit
			}
		}
	}
	s := newTimeSpec(r, "metric-"+fileName(name), "metric", "", name, unitLabel(name, unit), end)
	minV, maxV := 0.0, 0.0
	for i := range r.Variants {
		v := &r.Variants[i]
		var segs []plotter.XYs
		var cur plotter.XYs
		for _, m := range v.Metrics {
			if m.Name != name {
				continue
			}
			for _, pt := range m.Points {
				if math.IsNaN(pt.V) || math.IsInf(pt.V, 0) || math.IsNaN(pt.T) {
					if len(cur) > 0 {
						segs, cur = append(segs, cur), nil
					}
					continue
				}
				minV, maxV = math.Min(minV, pt.V), math.Max(maxV, pt.V)
				cur = append(cur, plotter.XY{X: pt.T, Y: pt.V})
			}
		}
		if len(cur) > 0 {
			segs = append(segs, cur)
		}
		if len(segs) == 0 {
			continue
		}
		s.addLines(v.Name, segs, lineStyle(i, 0, vg.Points(1.2)))
	}
	if unit == "ratio" && maxV <= 1 {
		maxV = 1
	}
	if maxV == minV {
		maxV = minV + 1
	}
	s.plot.Y.Min, s.plot.Y.Max = minV, maxV+(maxV-minV)*0.05
	return s
}
