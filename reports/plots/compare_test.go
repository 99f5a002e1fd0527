package plots

import (
	"bytes"
	"flag"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/reports/compare"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/reports/results/resultstest"
)

var comparePNG = flag.String("compare-png", "", "also write the comparison charts of TestCompareChartsPNG as PNG into this directory, to look at them")

// duetRuns builds rounds paired runs a side of a one-fault scenario, through
// the load engine's histograms (resultstest): variant cp, streams reads (40/s)
// and writes (10/s), 30 s, Postgres cut from 10 s to 20 s, during which
// latency is twenty times higher and three reads in four fail. Every round
// shifts both sides' latency alike (the duet's shared noise) and each side a
// little on its own; head's reads are slowdown times slower. In the first
// head round every write fails during the cut, so the writes' rows of that
// phase have a zero and cannot be judged.
func duetRuns(rounds int, slowdown float64) (base, head []*results.Results) {
	for round := range rounds {
		shared := 1 + 0.04*math.Sin(1.7*float64(round))
		for sideIdx, runs := range []*[]*results.Results{&base, &head} {
			own := 1 + 0.01*math.Cos(2.3*float64(round)+float64(sideIdx))
			slow := 1.0
			if sideIdx == 1 {
				slow = slowdown
			}
			noWrites := sideIdx == 1 && round == 0
			*runs = append(*runs, duetRun(round, shared*own, slow, noWrites))
		}
	}
	return base, head
}

func duetRun(round int, scale, readSlowdown float64, noWritesDuringCut bool) *results.Results {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(round) * time.Minute)
	r := &results.Results{
		SchemaVersion: results.SchemaVersion,
		Scenario:      results.ScenarioInfo{Name: "partition", Seed: 42, Quick: true, DurationS: 30},
		Status:        results.StatusOK,
		StartedAt:     t0,
		Environment:   results.Environment{OS: "linux", Arch: "amd64", CPUs: 2},
	}
	v := results.Variant{Name: "cp", Client: "proxy", Status: results.StatusOK, StartedAt: t0}
	faults := []results.FaultWindow{{Name: "db-cut", Link: "backend->postgres", Toxic: "down",
		PlannedAtS: 10, PlannedForS: 10, ActiveFromS: 10.01, ActiveToS: 20.02}}
	request := func(read bool, rps int) func(t, i int) load.Sample {
		return func(t, i int) load.Sample {
			during := t >= 10 && t < 20
			typical := 2 * scale * (1 + 0.05*float64(t%3))
			if read {
				typical *= readSlowdown
			}
			x := load.Sample{Code: 200, Success: true}
			switch {
			case during && (!read && noWritesDuringCut || read && i%4 != 0):
				x = load.Sample{Code: 503}
				typical *= 30
			case during:
				typical *= 20
			}
			x.Latency = resultstest.Spread(time.Duration(typical*float64(time.Millisecond)), i, rps)
			return x
		}
	}
	resultstest.Measure(&v, 30, faults,
		resultstest.Stream{Name: "reads", Method: "GET", Rate: 40, Request: request(true, 40)},
		resultstest.Stream{Name: "writes", Method: "PUT", Rate: 10, Request: request(false, 10)})
	r.Variants = []results.Variant{v}
	return r
}

