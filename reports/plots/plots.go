// Package plots draws the charts of a run from its results.json.
//
// The pipeline: Render reads a *results.Results, builds one chart spec per
// question a reader asks (how did latency, throughput and the success ratio
// of each stream move over time, where did the tail go in each phase, how
// did every answer spread over latency second by second, what did each
// variant answer — 2xx, 202,
// 429, 503, transport errors — second by second, what did the scraped
// target metrics do, how do the variants compare overall), then renders every spec to each
// requested format concurrently and writes the files atomically. Variants
// are always overlaid on one chart with a colour each; fault windows are
// shaded across the full height and labelled, so cause and effect line up.
//
// Output is deterministic: the same results give byte-identical files.
package plots

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	imgdraw "image/draw"
	"io"
	"path/filepath"
	"runtime"
	"sync"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/loadlab/loadlab/reports/results"
)

// Formats Render knows.
const (
	SVG = "svg"
	PNG = "png"
)

// DefaultFormats are rendered when Render is given none.
var DefaultFormats = []string{SVG, PNG}

// Chart is one rendered chart.
type Chart struct {
	Name   string            // file stem, unique in a run: "latency-reads", "metric-queue_depth", "summary-latency"
	Title  string            // human title, as drawn on the chart
	Kind   string            // "latency", "throughput", "success", "spectrum", "status", "heatmap", "metric", "summary" or "timeline" (ops around an anomaly)
	Stream string            // the stream of latency, throughput and success charts; empty otherwise
	Files  map[string]string // format ("svg", "png") → path of the written file
	// SVG is the chart as an HTML5-inlinable <svg> element (no XML prolog,
	// no namespace attributes); nil when SVG was not rendered.
	SVG []byte
}

// spec is a chart before rendering.
type spec struct {
	name, kind, stream string
	plot               *plot.Plot
	legend             plot.Legend
	legendEntries      int
	// lower is an optional panel under plot, sharing its x axis, for a
	// quantity on another scale (requests in flight under throughput).
	lower *plot.Plot
}

func newSpec(name, kind, stream, title, xLabel, yLabel string) *spec {
	l := plot.NewLegend()
	l.Top, l.Left = true, true
	l.TextStyle.Font.Size = vg.Points(9)
	return &spec{name: name, kind: kind, stream: stream, plot: newPlot(title, xLabel, yLabel), legend: l}
}

func (s *spec) addLegend(name string, thumbs ...plot.Thumbnailer) {
	s.legend.Add(name, thumbs...)
	s.legendEntries++
}

// draw lays the plot out on c, with the legend in its own column on the
// right so it never covers data.
func (s *spec) draw(c draw.Canvas) {
	if s.legendEntries == 0 {
		s.drawPlots(c)
		return
	}
	s.drawPlots(draw.Crop(c, 0, -legendColumn, 0, 0))
	top := s.plot.Title.TextStyle.Rectangle(s.plot.Title.Text).Size().Y + s.plot.Title.Padding
	width := c.Max.X - c.Min.X
	s.legend.Draw(draw.Crop(c, width-legendColumn+vg.Points(8), 0, 0, -top))
}

// lowerShare is the part of a chart's height its lower panel takes; a
// chart with one is taller by as much, so its main plot keeps its size.
const lowerShare = 0.36

func (s *spec) height() vg.Length {
	if s.lower != nil {
		return chartHeight / (1 - lowerShare)
	}
	return chartHeight
}

// drawPlots draws the plot, and the lower panel under it with the data
// areas' left edges lined up (their y axes' labels differ in width) so
// that one second is at the same x in both.
func (s *spec) drawPlots(c draw.Canvas) {
	if s.lower == nil {
		s.plot.Draw(c)
		return
	}
	split := (c.Max.Y - c.Min.Y) * lowerShare
	top, bottom := draw.Crop(c, 0, 0, split, 0), draw.Crop(c, 0, 0, 0, -(c.Max.Y-c.Min.Y-split))
	topLeft := s.plot.DataCanvas(top).Min.X - top.Min.X
	bottomLeft := s.lower.DataCanvas(bottom).Min.X - bottom.Min.X
	shift := max(topLeft, bottomLeft)
	s.plot.Draw(draw.Crop(top, shift-topLeft, 0, 0, 0))
	s.lower.Draw(draw.Crop(bottom, shift-bottomLeft, 0, 0, 0))
}

