package plots

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/loadlab/loadlab/reports/results"
)

// synthetic builds a results.Results shaped like a real partition run:
// nv variants × ns streams × secs seconds at rps requests per second per
// stream, one fault in the middle third during which latency climbs and
// the success ratio of the second variant drops.
func synthetic(nv, ns, secs int, rps int64) *results.Results {
	rng := rand.New(rand.NewPCG(1, 2))
	r := &results.Results{
		SchemaVersion: results.SchemaVersion,
		Scenario:      results.ScenarioInfo{Name: "partition", DurationS: float64(secs)},
		Status:        results.StatusOK,
		StartedAt:     time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
	}
	from, to := float64(secs)/3, 2*float64(secs)/3
	for v := range nv {
		vr := results.Variant{
			Name:      fmt.Sprintf("v%d", v),
			Status:    results.StatusOK,
			DurationS: float64(secs),
			Phases:    []results.Phase{{Name: "whole", StartS: 0, EndS: float64(secs)}},
			Faults: []results.FaultWindow{{
				Name: "db-partition", Link: "backend->postgres", Toxic: "timeout",
				PlannedAtS: from, PlannedForS: to - from,
				ActiveFromS: from + 0.01*float64(v), ActiveToS: to + 0.02*float64(v),
			}},
		}
		for s := range ns {
			st := results.Stream{Name: fmt.Sprintf("s%d", s), Method: "GET", Path: "/items/{key}", Rate: fmt.Sprintf("%d/s", rps)}
			for t := range secs {
				during := float64(t) >= from && float64(t) < to
				base := 2 + rng.Float64()
				ok := rps
				if during {
					base *= 200
					if v%2 == 1 {
						ok = rps / 3
					}
				}
				st.Seconds = append(st.Seconds, results.Bucket{
					T: t, Requests: rps, Successes: ok,
					Codes:   map[string]int64{"200": ok, "503": rps - ok},
					Latency: results.Latency{P50: base, P90: base * 2, P99: base * 4, P999: base * 6, Max: base * 8, Mean: base * 1.2},
				})
			}
			st.Phases = []results.PhaseSummary{{Phase: "whole", Requests: rps * int64(secs), Successes: rps * int64(secs),
				SuccessRatio: 1, Throughput: float64(rps), Rate: float64(rps),
				Latency: results.Latency{P50: 2.5, P90: 5, P99: 400 * float64(v+1), P999: 900, Max: 1200, Mean: 3}}}
			vr.Streams = append(vr.Streams, st)
		}
		hit := results.Series{Name: "cache_hit_ratio", Unit: "ratio"}
		depth := results.Series{Name: "queue_depth", Unit: "count"}
		for t := range secs {
			h := 0.9 + 0.05*math.Sin(float64(t)/5)
			d := 0.0
			if float64(t) >= from && float64(t) < to {
				d = float64(t) - from
			}
			hit.Points = append(hit.Points, results.Point{T: float64(t), V: h})
			depth.Points = append(depth.Points, results.Point{T: float64(t), V: d * float64(v)})
		}
		vr.Metrics = []results.Series{hit, depth}
		r.Variants = append(r.Variants, vr)
	}
	return r
}
