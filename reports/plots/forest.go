package plots

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/loadlab/loadlab/reports/compare"
)

// Colours of a row's judgement. Regressed and improved are the red and
// green of the HTML pages' failed and passed marks; a row that was judged
// and did not change is near black; a row that was not judged is grey.
var (
	regressedColor = color.NRGBA{R: 0xC6, G: 0x28, B: 0x28, A: 0xFF}
	improvedColor  = color.NRGBA{R: 0x1A, G: 0x7F, B: 0x37, A: 0xFF}
	unchangedColor = color.NRGBA{R: 0x40, G: 0x40, B: 0x40, A: 0xFF}
	unjudgedColor  = color.NRGBA{R: 0xA8, G: 0xA8, B: 0xA8, A: 0xFF}
	stripeColor    = color.NRGBA{R: 0xF3, G: 0xF3, B: 0xF5, A: 0xFF}
)

// Forest geometry: a row's height, what the title and the x axis take
// besides, and the least height that still holds the legend.
const (
	forestRowHeight = 0.26 * vg.Inch
	forestFrame     = 1.1 * vg.Inch
	forestMinHeight = 2.6 * vg.Inch
	intervalWidth   = 2.5 // points: the interval's bar
	pointRadius     = 3.2 // points: the estimate's dot
	limitWidth      = 1.2 // points: the dashed limits
)

// forestStretch bounds how far intervals widen a forest plot's axis beyond
// its estimates and limits: a ratio axis at most twice (half) the outermost
// of them, a difference axis at most their span again, and never beyond
// ±1. One row with an interval of ×0.01 to ×100 (three rounds after a
// Bonferroni correction can give one) would otherwise squeeze every other
// row into a line; its bar is cut at the edge and marked with an arrow, and
// the table beside says where it ends.
const forestStretch = 2

// forestMetrics are the panels, one per metric: each has its own limits,
// and the success ratio its own scale (a difference, not a ratio).
var forestMetrics = []struct {
	metric      compare.Metric
	title, unit string
}{
	{compare.MetricP50, "p50 latency", "head/base (log scale)"},
	{compare.MetricP99, "p99 latency", "head/base (log scale)"},
	{compare.MetricThroughput, "throughput (successes/s)", "head/base (log scale)"},
	{compare.MetricSuccessRatio, "success ratio", "head − base (success ratio)"},
}

// forestRow is one row of a forest plot.
type forestRow struct {
	label  string  // variant / stream / phase
	at     float64 // the estimate, or for a row without one the medians' ratio (difference); NaN when none
	lo, hi float64 // its interval; NaN when the row has none
	change compare.Change
	judged bool
	note   string // printed beside the mark: the change, and "not judged"
}

// forestCharts draws one forest plot per metric the report has rows of.
func forestCharts(rep *compare.Report) []compareSpec {
	var specs []compareSpec
	for _, fm := range forestMetrics {
		var rows []compare.Row
		for _, row := range rep.Rows {
			if row.Metric == fm.metric {
				rows = append(rows, row)
			}
		}
		if len(rows) == 0 {
			continue
		}
		s := forestChart(rep, fm.metric, fm.title, fm.unit, rows)
		height := max(forestMinHeight, forestFrame+vg.Length(len(rows))*forestRowHeight)
		specs = append(specs, compareSpec{s, height})
	}
	return specs
}

// forestChart draws rows of one metric: each a dot at its estimate and a
// bar over its interval, coloured by its judgement; rows not judged as a
// grey ring at the ratio (difference) of the sides' medians, without a bar.
// Vertical lines mark no change and the limits beyond which a whole
// interval is a regression or an improvement.
func forestChart(rep *compare.Report, m compare.Metric, title, unit string, rows []compare.Row) *spec {
	relative := rows[0].Relative
	what := "head/base with its interval"
	if !relative {
		what = "head − base with its interval (a difference, not a ratio)"
	}
	s := newSpec("forest-"+fileName(string(m)), "forest", "", fmt.Sprintf("%s: %s", title, what), unit, "")
	f := &forestMarks{relative: relative, limits: forestLimits(rep, m, relative)}
	for _, row := range rows {
		f.rows = append(f.rows, newForestRow(row))
	}
	for _, l := range f.limits {
		s.addLegend(l.name, &lineThumb{style: l.style})
	}
	for _, c := range []compare.Change{compare.ChangeRegression, compare.ChangeImprovement, compare.ChangeNone} {
		if f.hasJudged(c) {
			s.addLegend(changeLegend(c), &markThumb{colour: changeColor(c, true)})
		}
	}
	if f.hasUnjudged() {
		s.addLegend("not judged", &markThumb{colour: unjudgedColor, ring: true})
	}
	s.plot.Add(f)
	f.xMin, f.xMax = f.axisRange()
	s.plot.X.Min, s.plot.X.Max = f.xMin, f.xMax
	if relative {
		s.plot.X.Scale, s.plot.X.Tick.Marker = plot.LogScale{}, ratioTicks{}
	} else {
		s.plot.X.Tick.Marker = differenceTicks{}
	}
	labels := make([]string, len(f.rows))
	for i, r := range f.rows {
		labels[i] = r.label
	}
	s.plot.Y.Min, s.plot.Y.Max = -0.5, float64(len(f.rows))-0.5
	s.plot.Y.Tick.Marker = rowTicks(labels)
	s.plot.Y.Tick.Label.Font.Size = vg.Points(8)
	return s
}