// build makes the specs of every chart of r, in display order.
func build(r *results.Results) []*spec {
	end := timeEnd(r)
	streams := streamNames(r)
	var specs []*spec
	for _, st := range streams {
		specs = append(specs, latencyChart(r, st, end), throughputChart(r, st, end), successChart(r, st, end))
		if b := bytesChart(r, st, end); b != nil {
			specs = append(specs, b)
		}
		if sp := spectrumChart(r, st); sp != nil {
			specs = append(specs, sp)
		}
		for i := range r.Variants {
			if stream := findStream(&r.Variants[i], st); stream != nil {
				specs = append(specs, statusChart(r, &r.Variants[i], stream, end))
				if hm := heatmapChart(r, &r.Variants[i], stream, end); hm != nil {
					specs = append(specs, hm)
				}
			}
		}
	}
	for _, name := range metricNames(r) {
		specs = append(specs, metricChart(r, name, end))
	}
	if len(streams) > 0 && len(r.Variants) > 0 {
		specs = append(specs, summaryLatencyChart(r, streams), summarySuccessChart(r, streams))
	}
	for _, sp := range []*spec{summaryIncrementsChart(r), summaryLostWritesChart(r)} {
		if sp != nil {
			specs = append(specs, sp)
		}
	}
	specs = append(specs, timelineCharts(r)...)
	// Names that differ only in characters fileName replaces would share a
	// file: number the later ones.
	used := map[string]int{}
	for _, s := range specs {
		if n := used[s.name]; n > 0 {
			used[s.name]++
			s.name = fmt.Sprintf("%s-%d", s.name, n+1)
		} else {
			used[s.name] = 1
		}
	}
	return specs
}

// Render draws every chart of r in each format (DefaultFormats if none) and
// writes them into dir as <chart name>.<format>. Charts are rendered
// concurrently; the result is in display order. On error the charts that
// were written are still returned.
func Render(r *results.Results, dir string, formats ...string) ([]Chart, error) {
	if r == nil {
		return nil, errors.New("plots: no results")
	}
	if len(formats) == 0 {
		formats = DefaultFormats
	}
	for _, f := range formats {
		if f != SVG && f != PNG {
			return nil, fmt.Errorf("plots: unknown format %q (want %q or %q)", f, SVG, PNG)
		}
	}
	specs := build(r)
	charts := make([]Chart, len(specs))
	errs := make([]error, len(specs))

	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(specs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs, _ := renderers.Get().(*renderer)
			if rs == nil {
				rs = new(renderer)
			}
			defer renderers.Put(rs)
			for i := range work {
				charts[i], errs[i] = rs.renderChart(specs[i], dir, formats)
			}
		}()
	}
	for i := range specs {
		work <- i
	}
	close(work)
	wg.Wait()
	return charts, errors.Join(errs...)
}

// renderChart renders one spec to every format and writes the files.
func (rs *renderer) renderChart(s *spec, dir string, formats []string) (Chart, error) {
	ch := Chart{Name: s.name, Title: s.plot.Title.Text, Kind: s.kind, Stream: s.stream, Files: map[string]string{}}
	// The chart is laid out and drawn once, onto a recorder, and the
	// recording replayed onto the canvas of each format: laying a plot
	// out measures every title, label and tick, glyph by glyph, which
	// cost more than drawing the SVG itself. (The replay looks fonts up
	// in gonum's Liberation collection, the only fonts the charts use.)
	rec, err := recordChart(s)
	if err != nil {
		return ch, fmt.Errorf("plots: %s: %w", s.name, err)
	}
	for _, f := range formats {
		data, err := rs.encode(rec, s.height(), f)
		if err != nil {
			return ch, fmt.Errorf("plots: %s.%s: %w", s.name, f, err)
		}
		path := filepath.Join(dir, s.name+"."+f)
		if err := results.WriteFileAtomic(path, data); err != nil {
			return ch, fmt.Errorf("plots: %w", err)
		}
		ch.Files[f] = path
		if f == SVG {
			ch.SVG = inlineSVG(data)
		}
	}
	return ch, nil
}

