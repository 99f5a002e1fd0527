package plots

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/loadlab/loadlab/reports/results"
)

// spectrumChart draws the latency percentile spectrum of one stream, as
// HdrHistogram plots it: the x axis is 1/(1−p) on a log scale, so 50 %,
// 90 %, 99 %, 99.9 % … sit one step apart and the tail gets the width the
// median gets. One line per variant and phase (colour: variant; dashing:
// phase), so the tail before, during and after a fault compare in one
// picture. A line stops at the request it can still resolve (1/(1−p) up to
// the phase's successes) and ends on the maximum. nil when no phase of the
// stream holds a spectrum (results written before spectra existed).
func spectrumChart(r *results.Results, stream string) *spec {
	s := newSpec("spectrum-"+fileName(stream), "spectrum", stream,
		fmt.Sprintf("Latency spectrum of %s (successes), by phase", stream), "percentile", "latency (ms)")
	minY, maxY, maxX := math.Inf(1), 0.0, 1.0
	for i := range r.Variants {
		v := &r.Variants[i]
		st := findStream(v, stream)
		if st == nil {
			continue
		}
		for k, ps := range spectrumPhases(st) {
			pts := spectrumPoints(ps)
			if len(pts) < 2 {
				continue
			}
			for _, p := range pts {
				minY, maxY, maxX = math.Min(minY, p.Y), math.Max(maxY, p.Y), math.Max(maxX, p.X)
			}
			s.addLines(v.Name+" "+ps.Phase, []plotter.XYs{pts}, lineStyle(i, k, vg.Points(1.2)))
		}
	}
	if s.legendEntries == 0 {
		return nil
	}
	spectrumAxes(s.plot, maxX, minY, maxY)
	return s
}

// spectrumAxes sets a spectrum chart's axes: 1/(1−p) on a log scale
// labelled in percentiles up to maxX, latency on a log scale spanning
// whole decades around [minY, maxY].
func spectrumAxes(p *plot.Plot, maxX, minY, maxY float64) {
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, percentileTicks{}
	p.X.Min, p.X.Max = 1, math.Pow(10, math.Ceil(math.Log10(maxX)))
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	p.Y.Min = math.Pow(10, math.Floor(math.Log10(minY)))
	p.Y.Max = math.Pow(10, math.Ceil(math.Log10(maxY*1.05)))
}

// spectrumPhases are the phase summaries a spectrum chart draws: the fault
// phases when there are any (the whole run is their sum), else the whole.
func spectrumPhases(st *results.Stream) []results.PhaseSummary {
	var faults, whole []results.PhaseSummary
	for _, ps := range st.Phases {
		if ps.Phase == "whole" {
			whole = append(whole, ps)
		} else {
			faults = append(faults, ps)
		}
	}
	if len(faults) > 0 {
		return faults
	}
	return whole
}

// spectrumPoints places a phase's spectrum on the chart's axes: x =
// 1/(1−p), y = latency; percentiles finer than one request in the phase's
// successes are dropped, and the maximum is drawn at x = successes (it is
// the one-in-that-many request). Non-positive latencies cannot sit on a
// log axis and are dropped.
func spectrumPoints(ps results.PhaseSummary) plotter.XYs {
	n := float64(ps.Successes)
	var pts plotter.XYs
	for _, q := range ps.Spectrum {
		x := n
		if q.Percent < 100 {
			x = 1 / (1 - q.Percent/100)
		}
		if x > n || q.Ms <= 0 || (len(pts) > 0 && x <= pts[len(pts)-1].X) {
			continue
		}
		pts = append(pts, plotter.XY{X: x, Y: q.Ms})
	}
	return pts
}

// percentileTicks labels the spectrum's x axis in percentiles: 1/(1−p) = 10
// is 90 %, 100 is 99 %, and so on.
type percentileTicks struct{}

func (percentileTicks) Ticks(min, max float64) []plot.Tick {
	labels := map[float64]string{1: "0%", 2: "50%", 10: "90%", 100: "99%", 1e3: "99.9%", 1e4: "99.99%", 1e5: "99.999%", 1e6: "99.9999%"}
	var ticks []plot.Tick
	for _, x := range []float64{1, 2, 10, 100, 1e3, 1e4, 1e5, 1e6} {
		if x >= min*0.999 && x <= max*1.001 {
			ticks = append(ticks, plot.Tick{Value: x, Label: labels[x]})
		}
	}
	return ticks
}