func mustCompareRuns(t *testing.T, base, head []*results.Results) *compare.Report {
	t.Helper()
	rep, err := compare.CompareRuns(base, head, compare.WithPaired(len(base) == len(head) && len(base) > 1))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestRenderCompareCharts(t *testing.T) {
	base, head := duetRuns(12, 1.3)
	rep := mustCompareRuns(t, base, head)
	charts, err := RenderCompare(rep, base, head)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"forest-p50", "forest-p99", "forest-throughput", "forest-success_ratio",
		"spectrum-cp-reads", "latency-cp-reads", "spectrum-cp-writes", "latency-cp-writes",
	}
	var got []string
	for _, c := range charts {
		got = append(got, c.Name)
		if !bytes.HasPrefix(c.SVG, []byte("<svg")) || !bytes.HasSuffix(bytes.TrimSpace(c.SVG), []byte("</svg>")) {
			t.Errorf("%s: inline SVG is not an <svg> element: %.80q", c.Name, c.SVG)
		}
		if bytes.Contains(c.SVG, []byte("http://")) || bytes.Contains(c.SVG, []byte("https://")) {
			t.Errorf("%s: inline SVG holds a URL", c.Name)
		}
		if len(c.Files) != 0 {
			t.Errorf("%s: files written: %v", c.Name, c.Files)
		}
		if c.Kind != "forest" && c.Stream != "cp/reads" && c.Stream != "cp/writes" {
			t.Errorf("%s: stream %q, want variant/stream", c.Name, c.Stream)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("charts = %v, want %v", got, want)
	}
	if _, err := RenderCompare(nil, base, head); err == nil {
		t.Error("no error for a nil report")
	}
	forestOnly, err := RenderCompare(rep, nil, nil)
	if err != nil || len(forestOnly) != 4 {
		t.Errorf("without runs: %d charts, %v; want the 4 forest plots", len(forestOnly), err)
	}
}

// drawing is what a chart drew, from a recording canvas: every stroked
// path and filled glyph with the colour, width and dashes it was drawn in.
type drawing struct {
	strokes []mark
}

type mark struct {
	colour color.Color
	width  vg.Length
	dashed bool
	pts    []vg.Point
}

// record draws s on a recorder and replays the pen state (with Push and
// Pop) to attribute every stroke its style.
func record(s compareSpec) drawing {
	rec := &recorder.Canvas{}
	s.draw(draw.NewCanvas(rec, chartWidth, s.canvasHeight))
	type pen struct {
		colour color.Color
		width  vg.Length
		dashed bool
	}
	var cur pen
	var stack []pen
	var d drawing
	for _, a := range rec.Actions {
		switch a := a.(type) {
		case *recorder.Push:
			stack = append(stack, cur)
		case *recorder.Pop:
			cur, stack = stack[len(stack)-1], stack[:len(stack)-1]
		case *recorder.SetColor:
			cur.colour = a.Color
		case *recorder.SetLineWidth:
			cur.width = a.Width
		case *recorder.SetLineDash:
			cur.dashed = len(a.Dashes) > 0
		case *recorder.Stroke:
			m := mark{colour: cur.colour, width: cur.width, dashed: cur.dashed}
			for _, p := range a.Path {
				m.pts = append(m.pts, p.Pos)
			}
			d.strokes = append(d.strokes, m)
		}
	}
	return d
}

func sameColour(a, b color.Color) bool {
	if a == nil || b == nil {
		return false
	}
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}

// inData: a stroke left of the legend column (the legend repeats every
// style in its thumbnails).
func inData(m mark) bool {
	for _, p := range m.pts {
		if p.X >= chartWidth-legendColumn {
			return false
		}
	}
	return true
}

// intervals are the solid strokes of the interval bars' width in colour;
// limits the dashed vertical lines in colour. Both within the data area.
func (d drawing) intervals(colour color.Color) []mark {
	var out []mark
	for _, m := range d.strokes {
		if inData(m) && !m.dashed && sameColour(m.colour, colour) && m.width == vg.Points(intervalWidth) {
			out = append(out, m)
		}
	}
	return out
}

func (d drawing) limits(colour color.Color) []vg.Length {
	var out []vg.Length
	for _, m := range d.strokes {
		if inData(m) && m.dashed && sameColour(m.colour, colour) && len(m.pts) == 2 && m.pts[0].X == m.pts[1].X {
			out = append(out, m.pts[0].X)
		}
	}
	return out
}

func forestOf(t *testing.T, rep *compare.Report, m compare.Metric) compareSpec {
	t.Helper()
	for _, s := range forestCharts(rep) {
		if s.name == "forest-"+string(m) {
			return s
		}
	}
	t.Fatalf("no forest plot of %s", m)
	return compareSpec{}
}

// TestForestDrawsRegressionsBeyondTheLimit: on the p50 and p99 panels of a
// duet whose reads are 30 % slower, every regressed gated row is drawn as a
// red bar lying wholly right of the red dashed limit (×1.10), one bar per
// such row; a phase row beyond the limit is a lead, not a verdict, and is
// not red; no bar is drawn for a row that was not judged.
func TestForestDrawsRegressionsBeyondTheLimit(t *testing.T) {
	base, head := duetRuns(12, 1.3)
	rep := mustCompareRuns(t, base, head)
	for _, m := range []compare.Metric{compare.MetricP50, compare.MetricP99} {
		var regressed, unjudged int
		for _, row := range rep.Rows {
			switch {
			case row.Metric != m:
			case row.Change == compare.ChangeRegression && row.Gated:
				regressed++
			case row.Why != "":
				unjudged++
			}
		}
		if regressed == 0 || unjudged == 0 {
			t.Fatalf("%s: the duet should have regressed rows and rows not judged, has %d and %d", m, regressed, unjudged)
		}
		d := record(forestOf(t, rep, m))
		limits := d.limits(regressedColor)
		if len(limits) != 1 {
			t.Fatalf("%s: %d regression limits drawn, want 1", m, len(limits))
		}
		bars := d.intervals(regressedColor)
		if len(bars) != regressed {
			t.Errorf("%s: %d red bars for %d regressed rows", m, len(bars), regressed)
		}
		for _, b := range bars {
			if left := min(b.pts[0].X, b.pts[len(b.pts)-1].X); left <= limits[0] {
				t.Errorf("%s: a regressed bar starts at %v, not beyond the limit at %v", m, left, limits[0])
			}
		}
		if grey := d.intervals(unjudgedColor); len(grey) != 0 {
			t.Errorf("%s: %d bars drawn for rows without an interval", m, len(grey))
		}
	}
}

// TestForestOneRunASideIsAllGrey: with one run a side nothing is judged:
// no bar at all, and the panel still draws the limits.
func TestForestOneRunASideIsAllGrey(t *testing.T) {
	base, head := duetRuns(1, 1.3)
	rep := mustCompareRuns(t, base, head)
	for _, s := range forestCharts(rep) {
		d := record(s)
		for _, c := range []color.Color{regressedColor, improvedColor, unchangedColor, unjudgedColor} {
			if bars := d.intervals(c); len(bars) != 0 {
				t.Errorf("%s: %d bars drawn with one run a side", s.name, len(bars))
			}
		}
		if len(d.limits(regressedColor)) != 1 {
			t.Errorf("%s: the regression limit is not drawn", s.name)
		}
	}
}

func TestForestRowOfAnUnjudgedRow(t *testing.T) {
	row := compare.Row{Variant: "cp", Stream: "reads", Phase: "whole", Metric: compare.MetricP50, Relative: true,
		Base: 2, Head: 2.5, Est: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Change: compare.ChangeInsufficient, Why: "1 run a side", Gated: true}
	fr := newForestRow(row)
	if fr.judged || fr.at != 1.25 || !math.IsNaN(fr.lo) || fr.note != "×1.25 not judged" || fr.label != "cp / reads / whole" {
		t.Errorf("unjudged row: %+v", fr)
	}
	row.Base = 0
	if fr := newForestRow(row); !math.IsNaN(fr.at) || fr.note != "not judged" {
		t.Errorf("unjudged row without a ratio: %+v", fr)
	}
}

func TestRatioTicks(t *testing.T) {
	for _, tc := range []struct {
		min, max float64
		want     []string // labelled ticks
	}{
		{0.97, 1.16, []string{"×1", "×1.05", "×1.1", "×1.15"}},
		{0.5, 1.9, []string{"×0.6", "×0.8", "×1", "×1.2", "×1.4", "×1.6", "×1.8"}},
		{0.05, 30, []string{"×0.05", "×0.1", "×0.2", "×0.5", "×1", "×2", "×5", "×10", "×20"}},
	} {
		var got []string
		for _, tk := range (ratioTicks{}).Ticks(tc.min, tc.max) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("ratio ticks over [%g, %g] = %v, want %v", tc.min, tc.max, got, tc.want)
		}
	}
	var got []string
	for _, tk := range (differenceTicks{}).Ticks(-0.031, 0.012) {
		got = append(got, tk.Label)
	}
	if want := "−0.03 −0.02 −0.01 0 +0.01"; strings.Join(got, " ") != want {
		t.Errorf("difference ticks = %v, want %s", got, want)
	}
}

