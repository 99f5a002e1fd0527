package plots

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Chart geometry. The legend lives in a column right of the data so that it
// never hides a line; charts without a legend use the full width.
const (
	chartWidth   = 9 * vg.Inch
	chartHeight  = 3.6 * vg.Inch
	legendColumn = 1.6 * vg.Inch
	pngDPI       = 96
)

// variantColors are the Okabe–Ito colours, distinguishable with the common
// forms of colour blindness; variant i gets variantColors[i%len].
var variantColors = []color.NRGBA{
	{R: 0x00, G: 0x72, B: 0xB2, A: 0xFF}, // blue
	{R: 0xD5, G: 0x5E, B: 0x00, A: 0xFF}, // vermillion
	{R: 0x00, G: 0x9E, B: 0x73, A: 0xFF}, // bluish green
	{R: 0xCC, G: 0x79, B: 0xA7, A: 0xFF}, // reddish purple
	{R: 0xE6, G: 0x9F, B: 0x00, A: 0xFF}, // orange
	{R: 0x56, G: 0xB4, B: 0xE9, A: 0xFF}, // sky blue
	{R: 0x00, G: 0x00, B: 0x00, A: 0xFF}, // black
	{R: 0xF0, G: 0xE4, B: 0x42, A: 0xFF}, // yellow
}

func variantColor(i int) color.Color { return variantColors[i%len(variantColors)] }

// faultColors shade fault windows: translucent so the lines stay readable
// and overlapping faults darken each other.
var faultColors = []color.NRGBA{
	{R: 0xD6, G: 0x27, B: 0x28, A: 0x2E}, // red
	{R: 0x94, G: 0x67, B: 0xBD, A: 0x2E}, // purple
	{R: 0x8C, G: 0x56, B: 0x4B, A: 0x2E}, // brown
	{R: 0x7F, G: 0x7F, B: 0x7F, A: 0x2E}, // grey
}

// notAppliedColor shades a fault that was planned but never in place.
var notAppliedColor = color.NRGBA{R: 0x7F, G: 0x7F, B: 0x7F, A: 0x1A}

// percentileDashes gives each latency percentile its own line style, so
// colour says "which variant" and dashing says "which percentile".
var percentileDashes = [][]vg.Length{
	nil,                          // p50: solid
	{vg.Points(6), vg.Points(3)}, // p99: dashed
	{vg.Points(2), vg.Points(2)}, // further: dotted
}

func lineStyle(variant, dash int, width vg.Length) draw.LineStyle {
	return draw.LineStyle{
		Color:  variantColor(variant),
		Width:  width,
		Dashes: percentileDashes[dash%len(percentileDashes)],
	}
}

// newPlot returns a plot with the house style: title, axis labels with
// units and a light grid drawn under the data.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.X.Label.TextStyle.Font.Size = vg.Points(10)
	p.Y.Label.TextStyle.Font.Size = vg.Points(10)
	return p
}

// logTicks labels 1, 2 and 5 times each power of ten, denser than
// plot.LogTicks, which labels only the powers themselves.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	if min <= 0 || max <= 0 || min > max {
		return nil
	}
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		base := math.Pow(10, e)
		for m := 1; m < 10; m++ {
			v := float64(m) * base
			if v < min*0.999 || v > max*1.001 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// fileName turns a stream or metric name into something safe in a file
// name: letters, digits, '.', '_' and '-' are kept, anything else is '_'.
func fileName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// unitLabel names a Series unit on an axis.
func unitLabel(name, unit string) string {
	switch unit {
	case "":
		return name
	case "per_second":
		return fmt.Sprintf("%s (per second)", name)
	default:
		return fmt.Sprintf("%s (%s)", name, unit)
	}
}
