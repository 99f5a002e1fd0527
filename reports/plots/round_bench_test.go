package plots

import (
	"testing"

	"github.com/loadlab/loadlab/reports/results"
)

// BenchmarkRenderRound renders the charts of one round of an A/B gate
// (../testdata/round.json: 32 charts), in both formats as reports.Render
// asks, and in each alone to tell their costs apart.
func BenchmarkRenderRound(b *testing.B) {
	r, err := results.Read("../testdata/round.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, formats := range [][]string{{SVG, PNG}, {SVG}, {PNG}} {
		name := formats[0]
		if len(formats) > 1 {
			name = "both"
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(r, dir, formats...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
