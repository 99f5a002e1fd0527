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

// runWidth is the width of a single run's line, in the background of its
// side's median.
const runWidth = 0.5

// withAlpha is c with alpha a: a side's single runs and its band.
func withAlpha(c color.Color, a uint8) color.NRGBA {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	n.A = a
	return n
}

// spectrumOverlay draws the latency spectrum of one stream of one variant
// for base and head (colour: side; dashing: phase, as in a run's spectrum
// chart): every run a thin line, and the pointwise median of the side's
// runs a thick one, drawn as far as every run resolves. nil when no run
// holds a spectrum.
func spectrumOverlay(variant, stream string, sides [2]compareSide) *spec {
	key := variant + "/" + stream
	s := newSpec("spectrum-"+fileName(variant)+"-"+fileName(stream), "spectrum", key,
		fmt.Sprintf("Latency spectrum of %s (successes): base vs head, by phase", key), "percentile", "latency (ms)")
	minY, maxY, maxX := math.Inf(1), 0.0, 1.0
	phases := spectrumPhaseNames(sides)
	for _, sd := range sides {
		for k, phase := range phases {
			var runs []plotter.XYs
			for _, st := range sd.streams {
				if ps, ok := streamPhase(st, phase); ok {
					if pts := spectrumPoints(ps); len(pts) >= 2 {
						runs = append(runs, pts)
					}
				}
			}
			if len(runs) == 0 {
				continue
			}
			thin := lineStyle(sd.colour, k, vg.Points(runWidth))
			thin.Color = withAlpha(thin.Color, 0x70)
			for _, pts := range runs {
				for _, p := range pts {
					minY, maxY, maxX = math.Min(minY, p.Y), math.Max(maxY, p.Y), math.Max(maxX, p.X)
				}
				if len(runs) > 1 {
					s.plot.Add(line{&plotter.Line{XYs: pts, LineStyle: thin}})
				}
			}
			s.addLines(sd.label+" "+phase, []plotter.XYs{medianSpectrum(runs)}, lineStyle(sd.colour, k, sd.width))
		}
	}
	if s.legendEntries == 0 {
		return nil
	}
	spectrumAxes(s.plot, maxX, minY, maxY)
	return s
}

// spectrumPhaseNames are the phases a spectrum draws (spectrumPhases) of
// any run of either side, in order of appearance: one list for both sides,
// so that a phase has the same dashing on both even when a run lacks it
// (no success during a fault, no spectrum).
func spectrumPhaseNames(sides [2]compareSide) []string {
	var names []string
	for _, sd := range sides {
		for _, st := range sd.streams {
			for _, ps := range spectrumPhases(st) {
				if !slices.Contains(names, ps.Phase) {
					names = append(names, ps.Phase)
				}
			}
		}
	}
	return names
}

// streamPhase is the stream's summary of the phase, when it has one.
func streamPhase(st *results.Stream, phase string) (results.PhaseSummary, bool) {
	for _, ps := range st.Phases {
		if ps.Phase == phase {
			return ps, true
		}
	}
	return results.PhaseSummary{}, false
}

// medianSpectrum is the pointwise median of spectra placed by
// spectrumPoints, at the positions every one of them reaches: all runs
// share the percentiles, so their x positions coincide. Each run's last
// point, its maximum, sits at its own count of successes and is left out.
func medianSpectrum(runs []plotter.XYs) plotter.XYs {
	if len(runs) == 1 {
		return runs[0]
	}
	ys := map[float64][]float64{}
	var xs []float64
	for _, pts := range runs {
		for _, p := range pts[:len(pts)-1] {
			if _, seen := ys[p.X]; !seen {
				xs = append(xs, p.X)
			}
			ys[p.X] = append(ys[p.X], p.Y)
		}
	}
	slices.Sort(xs)
	var out plotter.XYs
	for _, x := range xs {
		if len(ys[x]) < len(runs) {
			break
		}
		out = append(out, plotter.XY{X: x, Y: runsMedian(ys[x])})
	}
	return out
}

// runsMedian is the median of xs (not empty); xs is reordered.
func runsMedian(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// acrossRuns is one second of a side's runs: the median of a per-second
// value over the runs that have it, and its range.
type acrossRuns struct {
	t             int
	med, low, top float64
}

// perSecond gathers value over the runs second by second; a second no run
// has a value for is absent, so lines show a gap there.
func perSecond(streams []*results.Stream, value func(results.Bucket) (float64, bool)) []acrossRuns {
	byT := map[int][]float64{}
	for _, st := range streams {
		for _, b := range st.Seconds {
			if y, ok := value(b); ok && !math.IsNaN(y) && !math.IsInf(y, 0) {
				byT[b.T] = append(byT[b.T], y)
			}
		}
	}
	var out []acrossRuns
	for t, ys := range byT {
		out = append(out, acrossRuns{t: t, med: runsMedian(ys), low: slices.Min(ys), top: slices.Max(ys)})
	}
	slices.SortFunc(out, func(a, b acrossRuns) int { return a.t - b.t })
	return out
}

// consecutive cuts seconds into runs of consecutive seconds.
func consecutive(secs []acrossRuns) [][]acrossRuns {
	var out [][]acrossRuns
	for i, s := range secs {
		if i == 0 || s.t != secs[i-1].t+1 {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], s)
	}
	return out
}

