package plots

import (
	"image/color"
	"testing"

	"gonum.org/v1/plot/vg"

	"github.com/loadlab/loadlab/reports/results"
)

func TestStatusClassOf(t *testing.T) {
	for code, want := range map[string]string{
		"200": "2xx", "204": "2xx", "404": "4xx", "202": "202 queued", "301": "4xx", "413": "4xx",
		"304": "304 revalidated", "429": "429 limited", "503": "503 unavailable", "500": "other 5xx", "504": "other 5xx",
		"0": "transport error", "": "transport error",
	} {
		if got := statusClasses[statusClassOf(code)].name; got != want {
			t.Errorf("code %q: class %q, want %q", code, got, want)
		}
	}
}

// TestStatusChartShowsWhereTheRefusalsWere renders the status charts of a
// synthetic run in which variant v1 answers two thirds of its requests 503
// during the middle third, and v0 none: v1's chart must hold the 503 colour,
// only across the middle of its time axis, and v0's not at all (the legend
// column, which shows the colour beside its name, is left out).
func TestStatusChartShowsWhereTheRefusalsWere(t *testing.T) {
	charts, err := Render(synthetic(2, 1, 60, 90), t.TempDir(), PNG)
	if err != nil {
		t.Fatal(err)
	}
	refused := statusClasses[statusClassOf("503")].color
	for _, c := range charts {
		if c.Kind != "status" {
			continue
		}
		n, minX, maxX, width := pixelsOf(t, c.Files[PNG], refused)
		t.Logf("%s: %d pixels of 503s between x=%d and x=%d of %d", c.Name, n, minX, maxX, width)
		switch c.Name {
		case "status-s0-v0":
			if n != 0 {
				t.Errorf("%s: %d pixels of 503s, want none", c.Name, n)
			}
		case "status-s0-v1":
			// The data area spans most of the width left of the legend
			// column; the refusals hold its middle third.
			if n == 0 || minX < width/4 || maxX > width*7/10 {
				t.Errorf("%s: 503s drawn at x %d–%d of %d, want the middle third of the time axis", c.Name, minX, maxX, width)
			}
		default:
			t.Errorf("unexpected status chart %s", c.Name)
		}
	}
}

func pixelsOf(t *testing.T, path string, want color.NRGBA) (n, minX, maxX, width int) {
	t.Helper()
	img := decodePNG(t, path)
	b := img.Bounds()
	minX, maxX = b.Max.X, -1
	legendPx := legendColumn / vg.Inch * pngDPI
	legend := int(legendPx)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X-legend; x++ {
			if c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA); c == want {
				n++
				minX, maxX = min(minX, x), max(maxX, x)
			}
		}
	}
	return n, minX, maxX, b.Dx()
}

// TestHeatmapShowsTheSlowBand builds the heatmap of a run whose every
// answer takes 2–5 ms except during the middle third, when they take
// 20–50 ms: its latency axis must span exactly the bands that hold answers
// (so neither ridge is squeezed by empty decades), and results without
// counts get no heatmap.
func TestHeatmapShowsTheSlowBand(t *testing.T) {
	r := synthetic(1, 1, 30, 60)
	st := &r.Variants[0].Streams[0]
	for i := range st.Seconds {
		b := &st.Seconds[i]
		b.Heat = make([]int64, len(results.HeatBoundsMs))
		band := 5 // (2, 5] ms
		if b.T >= 10 && b.T < 20 {
			band = 8 // (20, 50] ms
		}
		b.Heat[band] = b.Requests
	}
	h := heatmapChart(r, &r.Variants[0], st, 30)
	if h == nil {
		t.Fatal("no heatmap for seconds with counts")
	}
	cells := h.plot.Y
	if cells.Min != 2 || cells.Max != 50*4 {
		t.Errorf("y axis %g–%g ms, want the bands that hold answers, 2–50 ms (and headroom)", cells.Min, cells.Max)
	}
	old := synthetic(1, 1, 5, 10)
	if heatmapChart(old, &old.Variants[0], &old.Variants[0].Streams[0], 5) != nil {
		t.Error("a heatmap for results without counts")
	}
}