// forestLimits are the vertical lines of metric m's panel: no change
// (solid), and the report's limits beyond which a whole interval regressed
// (red, dashed) or improved (green, dashed), where they can be drawn.
func forestLimits(rep *compare.Report, m compare.Metric, relative bool) []forestLimit {
	none := 0.0
	if relative {
		none = 1
	}
	limits := []forestLimit{{at: none, name: formatMark(none, relative, false) + ": equal",
		style: draw.LineStyle{Color: color.Black, Width: vg.Points(0.8)}}}
	worse, better, ok := rep.Limits(m)
	if !ok {
		return limits
	}
	for _, l := range []struct {
		at     float64
		colour color.Color
		word   string
	}{{worse, regressedColor, "worse"}, {better, improvedColor, "better"}} {
		if !onAxis(l.at, relative) || l.at == none {
			continue // a threshold of 0 puts the limit on no change; one of 100 % drop has none
		}
		limits = append(limits, forestLimit{at: l.at, name: l.word + " beyond " + formatMark(l.at, relative, true),
			style: draw.LineStyle{Color: l.colour, Width: vg.Points(limitWidth), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}})
	}
	return limits
}

func newForestRow(row compare.Row) forestRow {
	fr := forestRow{
		label:  row.Variant + " / " + row.Stream + " / " + row.Phase,
		at:     row.Est,
		lo:     row.Lo,
		hi:     row.Hi,
		change: row.Change,
		judged: row.Why == "",
	}
	if !row.Gated {
		// A lead, not a verdict: drawn in the colour of no change, and
		// labelled so that an interval beyond a limit is read as such.
		fr.label += " (not gated)"
		fr.change = compare.ChangeNone
	}
	if fr.judged {
		fr.note = row.Cells().Change
		return fr
	}
	// No interval: the sides' medians say where the row sits, greyed,
	// without a claim about noise.
	fr.lo, fr.hi = math.NaN(), math.NaN()
	fr.at = row.Head - row.Base
	if row.Relative {
		fr.at = row.Head / row.Base
	}
	if onAxis(fr.at, row.Relative) {
		fr.note = formatMark(fr.at, row.Relative, true) + " not judged"
	} else {
		fr.at, fr.note = math.NaN(), "not judged"
	}
	return fr
}

// onAxis: v can be drawn on the axis (a ratio axis is logarithmic).
func onAxis(v float64, relative bool) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (!relative || v > 0)
}

func changeColor(c compare.Change, judged bool) color.Color {
	switch {
	case !judged:
		return unjudgedColor
	case c == compare.ChangeRegression:
		return regressedColor
	case c == compare.ChangeImprovement:
		return improvedColor
	}
	return unchangedColor
}

func changeLegend(c compare.Change) string {
	switch c {
	case compare.ChangeRegression:
		return "regressed"
	case compare.ChangeImprovement:
		return "improved"
	}
	return "within the limits"
}

// formatMark renders a position on the axis: ×1.1 on a ratio axis, +0.01
// on a difference axis (signed when asked).
func formatMark(v float64, relative, signed bool) string {
	if relative {
		return "×" + strconv.FormatFloat(v, 'g', 3, 64)
	}
	s := strconv.FormatFloat(v, 'g', 3, 64)
	if signed && v > 0 {
		s = "+" + s
	}
	return strings.Replace(s, "-", "−", 1)
}

// forestLimit is a vertical line across the plot: no change, or a limit.
type forestLimit struct {
	at    float64
	name  string // in the legend
	style draw.LineStyle
}

// forestMarks draws the rows of a forest plot, top to bottom, with a light
// stripe behind every other row to lead the eye from label to mark.
type forestMarks struct {
	rows       []forestRow
	limits     []forestLimit
	relative   bool
	xMin, xMax float64 // the axis range; marks beyond it are cut at its edge
}