// recordChart draws s on a recorder of its size. gonum/plot reports some
// misuse by panicking; that becomes an error here, not a crashed run.
func recordChart(s *spec) (rec *recorder.Canvas, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("draw: %v", p)
		}
	}()
	rec = new(recorder.Canvas)
	s.draw(draw.NewCanvas(rec, chartWidth, s.height()))
	return rec, nil
}

// encode replays a chart of height h on a canvas of the format and encodes
// it. Panics become errors, as in recordChart.
func (rs *renderer) encode(rec *recorder.Canvas, h vg.Length, format string) (data []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("draw: %v", p)
		}
	}()
	var buf bytes.Buffer
	switch format {
	case SVG:
		c := vgsvg.New(chartWidth, h)
		if err := rec.ReplayOn(c); err != nil {
			return nil, err
		}
		if _, err := c.WriteTo(&buf); err != nil {
			return nil, err
		}
	case PNG:
		if err := rs.encodePNG(&buf, rec, h); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// renderer renders charts for one worker goroutine. It keeps from chart to
// chart what a fresh PNG canvas and encoder would allocate each time: a
// chart's pixels (over a megabyte, allocated twice by vgimg, which copies
// the image it creates into its graphics context) and the encoder's
// deflater (another megabyte). Those allocations and the garbage collection
// they caused were a fifth of a round's rendering. Not safe for concurrent
// use; the zero value is ready.
type renderer struct {
	canvases map[vg.Length]*vgimg.Canvas // by chart height: charts with a lower panel are taller
	png      pngEncoder
}

// renderers keeps the renderers of one Render for the next: an A/B gate
// renders the reports of every round in one process.
var renderers sync.Pool

// encodePNG replays a chart of height h and writes it to w as a PNG.
func (rs *renderer) encodePNG(w io.Writer, rec *recorder.Canvas, h vg.Length) error {
	c := rs.canvases[h]
	if c == nil {
		c = vgimg.NewWith(vgimg.UseWH(chartWidth, h), vgimg.UseDPI(pngDPI))
		if rs.canvases == nil {
			rs.canvases = map[vg.Length]*vgimg.Canvas{}
		}
	} else {
		// Back to the state vgimg.NewWith leaves: a white page and the
		// default pen. The graphics state itself is restored by the
		// Pop below.
		imgdraw.Draw(c.Image(), c.Image().Bounds(), image.White, image.Point{}, imgdraw.Src)
		vg.Initialize(c)
	}
	// A drawing that fails or panics leaves the canvas in an unknown
	// state: it goes back only after a complete one, with its transforms
	// and styles popped.
	delete(rs.canvases, h)
	c.Push()
	if err := rec.ReplayOn(c); err != nil {
		return err
	}
	c.Pop()
	rs.canvases[h] = c
	return rs.png.encode(w, c.Image())
}

// inlineSVG turns an SVG document into an element HTML5 can inline: the XML
// prolog and comment go, and so do the namespace attributes, which HTML5
// implies for <svg> and which would otherwise be the page's only URLs.
func inlineSVG(doc []byte) []byte {
	if i := bytes.Index(doc, []byte("<svg")); i > 0 {
		doc = doc[i:]
	}
	for _, ns := range []string{
		`xmlns="http://www.w3.org/2000/svg"`,
		`xmlns:xlink="http://www.w3.org/1999/xlink"`,
	} {
		doc = bytes.Replace(doc, []byte(ns), nil, 1)
	}
	return bytes.Clone(doc)
}
