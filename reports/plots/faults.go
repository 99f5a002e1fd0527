package plots

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/loadlab/loadlab/reports/results"
)

// band is a shaded time window with a label at its top.
type band struct {
	from, to float64 // seconds since load start
	label    string
	color    color.Color
}

// faultBands shades fault windows across the whole height of the data area,
// whatever the y scale, and labels each with the fault's name. It reports no
// data range, so it never stretches the axes.
type faultBands struct {
	bands []band
	style text.Style
}

var _ plot.Plotter = (*faultBands)(nil)

// newFaultBands merges the fault timelines of all variants into one band per
// fault name: variants are overlaid on one chart, and their windows differ
// only by the control plane's jitter. A band spans from the earliest start
// to the latest end of the fault in any variant; a fault that was never
// applied in any variant is shaded grey over its planned window. end is the
// x position used for a fault that was never removed.
func newFaultBands(variants []results.Variant, end float64) *faultBands {
	type span struct {
		from, to float64
		applied  bool
		planFrom float64
		planTo   float64
	}
	var order []string
	spans := map[string]*span{}
	for _, v := range variants {
		for _, f := range v.Faults {
			s, ok := spans[f.Name]
			if !ok {
				s = &span{from: -1, to: -1, planFrom: f.PlannedAtS, planTo: f.PlannedAtS + f.PlannedForS}
				spans[f.Name] = s
				order = append(order, f.Name)
			}
			if f.ActiveFromS < 0 {
				continue
			}
			to := f.ActiveToS
			if to < 0 {
				to = end
			}
			if !s.applied || f.ActiveFromS < s.from {
				s.from = f.ActiveFromS
			}
			if !s.applied || to > s.to {
				s.to = to
			}
			s.applied = true
		}
	}
	fb := &faultBands{}
	for i, name := range order {
		s := spans[name]
		b := band{from: s.from, to: s.to, label: name, color: faultColors[i%len(faultColors)]}
		if !s.applied {
			b = band{from: s.planFrom, to: s.planTo, label: name + " (not applied)", color: notAppliedColor}
		}
		fb.bands = append(fb.bands, b)
	}
	return fb
}

// Plot implements plot.Plotter.
func (fb *faultBands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := fb.style
	if sty.Font.Size == 0 {
		sty = p.X.Tick.Label
		sty.Font.Size = vg.Points(8)
	}
	sty.XAlign = draw.XLeft
	sty.YAlign = draw.YTop
	lineHeight := sty.FontExtents().Height
	for i, b := range fb.bands {
		x0, x1 := trX(b.from), trX(b.to)
		if x0 < c.Min.X {
			x0 = c.Min.X
		}
		if x1 > c.Max.X {
			x1 = c.Max.X
		}
		if x1 <= x0 {
			continue
		}
		c.FillPolygon(b.color, []vg.Point{
			{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y},
			{X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y},
		})
		// Stagger labels of neighbouring faults so they do not overprint.
		y := c.Max.Y - vg.Points(2) - vg.Length(i%3)*lineHeight
		sty.Color = color.NRGBA{R: 0x40, G: 0x40, B: 0x40, A: 0xFF}
		c.FillText(sty, vg.Point{X: x0 + vg.Points(2), Y: y}, b.label)
	}
}
