package compare

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/loadlab/loadlab/reports/results"
)

// shape is the steady state of a synthetic stream: what every second looks
// like before noise.
type shape struct {
	P50, P99 float64 // ms
	RPS      float64 // requests per second sent
	Success  float64 // success ratio
	// Noise is the relative standard deviation of every per-second value.
	Noise float64
	// Phi makes the latency noise autocorrelated from second to second, an
	// AR(1) process with this coefficient (0: independent seconds), as the
	// seconds of a real run are.
	Phi float64
	// Offset shifts this whole run's latency by a relative amount: what
	// differs between runs (where containers landed, what else the machine
	// did) and is shared by all the seconds of one run.
	Offset float64
}

// synthStream is one stream; During, when set, replaces the shape while the
// fault is on, so a fault phase can differ from the rest.
type synthStream struct {
	Name   string
	Shape  shape
	During *shape
}

type synthVariant struct {
	Name    string
	Streams []synthStream
}

// The fault of every synthetic run is on for the middle third.
const synthFault = "db-partition"

// synth builds a results.Results of seconds seconds per variant, drawing the
// noise from a PCG seeded with seed so that every run is reproducible.
func synth(scenario string, seed uint64, seconds int, variants ...synthVariant) *results.Results {
	rng := rand.New(rand.NewPCG(seed, 0x10ad1ab))
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	r := &results.Results{
		SchemaVersion: results.SchemaVersion,
		Scenario:      results.ScenarioInfo{Name: scenario, Seed: 42, Quick: true, DurationS: float64(seconds), SettleS: 2},
		Status:        results.StatusOK,
		StartedAt:     t0,
		EndedAt:       t0.Add(time.Duration(seconds) * time.Second),
		Environment:   results.Environment{LoadlabVersion: "v0.0.0-test", GoVersion: "go1.26", OS: "linux", Arch: "amd64", CPUs: 2},
	}
	third := float64(seconds / 3)
	phases := []results.Phase{
		{Name: "whole", StartS: 0, EndS: float64(seconds)},
		{Name: "before " + synthFault, StartS: 0, EndS: third},
		{Name: "during " + synthFault, StartS: third, EndS: 2 * third},
		{Name: "after " + synthFault, StartS: 2 * third, EndS: float64(seconds)},
	}
	for _, sv := range variants {
		v := results.Variant{
			Name: sv.Name, Client: "proxy", Status: results.StatusOK,
			StartedAt: t0, DurationS: float64(seconds), Phases: phases,
			Faults: []results.FaultWindow{{Name: synthFault, Link: "backend->postgres", Toxic: "timeout",
				PlannedAtS: third, PlannedForS: third, ActiveFromS: third, ActiveToS: 2 * third}},
		}
		for _, ss := range sv.Streams {
			st := results.Stream{Name: ss.Name, Method: "GET", Path: "/items/{key}", Rate: "100/s"}
			ar := 0.0 // the AR(1) state of the latency noise
			for t := range seconds {
				sh := ss.Shape
				if ss.During != nil && float64(t) >= third && float64(t) < 2*third {
					sh = *ss.During
				}
				ar = sh.Phi*ar + math.Sqrt(1-sh.Phi*sh.Phi)*sh.Noise*rng.NormFloat64()
				st.Seconds = append(st.Seconds, synthBucket(rng, t, sh, ar))
			}
			for _, p := range phases {
				st.Phases = append(st.Phases, summarize(st.Seconds, p))
			}
			for _, b := range st.Seconds {
				st.Intended += b.Requests
				st.Sent += b.Requests
			}
			v.Streams = append(v.Streams, st)
		}
		v.Checks = []results.CheckResult{
			{Expect: "p99 < 50ms", Variant: sv.Name, Phase: "after " + synthFault, Metric: "p99", Pass: true, Observed: 20},
		}
		r.Variants = append(r.Variants, v)
	}
	return r
}

// jitter returns v scaled by 1 + noise·N(0,1), kept positive.
func jitter(rng *rand.Rand, v, noise float64) float64 {
	return v * math.Max(0.05, 1+noise*rng.NormFloat64())
}

// synthBucket draws one second; ar is the latency noise of that second
// when the shape is autocorrelated (Phi > 0).
func synthBucket(rng *rand.Rand, t int, sh shape, ar float64) results.Bucket {
	req := int64(math.Round(jitter(rng, sh.RPS, sh.Noise)))
	failRatio := math.Min(1, jitter(rng, 1-sh.Success, sh.Noise))
	ok := req - int64(math.Round(float64(req)*failRatio))
	scale := 1 + sh.Offset
	p50 := jitter(rng, sh.P50*scale, sh.Noise)
	p99 := math.Max(p50, jitter(rng, sh.P99*scale, sh.Noise))
	if sh.Phi > 0 {
		p50 = sh.P50 * scale * math.Max(0.05, 1+ar)
		p99 = math.Max(p50, sh.P99*scale*math.Max(0.05, 1+ar+0.5*sh.Noise*rng.NormFloat64()))
	}
	return results.Bucket{
		T: t, Requests: req, Successes: ok,
		Codes:   map[string]int64{"200": ok, "503": req - ok},
		Latency: results.Latency{P50: p50, P90: (p50 + p99) / 2, P99: p99, P999: p99 * 1.2, Max: p99 * 1.5, Mean: p50 * 1.1},
	}
}

// summarize stands in for the harness's HdrHistogram merge: counts are
// summed, latencies averaged over the seconds, which is close enough for
// steady synthetic streams.
func summarize(buckets []results.Bucket, p results.Phase) results.PhaseSummary {
	s := results.PhaseSummary{Phase: p.Name}
	var n float64
	for _, b := range buckets {
		if float64(b.T) < p.StartS || float64(b.T) >= p.EndS {
			continue
		}
		n++
		s.Requests += b.Requests
		s.Successes += b.Successes
		s.Latency.P50 += b.Latency.P50
		s.Latency.P99 += b.Latency.P99
	}
	if n == 0 {
		return s
	}
	s.Latency.P50 /= n
	s.Latency.P99 /= n
	s.Throughput = float64(s.Successes) / n
	s.Rate = float64(s.Requests) / n
	if s.Requests > 0 {
		s.SuccessRatio = float64(s.Successes) / float64(s.Requests)
	}
	return s
}

// steady is a healthy stream: 5 ms p50, 20 ms p99, 100/s, 99.9 % success.
func steady(noise float64) shape {
	return shape{P50: 5, P99: 20, RPS: 100, Success: 0.999, Noise: noise}
}

// twoVariants is the usual synthetic layout: cp and ap, reads and writes.
func twoVariants(reads, writes shape) []synthVariant {
	return []synthVariant{
		{Name: "cp", Streams: []synthStream{{Name: "reads", Shape: reads}, {Name: "writes", Shape: writes}}},
		{Name: "ap", Streams: []synthStream{{Name: "reads", Shape: reads}, {Name: "writes", Shape: writes}}},
	}
}
