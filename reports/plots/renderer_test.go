package plots

import (
	"bytes"
	"image"
	"image/png"
	"testing"

	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/loadlab/loadlab/reports/results"
)

// TestRendererDrawsLikeAFreshCanvas: a renderer draws each chart once on a
// recorder, replays it on an SVG canvas and on a PNG canvas it reuses from
// chart to chart, and encodes the PNG itself. Every chart must come out as
// drawn directly on a canvas of its own: the same SVG, and a PNG of the
// same pixels, whatever was drawn on the reused canvas before (styles,
// transforms, taller and shorter charts in turn).
func TestRendererDrawsLikeAFreshCanvas(t *testing.T) {
	round, err := results.Read("../testdata/round.json")
	if err != nil {
		t.Fatal(err)
	}
	var rs renderer
	for _, r := range []*results.Results{round, synthetic(3, 2, 30, 50)} {
		for _, s := range build(r) {
			rec, err := recordChart(s)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}

			svg := vgsvg.New(chartWidth, s.height())
			s.draw(draw.New(svg))
			var want bytes.Buffer
			if _, err := svg.WriteTo(&want); err != nil {
				t.Fatal(err)
			}
			got, err := rs.encode(rec, s.height(), SVG)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("%s: the replayed SVG differs from one drawn directly", s.name)
			}

			fresh := vgimg.NewWith(vgimg.UseWH(chartWidth, s.height()), vgimg.UseDPI(pngDPI))
			s.draw(draw.New(fresh))
			data, err := rs.encode(rec, s.height(), PNG)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if !samePixels(img, fresh.Image()) {
				t.Errorf("%s: the PNG differs from one drawn directly on a fresh canvas", s.name)
			}
		}
	}
}

// samePixels reports whether a and b are the same picture; PNG has no
// origin, so a decoded image starts at (0, 0) whatever the encoded one did.
func samePixels(a, b image.Image) bool {
	ab, bb := a.Bounds(), b.Bounds()
	if ab.Size() != bb.Size() {
		return false
	}
	for y := range ab.Dy() {
		for x := range ab.Dx() {
			r0, g0, b0, a0 := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r1, g1, b1, a1 := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			if r0 != r1 || g0 != g1 || b0 != b1 || a0 != a1 {
				return false
			}
		}
	}
	return true
}

// TestPNGEncoderRoundTrips: what pngEncoder writes decodes to the pixels it
// was given: an opaque chart-like image on its fast path (also as a
// sub-image, whose rows do not start at the start of Pix, and twice in a row
// with the deflater reused), and on the image/png fallback an image with
// transparency and one that is not RGBA.
func TestPNGEncoderRoundTrips(t *testing.T) {
	opaque := image.NewRGBA(image.Rect(0, 0, 67, 41))
	for i := range opaque.Pix {
		opaque.Pix[i] = byte(i * 7 % 251)
		if i%4 == 3 {
			opaque.Pix[i] = 0xFF
		}
	}
	translucent := image.NewRGBA(image.Rect(0, 0, 5, 3))
	translucent.Pix[3] = 0x80
	gray := image.NewGray(image.Rect(0, 0, 9, 9))
	gray.Pix[40] = 0x33
	var e pngEncoder
	for name, m := range map[string]image.Image{
		"opaque":      opaque,
		"opaque sub":  opaque.SubImage(image.Rect(3, 5, 60, 40)),
		"again":       opaque,
		"translucent": translucent,
		"gray":        gray,
	} {
		var buf bytes.Buffer
		if err := e.encode(&buf, m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := png.Decode(&buf)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !samePixels(got, m) {
			t.Errorf("%s: decoded pixels differ", name)
		}
	}
}
