package plots

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/loadlab/loadlab/reports/results"
)

// statusClass is one band of the status charts: the answers a reader tells
// apart at a glance (served, queued, refused by design, refused by
// overload, broken, never answered).
type statusClass struct {
	name  string
	color color.NRGBA
}

// statusClasses in stacking order, bottom up: successes at the bottom, so
// that the height of the green shows goodput and what sits on it shows
// where the rest went.
var statusClasses = [nStatusClasses]statusClass{
	{"2xx", color.NRGBA{R: 0x00, G: 0x9E, B: 0x73, A: 0xFF}},             // bluish green
	{"202 queued", color.NRGBA{R: 0x56, G: 0xB4, B: 0xE9, A: 0xFF}},      // sky blue
	{"304 revalidated", color.NRGBA{R: 0x00, G: 0x72, B: 0xB2, A: 0xFF}}, // blue
	{"4xx", color.NRGBA{R: 0xCC, G: 0x79, B: 0xA7, A: 0xFF}},             // reddish purple
	{"429 limited", color.NRGBA{R: 0xE6, G: 0x9F, B: 0x00, A: 0xFF}},     // orange
	{"503 unavailable", color.NRGBA{R: 0xD5, G: 0x5E, B: 0x00, A: 0xFF}}, // vermillion
	{"other 5xx", color.NRGBA{R: 0x8B, G: 0x1A, B: 0x1A, A: 0xFF}},       // dark red
	{"transport error", color.NRGBA{R: 0x40, G: 0x40, B: 0x40, A: 0xFF}}, // dark grey
	{"unsent", color.NRGBA{R: 0xB0, G: 0xB0, B: 0xB0, A: 0xFF}},          // light grey
}

const (
	nStatusClasses = 9
	classTransport = 7
	classUnsent    = 8
)

// statusClassOf returns the index in statusClasses of an HTTP status code
// as results.Bucket.Codes keys it ("0": no response at all).
func statusClassOf(code string) int {
	n, err := strconv.Atoi(code)
	switch {
	case err != nil || n == 0:
		return classTransport
	case n == 202:
		return 1
	case n >= 200 && n < 300:
		return 0
	case n == 304:
		return 2
	case n == 429:
		return 4
	case n == 503:
		return 5
	case n >= 500:
		return 6
	default: // 1xx, other 3xx and 4xx: answered, not served
		return 3
	}
}

// statusChart stacks the answers of one stream of one variant per second by
// class: where a latency chart shows how fast the answers were, this shows
// what they were — a CP service's 503s during a partition, an admission
// controller's 429s, a queue's 202s, a generator that could not keep up.
func statusChart(r *results.Results, v *results.Variant, st *results.Stream, end float64) *spec {
	s := newTimeSpec(r, "status-"+fileName(st.Name)+"-"+fileName(v.Name), "status", st.Name,
		fmt.Sprintf("Answers to %s per second, variant %s", st.Name, v.Name), "requests/s", end)
	bars := &stackedSeconds{counts: make([][nStatusClasses]float64, len(st.Seconds))}
	var used [nStatusClasses]bool
	for i, b := range st.Seconds {
		bars.t = append(bars.t, float64(b.T))
		for code, n := range b.Codes {
			c := statusClassOf(code)
			bars.counts[i][c] += float64(n)
			used[c] = used[c] || n > 0
		}
		bars.counts[i][classUnsent] += float64(b.Unsent)
		used[classUnsent] = used[classUnsent] || b.Unsent > 0
	}
	for i, c := range statusClasses {
		if used[i] {
			s.addLegend(c.name, legendBox(c.color, false))
		}
	}
	s.plot.Add(bars)
	_, _, _, ymax := bars.DataRange()
	s.plot.Y.Min, s.plot.Y.Max = 0, math.Max(1, ymax*1.15) // headroom for the fault labels
	return s
}

// stackedSeconds draws one stacked bar per second, a band per status class.
type stackedSeconds struct {
	t      []float64 // the second each bar covers, [t, t+1)
	counts [][nStatusClasses]float64
}

// Plot implements plot.Plotter.
func (b *stackedSeconds) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i, t := range b.t {
		x0, x1 := trX(t), trX(t+1)
		if x1 <= c.Min.X || x0 >= c.Max.X {
			continue
		}
		x0, x1 = max(x0, c.Min.X), min(x1, c.Max.X)
		base := 0.0
		for k, n := range b.counts[i] {
			if n == 0 {
				continue
			}
			y0, y1 := trY(base), trY(base+n)
			base += n
			c.FillPolygon(statusClasses[k].color, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
		}
	}
}

// DataRange implements plot.DataRanger.
func (b *stackedSeconds) DataRange() (xmin, xmax, ymin, ymax float64) {
	for i, t := range b.t {
		total := 0.0
		for _, n := range b.counts[i] {
			total += n
		}
		xmin, xmax, ymax = math.Min(xmin, t), math.Max(xmax, t+1), math.Max(ymax, total)
	}
	return xmin, xmax, 0, ymax
}