func (f *forestMarks) hasJudged(c compare.Change) bool {
	for _, r := range f.rows {
		if r.judged && r.change == c {
			return true
		}
	}
	return false
}

func (f *forestMarks) hasUnjudged() bool {
	for _, r := range f.rows {
		if !r.judged {
			return true
		}
	}
	return false
}

// rowY is where row i sits: the first row at the top.
func (f *forestMarks) rowY(i int) float64 { return float64(len(f.rows) - 1 - i) }

// axisRange spans no change, the limits, every mark and as much of the
// intervals as forestStretch allows, with a margin.
func (f *forestMarks) axisRange() (lo, hi float64) {
	coreLo, coreHi := math.Inf(1), math.Inf(-1)
	fullLo, fullHi := math.Inf(1), math.Inf(-1)
	add := func(v float64, core bool) {
		if !onAxis(v, f.relative) {
			return
		}
		fullLo, fullHi = math.Min(fullLo, v), math.Max(fullHi, v)
		if core {
			coreLo, coreHi = math.Min(coreLo, v), math.Max(coreHi, v)
		}
	}
	for _, l := range f.limits {
		add(l.at, true)
	}
	for _, r := range f.rows {
		add(r.at, true)
		add(r.lo, false)
		add(r.hi, false)
	}
	if !f.relative {
		span := math.Max(coreHi-coreLo, 0.02) * (forestStretch - 1)
		lo, hi = math.Max(fullLo, math.Max(coreLo-span, -1)), math.Min(fullHi, math.Min(coreHi+span, 1))
		pad := math.Max((hi-lo)*0.06, 0.002)
		return lo - pad, hi + pad
	}
	l := math.Log(math.Max(fullLo, coreLo/forestStretch))
	h := math.Log(math.Min(fullHi, coreHi*forestStretch))
	pad := math.Max((h-l)*0.06, math.Log(1.01))
	return math.Exp(l - pad), math.Exp(h + pad)
}

// Plot implements plot.Plotter.
func (f *forestMarks) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	half := (trY(1) - trY(0)) / 2
	for i := range f.rows {
		if i%2 == 0 {
			y := trY(f.rowY(i))
			c.FillPolygon(stripeColor, []vg.Point{{X: c.Min.X, Y: y - half}, {X: c.Max.X, Y: y - half}, {X: c.Max.X, Y: y + half}, {X: c.Min.X, Y: y + half}})
		}
	}
	for _, l := range f.limits {
		x := trX(l.at)
		if x >= c.Min.X && x <= c.Max.X {
			c.StrokeLine2(l.style, x, c.Min.Y, x, c.Max.Y)
		}
	}
	note := text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, vg.Points(7)), Handler: plot.DefaultTextHandler, YAlign: draw.YCenter}
	for i, r := range f.rows {
		f.plotRow(c, trX, trY(f.rowY(i)), r, note)
	}
}

// plotRow draws one row's bar, dot or ring, and its note beside them.
func (f *forestMarks) plotRow(c draw.Canvas, trX func(float64) vg.Length, y vg.Length, r forestRow, note text.Style) {
	colour := changeColor(r.change, r.judged)
	left, right := vg.Length(math.Inf(1)), vg.Length(math.Inf(-1))
	clamp := func(v float64) (vg.Length, bool) {
		x := trX(v)
		switch {
		case x < c.Min.X:
			return c.Min.X, true
		case x > c.Max.X:
			return c.Max.X, true
		}
		return x, false
	}
	if onAxis(r.lo, f.relative) && onAxis(r.hi, f.relative) {
		x0, cut0 := clamp(r.lo)
		x1, cut1 := clamp(r.hi)
		c.StrokeLine2(draw.LineStyle{Color: colour, Width: vg.Points(intervalWidth)}, x0, y, x1, y)
		if cut0 {
			cutMark(c, colour, x0, y, -1)
		}
		if cut1 {
			cutMark(c, colour, x1, y, 1)
		}
		left, right = min(left, x0), max(right, x1)
	}
	if onAxis(r.at, f.relative) {
		x, _ := clamp(r.at)
		glyph := draw.GlyphStyle{Color: colour, Radius: vg.Points(pointRadius), Shape: draw.CircleGlyph{}}
		if !r.judged {
			glyph.Shape = draw.RingGlyph{}
		}
		c.DrawGlyphNoClip(glyph, vg.Point{X: x, Y: y})
		left, right = min(left, x-glyph.Radius), max(right, x+glyph.Radius)
	}
	if r.note == "" {
		return
	}
	note.Color = colour
	if math.IsInf(float64(left), 1) { // nothing drawn: the note sits at no change
		left, right = trX(f.limits[0].at), trX(f.limits[0].at)
	}
	// Beside the marks, right or left, where it fits; over the dot when
	// the bar spans the whole plot.
	gap, width := vg.Points(4), note.Width(r.note)
	switch {
	case right+gap+width <= c.Max.X:
		note.XAlign = draw.XLeft
		c.FillText(note, vg.Point{X: right + gap, Y: y}, r.note)
	case left-gap-width >= c.Min.X:
		note.XAlign = draw.XRight
		c.FillText(note, vg.Point{X: left - gap, Y: y}, r.note)
	default:
		x := (left + right) / 2
		if onAxis(r.at, f.relative) {
			x = min(max(trX(r.at), c.Min.X), c.Max.X)
		}
		note.XAlign, note.YAlign = draw.XCenter, draw.YBottom
		c.FillText(note, vg.Point{X: x, Y: y + vg.Points(pointRadius+1)}, r.note)
	}
}

