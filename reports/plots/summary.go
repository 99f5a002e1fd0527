package plots

import (
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

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
