package reports

import (
	"context"
	"testing"

	"github.com/loadlab/loadlab/reports/results"
)

// BenchmarkRenderRound renders one round of an A/B gate (testdata/round.json:
// a quick round of partition, variant cp, 4 s, 2 streams, 32 charts), what
// `loadlab ab` does for every round and side.
func BenchmarkRenderRound(b *testing.B) {
	r, err := results.Read("testdata/round.json")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		if err := Render(context.Background(), r, dir); err != nil {
			b.Fatal(err)
		}
	}
}
