package plots

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/vg"

	"github.com/loadlab/loadlab/reports/results"
)

func TestRenderWritesEveryChart(t *testing.T) {
	dir := t.TempDir()
	r := synthetic(2, 2, 60, 100)
	charts, err := Render(r, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"latency-s0", "throughput-s0", "success-s0", "status-s0-v0", "status-s0-v1",
		"latency-s1", "throughput-s1", "success-s1", "status-s1-v0", "status-s1-v1",
		"metric-cache_hit_ratio", "metric-queue_depth",
		"summary-latency", "summary-success",
	}
	var got []string
	for _, c := range charts {
		got = append(got, c.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("charts = %v, want %v", got, want)
	}
	for _, c := range charts {
		for _, f := range DefaultFormats {
			path := c.Files[f]
			if path != filepath.Join(dir, c.Name+"."+f) {
				t.Errorf("%s: %s file = %q", c.Name, f, path)
			}
		}
		if !bytes.HasPrefix(c.SVG, []byte("<svg")) || !bytes.HasSuffix(bytes.TrimSpace(c.SVG), []byte("</svg>")) {
			t.Errorf("%s: inline SVG is not an <svg> element: %.80q", c.Name, c.SVG)
		}
		if bytes.Contains(c.SVG, []byte("http://")) {
			t.Errorf("%s: inline SVG holds a URL", c.Name)
		}
		checkPNG(t, c.Files[PNG])
	}
}

// checkPNG decodes a chart and checks that it has the expected size and
// holds a drawing: many colours and a fair share of non-white pixels.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	img := decodePNG(t, path)
	w, h, dpi := chartWidth, chartHeight, vg.Length(pngDPI)
	wantW, wantH := int(w/vg.Inch*dpi+0.5), int(h/vg.Inch*dpi+0.5)
	if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
		t.Errorf("%s: size %dx%d, want %dx%d", path, b.Dx(), b.Dy(), wantW, wantH)
	}
	colours, nonWhite := census(img)
	total := img.Bounds().Dx() * img.Bounds().Dy()
	if colours < 16 {
		t.Errorf("%s: only %d distinct colours", path, colours)
	}
	if nonWhite < total/100 {
		t.Errorf("%s: only %d of %d pixels are not white", path, nonWhite, total)
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func census(img image.Image) (colours, nonWhite int) {
	seen := map[color.RGBA]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			seen[c] = true
			if c.R < 0xF0 || c.G < 0xF0 || c.B < 0xF0 {
				nonWhite++
			}
		}
	}
	return len(seen), nonWhite
}

func TestRenderIsDeterministic(t *testing.T) {
	r := synthetic(2, 1, 30, 50)
	a, err := Render(r, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(r, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		for _, f := range DefaultFormats {
			x, _ := os.ReadFile(a[i].Files[f])
			y, _ := os.ReadFile(b[i].Files[f])
			if !bytes.Equal(x, y) {
				t.Errorf("%s.%s differs between two renders", a[i].Name, f)
			}
		}
	}
}

func TestRenderRejectsUnknownFormat(t *testing.T) {
	if _, err := Render(synthetic(1, 1, 5, 10), t.TempDir(), "gif"); err == nil {
		t.Fatal("no error for format gif")
	}
}

func TestRenderOnlySVG(t *testing.T) {
	charts, err := Render(synthetic(1, 1, 5, 10), t.TempDir(), SVG)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range charts {
		if _, ok := c.Files[PNG]; ok || c.SVG == nil {
			t.Errorf("%s: files %v, svg %d bytes", c.Name, c.Files, len(c.SVG))
		}
	}
}

// TestRenderEdgeCases feeds runs a real harness can produce when things go
// wrong: no buckets, zero latencies, a fault never applied or never removed.
func TestRenderEdgeCases(t *testing.T) {
	r := synthetic(2, 1, 10, 10)
	r.Variants[0].Streams[0].Seconds = nil
	r.Variants[0].Faults[0].ActiveFromS, r.Variants[0].Faults[0].ActiveToS = -1, -1
	r.Variants[1].Faults[0].ActiveToS = -1
	for i := range r.Variants[1].Streams[0].Seconds {
		r.Variants[1].Streams[0].Seconds[i].Latency = results.Latency{}
		r.Variants[1].Streams[0].Seconds[i].Requests = int64(i % 2)
	}
	if _, err := Render(r, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	empty := synthetic(0, 0, 0, 0)
	charts, err := Render(empty, t.TempDir())
	if err != nil || len(charts) != 0 {
		t.Fatalf("empty results: %d charts, %v", len(charts), err)
	}
}

// TestRenderFast renders a full-length run (600 s × 3 variants × 3 streams)
// and fails when it is far from the budget of well under a second.
func TestRenderFast(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	r := synthetic(3, 3, 600, 200)
	start := time.Now()
	if _, err := Render(r, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("rendered 600 s × 3 variants × 3 streams in %v", took)
	if took > 3*time.Second { // generous: the machine is shared
		t.Errorf("render took %v", took)
	}
}

func BenchmarkRender(b *testing.B) {
	r := synthetic(3, 3, 600, 200) // 1.08M requests
	dir := b.TempDir()
	for b.Loop() {
		if _, err := Render(r, dir); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRenderKeepsNamesApart(t *testing.T) {
	r := synthetic(1, 2, 5, 10)
	r.Variants[0].Streams[0].Name, r.Variants[0].Streams[1].Name = "a b", "a/b"
	charts, err := Render(r, t.TempDir(), SVG)
	if err != nil {
		t.Fatal(err)
	}
	// Per stream: latency, throughput, success, status of the one variant.
	if charts[0].Name != "latency-a_b" || charts[4].Name != "latency-a_b-2" {
		t.Errorf("names %q and %q", charts[0].Name, charts[4].Name)
	}
}

// TestLostWritesChart: the lost-writes summary appears when a variant lost
// an acknowledged write or a check judges lost writes (a durability lesson
// shows its zeros too), and not for a run that lost nothing unasked.
func TestLostWritesChart(t *testing.T) {
	run := func(lost int64, checked bool) *results.Results {
		r := &results.Results{}
		for i, n := range []int64{0, lost} {
			v := results.Variant{Name: []string{"sync", "async"}[i], History: &results.History{AckedWrites: 100, LostWrites: n}}
			if checked {
				v.Checks = []results.CheckResult{{Metric: "lost_writes"}}
			}
			r.Variants = append(r.Variants, v)
		}
		return r
	}
	if s := summaryLostWritesChart(run(0, false)); s != nil {
		t.Error("a chart of zeros for a run that lost nothing and judged no lost writes")
	}
	for _, r := range []*results.Results{run(7, false), run(0, true)} {
		charts, err := Render(r, t.TempDir(), SVG)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(charts, func(c Chart) bool { return c.Name == "summary-lost-writes" })
		if i < 0 {
			t.Fatal("no lost-writes chart")
		}
		if !bytes.Contains(charts[i].SVG, []byte("of 100 acknowledged")) {
			t.Errorf("the bars are not labelled with their counts")
		}
	}
}
