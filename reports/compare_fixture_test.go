package reports

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/loadlab/loadlab/reports/compare"
	"github.com/loadlab/loadlab/reports/results"
)

// compareFixture is a duet of the partition fixture (testdata/results.json):
// twelve paired rounds a side (signed-rank bounds need eleven to reach the
// level corrected over every row). Every round shifts both sides' latency alike
// (what the machine did during it) and each side's a little on its own;
// head's cp reads are 30 % slower (a regression) and its ap writes 30 %
// faster (an improvement). cp has a warm-up phase in the first two rounds
// only, whose rows cannot be judged.
func compareFixture(t testing.TB) (rep *compare.Report, base, head []*results.Results) {
	t.Helper()
	data, err := json.Marshal(loadFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	for round := range 12 {
		shared := 1 + 0.03*math.Sin(1.3*float64(round))
		for side, runs := range []*[]*results.Results{&base, &head} {
			r, err := results.Decode("results.json", data)
			if err != nil {
				t.Fatal(err)
			}
			for vi := range r.Variants {
				for si := range r.Variants[vi].Streams {
					own := 1 + 0.008*math.Cos(2.1*float64(round)+float64(3*side+2*vi+si))
					scaleLatency(&r.Variants[vi].Streams[si], shared*own)
				}
			}
			if side == 1 {
				scaleLatency(&r.Variant("cp").Streams[0], 1.3)
				scaleLatency(&r.Variant("ap").Streams[1], 0.7)
			}
			if round < 2 {
				addWarmUp(r.Variant("cp"))
			}
			*runs = append(*runs, r)
		}
	}
	rep, err = compare.CompareRuns(base, head, compare.WithPaired(true), compare.WithLabels("base (main)", "head (HEAD)"))
	if err != nil {
		t.Fatal(err)
	}
	return rep, base, head
}

// scaleLatency multiplies every latency of a stream, per second and per
// phase, spectra included, by f.
func scaleLatency(st *results.Stream, f float64) {
	scale := func(l *results.Latency) {
		l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean = l.P50*f, l.P90*f, l.P99*f, l.P999*f, l.Max*f, l.Mean*f
	}
	for i := range st.Seconds {
		scale(&st.Seconds[i].Latency)
	}
	for i := range st.Phases {
		scale(&st.Phases[i].Latency)
		for j := range st.Phases[i].Spectrum {
			st.Phases[i].Spectrum[j].Ms *= f
		}
	}
}

// addWarmUp gives v a phase over its first three seconds, summarised as
// its "before" phase.
func addWarmUp(v *results.Variant) {
	v.Phases = append(v.Phases, results.Phase{Name: "warm-up", StartS: 0, EndS: 3})
	for i := range v.Streams {
		ps := v.Streams[i].Phases[1]
		ps.Phase = "warm-up"
		v.Streams[i].Phases = append(v.Streams[i].Phases, ps)
	}
}

// compareFixturePage is compare.html of compareFixture, as `loadlab ab`
// writes it: what the browser test opens.
func compareFixturePage(t testing.TB) []byte {
	t.Helper()
	rep, base, head := compareFixture(t)
	page, err := ComparePage(rep, base, head)
	if err != nil {
		t.Fatal(err)
	}
	return page
}
