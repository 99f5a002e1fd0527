package plots

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/loadlab/loadlab/reports/results"
)

// wholePhase is the phase every variant has: the whole load.
const wholePhase = "whole"

func wholeSummary(st *results.Stream) *results.PhaseSummary {
	for i := range st.Phases {
		if st.Phases[i].Phase == wholePhase {
			return &st.Phases[i]
		}
	}
	return nil
}

// groupedBars adds one bar chart per variant, side by side in each
// category, values[variant][category].
func (s *spec) groupedBars(r *results.Results, categories int, values [][]float64) {
	dataWidth := chartWidth - legendColumn - 1.2*vg.Inch
	group := dataWidth / vg.Length(max(categories, 1)) * 0.8
	barW := group / vg.Length(max(len(values), 1))
	for i, vals := range values {
		bc, err := plotter.NewBarChart(plotter.Values(vals), barW)
		if err != nil { // only on NaN or Inf, which finite() rules out
			continue
		}
		bc.Color = variantColor(i)
		bc.LineStyle.Width = 0
		bc.Offset = (vg.Length(i) - vg.Length(len(values)-1)/2) * barW
		s.plot.Add(bc)
		s.addLegend(r.Variants[i].Name, bc)
	}
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// summaryLatencyChart compares p50 and p99 over the whole run: one group
// of bars per stream and percentile, one bar per variant.
func summaryLatencyChart(r *results.Results, streams []string) *spec {
	s := newSpec("summary-latency", "summary", "", "Latency over the whole run, by variant", "stream, percentile", "latency (ms)")
	var labels []string
	for _, name := range streams {
		for _, pc := range latencyPercentiles {
			labels = append(labels, name+" "+pc.name)
		}
	}
	values := make([][]float64, len(r.Variants))
	maxV := 0.0
	for i := range r.Variants {
		for _, name := range streams {
			var lat results.Latency
			if st := findStream(&r.Variants[i], name); st != nil {
				if ps := wholeSummary(st); ps != nil {
					lat = ps.Latency
				}
			}
			for _, pc := range latencyPercentiles {
				y := finite(pc.get(lat))
				maxV = math.Max(maxV, y)
				values[i] = append(values[i], y)
			}
		}
	}
	s.groupedBars(r, len(labels), values)
	s.plot.NominalX(labels...)
	s.plot.Y.Min, s.plot.Y.Max = 0, math.Max(1, maxV*1.1)
	return s
}

// summarySuccessChart compares the success ratio over the whole run: one
// group per stream, one bar per variant.
func summarySuccessChart(r *results.Results, streams []string) *spec {
	s := newSpec("summary-success", "summary", "", "Success ratio over the whole run, by variant", "stream", "ratio (successes / requests)")
	values := make([][]float64, len(r.Variants))
	for i := range r.Variants {
		for _, name := range streams {
			y := 0.0
			if st := findStream(&r.Variants[i], name); st != nil {
				if ps := wholeSummary(st); ps != nil {
					y = finite(ps.SuccessRatio)
				}
			}
			values[i] = append(values[i], y)
		}
	}
	s.groupedBars(r, len(streams), values)
	s.plot.NominalX(streams...)
	s.plot.Y.Min, s.plot.Y.Max = 0, 1.05
	return s
}

// summaryIncrementsChart puts each variant's lost updates (acknowledged
// increments missing from the final counters, as a share of the
// acknowledged) beside what its increments cost: every bar is labelled with
// the count, the p50, p99 and throughput of the increment stream over the
// whole run. nil when no variant's counters were checked.
func summaryIncrementsChart(r *results.Results) *spec {
	bars := make([]labelledBar, len(r.Variants))
	for i := range r.Variants {
		v := &r.Variants[i]
		bars[i].name = v.Name
		if v.History == nil || v.History.Increments == nil || v.History.Increments.Unread != "" {
			continue
		}
		inc := v.History.Increments
		bars[i].value, bars[i].ok = 100*finite(inc.LostRatio), true
		bars[i].label = fmt.Sprintf("%d lost", inc.Lost)
		if lat, rps, ok := incrementCost(v); ok {
			bars[i].label += fmt.Sprintf("\np50 %s ms, p99 %s ms\n%.0f ok/s", trimFloat(lat.P50), trimFloat(lat.P99), rps)
		}
	}
	return labelledBars("summary-increments", "Lost updates and what each design costs (whole run)",
		"lost updates (% of acknowledged increments)", bars)
}

// summaryLostWritesChart shows each variant's lost writes (acknowledged
// writes the final state does not hold, as a share of the acknowledged),
// each bar labelled with the counts and how long after its first fault
// ended every stream answered again. nil unless a variant lost a write or a check judges lost writes:
// a lesson about durability reads at a glance, and a run that lost nothing
// is not given a chart of zeros.
func summaryLostWritesChart(r *results.Results) *spec {
	bars := make([]labelledBar, len(r.Variants))
	show := false
	for i := range r.Variants {
		v := &r.Variants[i]
		bars[i].name = v.Name
		for _, c := range v.Checks {
			show = show || c.Metric == "lost_writes"
		}
		h := v.History
		if h == nil || h.Incomplete != "" || h.AckedWrites == 0 {
			continue
		}
		show = show || h.LostWrites > 0
		bars[i].value, bars[i].ok = 100*float64(h.LostWrites)/float64(h.AckedWrites), true
		bars[i].label = fmt.Sprintf("%d lost\nof %d acknowledged", h.LostWrites, h.AckedWrites)
		for _, f := range v.Faults {
			if f.RecoveryS != nil && *f.RecoveryS > 0 {
				bars[i].label += fmt.Sprintf("\nback in %.1f s", *f.RecoveryS)
				break
			}
		}
	}
	if !show {
		return nil
	}
	return labelledBars("summary-lost-writes", "Acknowledged writes lost, by variant (whole run)",
		"lost writes (% of acknowledged writes)", bars)
}

// labelledBar is one variant's bar of a labelledBars chart; ok is false
// when the variant has nothing to show (no bar, its name stays on the axis).
type labelledBar struct {
	name, label string
	value       float64
	ok          bool
}

// labelledBars draws one bar per variant, each labelled above; nil when no
// variant has a bar.
func labelledBars(name, title, yLabel string, bars []labelledBar) *spec {
	s := newSpec(name, "summary", "", title, "variant", yLabel)
	shown, maxV := false, 0.0
	names := make([]string, len(bars))
	var labels plotter.XYLabels
	for i, b := range bars {
		names[i] = b.name
		if !b.ok {
			continue
		}
		bar, err := plotter.NewBarChart(plotter.Values{finite(b.value)}, vg.Points(36))
		if err != nil {
			continue
		}
		shown = true
		bar.XMin, bar.Color, bar.LineStyle.Width = float64(i), variantColor(i), 0
		s.plot.Add(bar)
		maxV = math.Max(maxV, finite(b.value))
		labels.XYs = append(labels.XYs, plotter.XY{X: float64(i), Y: finite(b.value)})
		labels.Labels = append(labels.Labels, b.label)
	}
	if !shown {
		return nil
	}
	s.plot.NominalX(names...)
	s.plot.X.Min, s.plot.X.Max = -0.5, float64(len(names))-0.5
	s.plot.Y.Min, s.plot.Y.Max = 0, math.Max(1, maxV*1.5) // headroom for the labels
	if l, err := plotter.NewLabels(labels); err == nil {
		for i := range l.TextStyle {
			l.TextStyle[i].XAlign, l.TextStyle[i].YAlign = draw.XCenter, draw.YBottom
			l.TextStyle[i].Font.Size = vg.Points(9)
		}
		l.Offset = vg.Point{Y: vg.Points(3)}
		s.plot.Add(l)
	}
	return s
}

// incrementCost is the latency and throughput (successes/s) of a
// variant's increment requests over the whole run: those of its first POST
// stream.
func incrementCost(v *results.Variant) (results.Latency, float64, bool) {
	for i := range v.Streams {
		if v.Streams[i].Method != "POST" {
			continue
		}
		if ps := wholeSummary(&v.Streams[i]); ps != nil {
			return ps.Latency, ps.Throughput, true
		}
	}
	return results.Latency{}, 0, false
}

// trimFloat prints a latency in ms to about three significant digits,
// without an exponent.
func trimFloat(v float64) string {
	decimals := 0
	switch {
	case v < 10:
		decimals = 2
	case v < 100:
		decimals = 1
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}