// TestMedianSpectrum: the median line is drawn as far as every run
// resolves, without the runs' maxima.
func TestMedianSpectrum(t *testing.T) {
	a := []vgPoint{{1, 1}, {2, 2}, {10, 4}, {100, 9}, {150, 80}}
	b := []vgPoint{{1, 3}, {2, 4}, {10, 8}, {40, 20}}
	c := []vgPoint{{1, 2}, {2, 3}, {10, 6}, {100, 10}, {400, 90}}
	got := medianSpectrum(xys(a, b, c))
	want := []vgPoint{{1, 2}, {2, 3}, {10, 6}}
	if len(got) != len(want) {
		t.Fatalf("median %v, want %v", got, want)
	}
	for i, w := range want {
		if got[i].X != w[0] || got[i].Y != w[1] {
			t.Errorf("point %d: %v, want %v", i, got[i], w)
		}
	}
}

type vgPoint = [2]float64

func xys(runs ...[]vgPoint) []plotter.XYs {
	var out []plotter.XYs
	for _, run := range runs {
		var pts plotter.XYs
		for _, p := range run {
			pts = append(pts, plotter.XY{X: p[0], Y: p[1]})
		}
		out = append(out, pts)
	}
	return out
}

func TestPerSecondAcrossRuns(t *testing.T) {
	st := func(p50s ...float64) *results.Stream {
		s := &results.Stream{}
		for i, v := range p50s {
			s.Seconds = append(s.Seconds, results.Bucket{T: i, Requests: 1, Successes: int64(min(1, int(v))), Latency: results.Latency{P50: v}})
		}
		return s
	}
	secs := perSecond([]*results.Stream{st(1, 0, 3), st(2, 0, 5), st(6, 0, 4)}, func(b results.Bucket) (float64, bool) {
		return b.Latency.P50, b.Successes > 0
	})
	if len(secs) != 2 || secs[0] != (acrossRuns{t: 0, med: 2, low: 1, top: 6}) || secs[1] != (acrossRuns{t: 2, med: 4, low: 3, top: 5}) {
		t.Errorf("per second: %+v", secs)
	}
	if segs := consecutive(secs); len(segs) != 2 {
		t.Errorf("second 1 has no value: want two segments, got %d", len(segs))
	}
}

