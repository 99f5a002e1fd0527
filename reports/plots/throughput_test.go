package plots

import (
	"image"
	"image/color"
	"math"
	"testing"
	"time"

	"gonum.org/v1/plot/vg"

	"github.com/loadlab/loadlab/reports/results"
)

// knee is a 30 s run of one stream offered 100 requests a second whose
// target can answer only 50 a second during the middle third: achieved
// halves while the requests in flight climb from 1 to 20 (Little's law:
// the queue grows), and the generator still sends everything it offers.
func knee(withFlow bool) *results.Results {
	st := results.Stream{Name: "reads", Method: "GET", WorkerLimit: 2000}
	for t := range 30 {
		b := results.Bucket{T: t, Requests: 100, Successes: 100}
		if withFlow {
			b.Sent, b.Achieved, b.InFlight, b.MaxInFlight = 100, 100, 1, 2
			if t >= 10 && t < 20 {
				b.Achieved, b.InFlight, b.MaxInFlight = 50, 20, 30
			}
		}
		st.Seconds = append(st.Seconds, b)
	}
	return &results.Results{
		SchemaVersion: results.SchemaVersion,
		Scenario:      results.ScenarioInfo{Name: "overload", DurationS: 30},
		StartedAt:     time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC),
		Variants:      []results.Variant{{Name: "v0", DurationS: 30, Streams: []results.Stream{st}}},
	}
}

// TestThroughputChartShowsTheKnee renders the throughput chart of knee: it
// must carry the in-flight panel under the throughput plot, one second at
// the same x in both (the variant's lines start and end in the same pixel
// columns), with the in-flight line highest during the middle third.
func TestThroughputChartShowsTheKnee(t *testing.T) {
	chart := renderOne(t, knee(true), "throughput-reads")
	img := decodePNG(t, chart.Files[PNG])
	b := img.Bounds()
	if want := pixels(chartHeight / (1 - lowerShare)); b.Dy() < want-1 || b.Dy() > want+1 {
		t.Fatalf("chart is %d px high, want %d: the in-flight panel adds height", b.Dy(), want)
	}
	split := b.Min.Y + int(float64(b.Dy())*(1-lowerShare))
	// Variant 0 is blue: a pixel of its lines, antialiased over white or
	// a fault band, is much bluer than red.
	blue := func(c color.NRGBA) bool { return int(c.B)-int(c.R) > 40 }
	top := columnsOf(img, blue, b.Min.Y, split)
	lower := columnsOf(img, blue, split, b.Max.Y)
	t.Logf("variant line: top panel x %d–%d, lower panel x %d–%d, lower peak at x %d", top.minX, top.maxX, lower.minX, lower.maxX, lower.highestX)
	if top.n == 0 || lower.n == 0 {
		t.Fatalf("variant colour in top panel: %d px, lower panel: %d px; want both", top.n, lower.n)
	}
	if abs(top.minX-lower.minX) > 1 || abs(top.maxX-lower.maxX) > 1 {
		t.Errorf("panels not aligned: top x %d–%d, lower x %d–%d", top.minX, top.maxX, lower.minX, lower.maxX)
	}
	third := (lower.maxX - lower.minX) / 3
	if lower.highestX < lower.minX+third || lower.highestX > lower.maxX-third {
		t.Errorf("in flight peaks at x %d, want within the middle third of %d–%d", lower.highestX, lower.minX, lower.maxX)
	}
}

// TestThroughputChartWithoutFlow: a results file from before the flow was
// recorded gets the chart by intended second, without an empty panel.
func TestThroughputChartWithoutFlow(t *testing.T) {
	chart := renderOne(t, knee(false), "throughput-reads")
	if h, want := decodePNG(t, chart.Files[PNG]).Bounds().Dy(), pixels(chartHeight); h < want-1 || h > want+1 {
		t.Errorf("chart is %d px high, want the plain height", h)
	}
}

func renderOne(t *testing.T, r *results.Results, name string) Chart {
	t.Helper()
	charts, err := Render(r, t.TempDir(), PNG)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range charts {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no chart %s", name)
	return Chart{}
}

type columns struct{ n, minX, maxX, highestX int }

// columnsOf finds the pixels in rows [y0, y1) left of the legend column
// whose colour is want's: their x range, and the x of the highest one.
func columnsOf(img image.Image, want func(color.NRGBA) bool, y0, y1 int) columns {
	b := img.Bounds()
	legend := pixels(legendColumn)
	c := columns{minX: b.Max.X, maxX: -1}
	highestY := y1
	for y := y0; y < y1; y++ {
		for x := b.Min.X; x < b.Max.X-legend; x++ {
			if !want(color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)) {
				continue
			}
			c.n++
			c.minX, c.maxX = min(c.minX, x), max(c.maxX, x)
			if y < highestY {
				highestY, c.highestX = y, x
			}
		}
	}
	return c
}

// pixels is a length in the PNG charts' pixels.
func pixels(l vg.Length) int { return int(math.Round(float64(l / vg.Inch * pngDPI))) }

func abs(x int) int { return max(x, -x) }
