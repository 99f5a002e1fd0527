package plots

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/loadlab/loadlab/reports/compare"
	"github.com/loadlab/loadlab/reports/results"
)

// compareSpec is a chart of a comparison with its own height: a forest
// plot grows with its rows.
type compareSpec struct {
	*spec
	canvasHeight vg.Length
}

// RenderCompare draws the charts of a comparison, in display order, as
// inlinable SVG (Chart.SVG; nothing is written, Files is empty):
//
//   - one forest plot per metric ("forest-p50", Kind "forest"): every row
//     of rep as its head/base ratio (the success ratio: its difference) with
//     its interval, the limits beyond which a row regressed or improved,
//     regressed rows in red and rows not judged greyed;
//   - per variant and stream the report compares (Chart.Stream is
//     "variant/stream"), base and head overlaid: the latency spectrum of each
//     phase (Kind "spectrum", when the runs hold spectra) and p50 and p99 per
//     second with the fault windows shaded (Kind "latency").
//
// base and head are the runs rep was computed from (either may be empty:
// then only the forest plots are drawn). With several runs a side, every
// run is a thin line of the spectrum and the thick line their pointwise
// median; per second, the lines are the median over the runs and the band
// the range of their p50. On error the charts that rendered are returned.
func RenderCompare(rep *compare.Report, base, head []*results.Results) ([]Chart, error) {
	if rep == nil {
		return nil, errors.New("plots: no comparison")
	}
	specs := forestCharts(rep)
	for _, vs := range comparedStreams(rep) {
		sides := [2]compareSide{newCompareSide(0, base, vs[0], vs[1]), newCompareSide(1, head, vs[0], vs[1])}
		if sp := spectrumOverlay(vs[0], vs[1], sides); sp != nil {
			specs = append(specs, compareSpec{sp, chartHeight})
		}
		if sp := secondsOverlay(vs[0], vs[1], sides); sp != nil {
			specs = append(specs, compareSpec{sp, chartHeight})
		}
	}
	uniqueNames(specs)
	var charts []Chart
	var errs []error
	for _, s := range specs {
		data, err := encodeSVG(s.spec, s.canvasHeight)
		if err != nil {
			errs = append(errs, fmt.Errorf("plots: %s: %w", s.name, err))
			continue
		}
		charts = append(charts, Chart{Name: s.name, Title: s.plot.Title.Text, Kind: s.kind, Stream: s.stream, SVG: inlineSVG(data)})
	}
	return charts, errors.Join(errs...)
}

// encodeSVG draws s as an SVG document of the chart width and the given
// height. gonum/plot reports some misuse by panicking; that becomes an
// error here. (encode in plots.go sizes a chart by spec.height, which
// knows the heights of a run's charts, not a forest plot's.)
func encodeSVG(s *spec, height vg.Length) (data []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("draw: %v", p)
		}
	}()
	c := vgsvg.New(chartWidth, height)
	s.draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// comparedStreams lists the variant/stream pairs of rep's rows in the
// report's order.
func comparedStreams(rep *compare.Report) [][2]string {
	var out [][2]string
	for _, row := range rep.Rows {
		vs := [2]string{row.Variant, row.Stream}
		if !slices.Contains(out, vs) {
			out = append(out, vs)
		}
	}
	return out
}

// compareSide is what one side's runs hold of one variant and stream: the
// variant of every run that has it (for its fault windows) and the stream
// of every run that has it.
type compareSide struct {
	label    string
	colour   int       // index into variantColors
	width    vg.Length // of the side's median lines
	variants []results.Variant
	streams  []*results.Stream
}

// Base's median lines are the wider, so that where head's lie on them the
// base still shows along their edges.
var compareSides = [2]struct {
	label string
	width vg.Length
}{{"base", vg.Points(2.6)}, {"head", vg.Points(1.4)}}

// newCompareSide gathers side i (0 base, 1 head) from its runs.
func newCompareSide(i int, runs []*results.Results, variant, stream string) compareSide {
	sd := compareSide{label: compareSides[i].label, colour: i, width: compareSides[i].width}
	for _, run := range runs {
		v := run.Variant(variant)
		if v == nil {
			continue
		}
		sd.variants = append(sd.variants, *v)
		if st := findStream(v, stream); st != nil {
			sd.streams = append(sd.streams, st)
		}
	}
	return sd
}

// uniqueNames numbers the later of specs whose names collide (fileName
// maps "a b" and "a/b" alike): the names are the page's anchors.
func uniqueNames(specs []compareSpec) {
	used := map[string]int{}
	for _, s := range specs {
		used[s.name]++
		if n := used[s.name]; n > 1 {
			s.name = fmt.Sprintf("%s-%d", s.name, n)
		}
	}
}
