package plots

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/loadlab/loadlab/reports/results"
)

// heatmapChart draws how the answers of one stream of one variant spread
// over latency, second by second: time on x, the latency bands of
// results.HeatBoundsMs on a log y axis, each cell coloured by how many
// answers fell in it. Percentile lines average a bimodal second into one
// number; here cache hits and misses, fast 503s and slow successes, show as
// separate ridges. nil when no second holds counts (results written before
// they existed).
func heatmapChart(r *results.Results, v *results.Variant, st *results.Stream, end float64) *spec {
	h := &heatCells{low: len(results.HeatBoundsMs), high: -1}
	for _, b := range st.Seconds {
		if len(b.Heat) != len(results.HeatBoundsMs) {
			continue
		}
		h.t = append(h.t, float64(b.T))
		h.counts = append(h.counts, b.Heat)
		for band, n := range b.Heat {
			if n > 0 {
				h.max, h.low, h.high = max(h.max, n), min(h.low, band), max(h.high, band)
			}
		}
	}
	if h.max == 0 {
		return nil
	}
	s := newTimeSpec(r, "heatmap-"+fileName(st.Name)+"-"+fileName(v.Name), "heatmap", st.Name,
		fmt.Sprintf("Latency of every answer to %s, variant %s (answers per second and band)", st.Name, v.Name), "latency (ms)", end)
	s.plot.Add(h)
	for _, n := range legendCounts(h.max) {
		s.addLegend(fmt.Sprintf("%d/s", n), legendBox(heatColor(n, h.max), false))
	}
	s.plot.Y.Scale, s.plot.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	_, _, ymin, ymax := h.DataRange()
	s.plot.Y.Min, s.plot.Y.Max = ymin, ymax*4 // headroom for the fault labels
	return s
}

// heatLowest is where the first band (everything up to 0.1 ms) starts on
// the chart: a log axis has no zero.
const heatLowest = 0.05

// heatCells is one column of coloured cells per second.
type heatCells struct {
	t         []float64
	counts    [][]int64
	max       int64
	low, high int // the lowest and highest bands that hold an answer
}

func bandEdges(i int) (lo, hi float64) {
	hi = results.HeatBoundsMs[i]
	if i == 0 {
		return heatLowest, hi
	}
	return results.HeatBoundsMs[i-1], hi
}

// Plot implements plot.Plotter.
func (h *heatCells) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i, t := range h.t {
		x0, x1 := max(trX(t), c.Min.X), min(trX(t+1), c.Max.X)
		if x1 <= x0 {
			continue
		}
		for b, n := range h.counts[i] {
			if n == 0 {
				continue
			}
			lo, hi := bandEdges(b)
			y0, y1 := max(trY(lo), c.Min.Y), min(trY(hi), c.Max.Y)
			if y1 <= y0 {
				continue
			}
			c.FillPolygon(heatColor(n, h.max), []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
		}
	}
}

// DataRange implements plot.DataRanger.
func (h *heatCells) DataRange() (xmin, xmax, ymin, ymax float64) {
	if h.max == 0 {
		return 0, 1, heatLowest, 1
	}
	// The y range spans the bands that hold answers, not 0.05 ms to 60 s.
	ymin, _ = bandEdges(h.low)
	_, ymax = bandEdges(h.high)
	return h.t[0], h.t[len(h.t)-1] + 1, ymin, ymax
}

// heatColor shades a count on a log scale from a pale to a dark blue: one
// answer is visible, the busiest cell is darkest.
func heatColor(n, maxN int64) color.Color {
	f := 1.0
	if maxN > 1 {
		f = math.Log(float64(n)) / math.Log(float64(maxN))
	}
	f = 0.15 + 0.85*math.Min(math.Max(f, 0), 1)
	lerp := func(a, b uint8) uint8 { return uint8(float64(a) + f*(float64(b)-float64(a)) + 0.5) }
	pale, dark := color.NRGBA{R: 0xDE, G: 0xEB, B: 0xF7}, color.NRGBA{R: 0x08, G: 0x30, B: 0x6B}
	return color.NRGBA{R: lerp(pale.R, dark.R), G: lerp(pale.G, dark.G), B: lerp(pale.B, dark.B), A: 0xFF}
}

// legendCounts are the counts the legend shows a swatch of: 1, the powers
// of ten in between, and the maximum.
func legendCounts(maxN int64) []int64 {
	out := []int64{1}
	for p := int64(10); p < maxN; p *= 10 {
		out = append(out, p)
	}
	if maxN > 1 {
		out = append(out, maxN)
	}
	return out
}