func medianLines(secs []acrossRuns) []plotter.XYs {
	var segs []plotter.XYs
	for _, run := range consecutive(secs) {
		var xys plotter.XYs
		for _, s := range run {
			xys = append(xys, plotter.XY{X: float64(s.t) + bucketMid, Y: s.med})
		}
		segs = append(segs, xys)
	}
	return segs
}

// secondsOverlay draws p50 (solid) and p99 (dashed) per second of one
// stream of one variant for base and head, the fault windows of every run
// shaded: each line the median over the side's runs, and with several runs
// a band over the range of their p50. A second without a success has no
// latency and shows as a gap. nil when no run has a second.
func secondsOverlay(variant, stream string, sides [2]compareSide) *spec {
	key := variant + "/" + stream
	var variants []results.Variant
	end := 1.0
	for _, sd := range sides {
		variants = append(variants, sd.variants...)
		for i := range sd.variants {
			end = math.Max(end, timeEnd(&results.Results{Variants: sd.variants[i : i+1]}))
		}
	}
	title := fmt.Sprintf("Latency of %s per second, base vs head (p50 solid, p99 dashed)", key)
	s := newTimeSpec(&results.Results{Variants: variants}, "latency-"+fileName(variant)+"-"+fileName(stream), "latency", key, title, "latency (ms)", end)

	type drawn struct {
		sd      compareSide
		p50     []acrossRuns
		p99     []acrossRuns
		several bool
	}
	var all []drawn
	minPos, maxV := math.Inf(1), 0.0
	for _, sd := range sides {
		d := drawn{sd: sd, several: len(sd.streams) > 1}
		for k, pc := range latencyPercentiles {
			secs := perSecond(sd.streams, func(b results.Bucket) (float64, bool) {
				y := pc.get(b.Latency)
				return y, b.Successes > 0 && y > 0
			})
			for _, x := range secs {
				minPos, maxV = math.Min(minPos, x.low), math.Max(maxV, x.top)
			}
			if k == 0 {
				d.p50 = secs
			} else {
				d.p99 = secs
			}
		}
		all = append(all, d)
	}
	if maxV == 0 {
		return nil
	}
	for _, d := range all {
		if d.several {
			fill := withAlpha(variantColor(d.sd.colour), 0x33)
			s.plot.Add(&rangeBand{runs: consecutive(d.p50), colour: fill})
			s.addLegend(fmt.Sprintf("%s p50 range (%d runs)", d.sd.label, len(d.sd.streams)), legendBox(fill, false))
		}
		s.addLines(d.sd.label+" p50", medianLines(d.p50), lineStyle(d.sd.colour, 0, d.sd.width))
		s.addLines(d.sd.label+" p99", medianLines(d.p99), lineStyle(d.sd.colour, 1, d.sd.width*0.6))
	}
	if maxV/minPos >= 20 { // as a run's latency chart: a fault turning 2 ms into 2 s
		s.plot.Y.Scale, s.plot.Y.Tick.Marker = plot.LogScale{}, logTicks{}
		s.plot.Y.Min, s.plot.Y.Max = math.Pow(10, math.Floor(math.Log10(minPos))), maxV*2
	} else {
		s.plot.Y.Min, s.plot.Y.Max = 0, maxV*1.15 // headroom for the fault labels
	}
	return s
}

// rangeBand shades, second by second, from the lowest to the highest value
// of a side's runs.
type rangeBand struct {
	runs   [][]acrossRuns
	colour color.Color
}

// Plot implements plot.Plotter.
func (b *rangeBand) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, run := range b.runs {
		pts := make([]vg.Point, 0, 2*len(run))
		for _, s := range run {
			pts = append(pts, vg.Point{X: trX(float64(s.t) + bucketMid), Y: trY(s.low)})
		}
		for i := len(run) - 1; i >= 0; i-- {
			pts = append(pts, vg.Point{X: trX(float64(run[i].t) + bucketMid), Y: trY(run[i].top)})
		}
		c.FillPolygon(b.colour, c.ClipPolygonXY(pts))
	}
}