// TestCompareChartsPNG renders every comparison chart as PNG at its size
// and checks it holds a drawing; with -compare-png DIR it keeps them there.
func TestCompareChartsPNG(t *testing.T) {
	base, head := duetRuns(12, 1.3)
	rep := mustCompareRuns(t, base, head)
	dir := *comparePNG
	if dir == "" {
		dir = t.TempDir()
	}
	specs := forestCharts(rep)
	for _, vs := range comparedStreams(rep) {
		sides := [2]compareSide{newCompareSide(0, base, vs[0], vs[1]), newCompareSide(1, head, vs[0], vs[1])}
		specs = append(specs, compareSpec{spectrumOverlay(vs[0], vs[1], sides), chartHeight}, compareSpec{secondsOverlay(vs[0], vs[1], sides), chartHeight})
	}
	for _, s := range specs {
		c := vgimg.NewWith(vgimg.UseWH(chartWidth, s.canvasHeight), vgimg.UseDPI(pngDPI))
		s.draw(draw.New(c))
		var buf bytes.Buffer
		if err := png.Encode(&buf, c.Image()); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, s.name+".png")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		img := decodePNG(t, path)
		if colours, nonWhite := census(img); colours < 16 || nonWhite < img.Bounds().Dx()*img.Bounds().Dy()/100 {
			t.Errorf("%s: %d colours, %d pixels not white: no drawing", s.name, colours, nonWhite)
		}
	}
}

// TestSpectrumOverlayPhasesAlign: a phase keeps its dashing on both sides
// even when the first run of a side has no spectrum for it (head's first
// round has no successful write during the cut), and every side and phase
// gets its line.
func TestSpectrumOverlayPhasesAlign(t *testing.T) {
	base, head := duetRuns(12, 1.3)
	sides := [2]compareSide{newCompareSide(0, base, "cp", "writes"), newCompareSide(1, head, "cp", "writes")}
	want := []string{"before db-cut", "during db-cut", "after db-cut"}
	if got := spectrumPhaseNames(sides); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("phases %v, want %v", got, want)
	}
	if s := spectrumOverlay("cp", "writes", sides); s == nil || s.legendEntries != 2*len(want) {
		t.Errorf("spectrum overlay: %v", s)
	}
	old := [2]compareSide{newCompareSide(0, []*results.Results{synthetic(1, 1, 10, 10)}, "v0", "s0"), newCompareSide(1, []*results.Results{synthetic(1, 1, 10, 10)}, "v0", "s0")}
	if s := spectrumOverlay("v0", "s0", old); s != nil {
		t.Error("a spectrum overlay of runs without spectra")
	}
}
