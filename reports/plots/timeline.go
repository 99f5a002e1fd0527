package plots

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/loadlab/loadlab/reports/results"
)

// Colours of a timeline: writes and reads, and the evidence outlines.
var (
	writeColor    = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	readColor     = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	failColor     = color.RGBA{R: 0xbb, G: 0xbb, B: 0xbb, A: 0xff}
	infoColor     = color.RGBA{R: 0xff, G: 0x99, B: 0x33, A: 0xff}
	anomalyColor  = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	returnedColor = color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}
	witnessColor  = color.RGBA{A: 0xff}
)

// timelineCharts draws, per variant, the timeline of each anomalous key
// the history kept: Jepsen's timeline, one lane per client, each op a bar
// from invocation to completion labelled with its value, the anomaly and
// its evidence outlined.
func timelineCharts(r *results.Results) []*spec {
	var specs []*spec
	for _, v := range r.Variants {
		if v.History == nil {
			continue
		}
		for _, tl := range v.History.Timelines {
			s := newSpec("timeline-"+fileName(v.Name)+"-"+fileName(tl.Key), "timeline", "",
				fmt.Sprintf("%s, %s: %s", v.Name, tl.Key, kindTitle(tl.Kind)), "time since load start (s)", "client")
			s.plot.Add(&timelineBars{tl: tl})
			s.plot.Y.Tick.Marker = laneTicks{}
			s.plot.X.Min, s.plot.X.Max = tl.FromS, tl.ToS
			for _, e := range []struct {
				name string
				c    color.Color
				line bool
			}{{"write", writeColor, false}, {"read", readColor, false}, {"failed", failColor, false}, {"info (unknown)", infoColor, false},
				{kindTitle(tl.Kind), anomalyColor, true}, {"value it returned", returnedColor, true}, {"proof", witnessColor, true}} {
				s.addLegend(e.name, legendBox(e.c, e.line))
			}
			specs = append(specs, s)
		}
	}
	return specs
}

func kindTitle(kind string) string {
	switch kind {
	case "stale_read":
		return "stale read"
	case "impossible_read":
		return "impossible read"
	case "lost_write":
		return "lost write"
	case "version_regression":
		return "version going backwards"
	}
	return kind
}

// legendBox is a legend thumbnail: a filled box, or an outline.
func legendBox(c color.Color, outline bool) plot.Thumbnailer {
	if outline {
		return &plotter.BarChart{Color: color.White, LineStyle: draw.LineStyle{Color: c, Width: vg.Points(2)}}
	}
	return &plotter.BarChart{Color: c, LineStyle: draw.LineStyle{Color: c, Width: vg.Points(0.5)}}
}

// laneTicks labels each whole lane.
type laneTicks struct{}

func (laneTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for l := int(min + 0.5); float64(l) <= max; l++ {
		if l >= 0 {
			ticks = append(ticks, plot.Tick{Value: float64(l), Label: fmt.Sprint(l)})
		}
	}
	return ticks
}

// timelineBars is the plotter of one KeyTimeline.
type timelineBars struct{ tl results.KeyTimeline }

func (b *timelineBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	lanes := 0
	for _, op := range b.tl.Ops {
		lanes = max(lanes, op.Lane+1)
	}
	return b.tl.FromS, b.tl.ToS, -0.6, float64(max(lanes, 1)) - 0.4
}

func (b *timelineBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	label := text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, vg.Points(6)), Handler: plot.DefaultTextHandler,
		XAlign: draw.XLeft, YAlign: draw.YCenter}
	for _, op := range b.tl.Ops {
		from, to := max(op.InvokeS, b.tl.FromS), min(op.CompleteS, b.tl.ToS)
		if to < from {
			continue
		}
		x0, x1 := trX(from), trX(to)
		if x1-x0 < vg.Points(1.5) {
			x1 = x0 + vg.Points(1.5)
		}
		y0, y1 := trY(float64(op.Lane)-0.32), trY(float64(op.Lane)+0.32)
		box := []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
		fill := readColor
		switch {
		case op.Outcome == "fail":
			fill = failColor
		case op.Outcome == "info":
			fill = infoColor
		case op.Write:
			fill = writeColor
		}
		c.FillPolygon(fill, c.ClipPolygonXY(box))
		if outline, ok := map[string]color.Color{"returned": returnedColor, "witness": witnessColor}[op.Anomaly]; ok || op.Anomaly != "" {
			if !ok {
				outline = anomalyColor
			}
			closed := append(box, box[0])
			c.StrokeLines(draw.LineStyle{Color: outline, Width: vg.Points(2)}, c.ClipLinesXY(closed)...)
		}
		name := op.Value
		if op.Write {
			name = "w " + name
		} else {
			name = "r " + name
		}
		if c.Contains(vg.Point{X: x0, Y: (y0 + y1) / 2}) {
			c.FillText(label, vg.Point{X: x0 + vg.Points(1), Y: (y0 + y1) / 2}, name)
		}
	}
}