// cutMark marks an interval cut at the axis' edge: a small triangle pointing
// out of the plot (dir −1 left, +1 right).
func cutMark(c draw.Canvas, colour color.Color, x, y vg.Length, dir vg.Length) {
	l := vg.Points(6)
	c.FillPolygon(colour, []vg.Point{{X: x + dir*l/2, Y: y}, {X: x - dir*l/2, Y: y + l/2}, {X: x - dir*l/2, Y: y - l/2}})
}

// rowTicks labels each row of a forest plot, the first at the top.
type rowTicks []string

func (t rowTicks) Ticks(min, max float64) []plot.Tick {
	ticks := make([]plot.Tick, 0, len(t))
	for i, label := range t {
		ticks = append(ticks, plot.Tick{Value: float64(len(t) - 1 - i), Label: label})
	}
	return ticks
}

// ratioTicks labels a ratio axis as ×0.9, ×1, ×1.1: evenly spaced steps
// when the axis spans less than a factor of six, else 1, 2 and 5 times
// each power of ten (logTicks).
type ratioTicks struct{}

func (ratioTicks) Ticks(min, max float64) []plot.Tick {
	if min <= 0 || max <= min {
		return nil
	}
	if max/min > 6 {
		ticks := logTicks{}.Ticks(min, max)
		for i := range ticks {
			if ticks[i].Label != "" {
				ticks[i].Label = "×" + ticks[i].Label
			}
		}
		return ticks
	}
	return steppedTicks(min, max, func(v float64) string { return formatMark(v, true, false) })
}

// differenceTicks labels a difference axis with signs: −0.01, 0, +0.01.
type differenceTicks struct{}

func (differenceTicks) Ticks(min, max float64) []plot.Tick {
	return steppedTicks(min, max, func(v float64) string { return formatMark(v, false, true) })
}

// steppedTicks places ticks at the multiples of the smallest 1-2-5 step
// that gives at most eight of them, so that no change (×1 or 0) is always
// among them.
func steppedTicks(min, max float64, label func(float64) string) []plot.Tick {
	if !(max > min) || math.IsInf(max-min, 0) {
		return nil
	}
	step := math.Pow(10, math.Floor(math.Log10((max-min)/8)))
	for _, m := range []float64{1, 2, 5, 10} {
		if (max-min)/(step*m) <= 8 {
			step *= m
			break
		}
	}
	var ticks []plot.Tick
	for k := math.Ceil(min / step); k*step <= max; k++ {
		v := k * step
		v = math.Round(v/step) * step // no 0.30000000000000004
		if math.Abs(v) < step/1e6 {
			v = 0
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: label(v)})
	}
	return ticks
}

// markThumb is a legend thumbnail of a forest row: a bar with a dot, or a
// grey ring for a row not judged.
type markThumb struct {
	colour color.Color
	ring   bool
}

func (m *markThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	glyph := draw.GlyphStyle{Color: m.colour, Radius: vg.Points(pointRadius), Shape: draw.CircleGlyph{}}
	if m.ring {
		glyph.Shape = draw.RingGlyph{}
	} else {
		c.StrokeLine2(draw.LineStyle{Color: m.colour, Width: vg.Points(intervalWidth)}, c.Min.X, y, c.Max.X, y)
	}
	c.DrawGlyphNoClip(glyph, c.Center())
}

// lineThumb is a legend thumbnail of a vertical line's style.
type lineThumb struct{ style draw.LineStyle }

func (t *lineThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(t.style, c.Min.X, y, c.Max.X, y)
}
