package perf

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/analyse"
	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/reports/results"
)

// ceilingRate is far above what two cores can serve: the engine then sends
// as fast as its worker cap allows, which is its ceiling.
const ceilingRate = 100_000

// engineRun is one run of loadlab's engine, with what the benchmarks read
// from it.
type engineRun struct {
	res     *load.Result
	whole   results.PhaseSummary
	health  load.Health
	elapsed time.Duration // wall time of load.Run, setup and drain included
	cpu     time.Duration // CPU time of this process during the run
}

func runEngine(tb testing.TB, baseURL string, stream load.Stream, window time.Duration, opts ...load.Option) engineRun {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), window+time.Minute)
	defer cancel()
	cpu0, start := cpuTime(), time.Now()
	res, err := load.Run(ctx, baseURL, []load.Stream{stream},
		append([]load.Option{load.WithDuration(window), load.WithLogger(discardLogger), load.WithSeed(1)}, opts...)...)
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	if err != nil {
		tb.Fatalf("load.Run: %v", err)
	}
	whole := analyse.Total(res, results.Phase{Name: "whole", EndS: res.Duration.Seconds()})
	return engineRun{res: res, whole: whole, health: res.ByStream[0].Health, elapsed: elapsed, cpu: cpu}
}

// tally sums the runs of one generator over the iterations of a benchmark.
type tally struct {
	requests, successes, errors int64
	seconds                     float64 // of load windows
	cpu                         time.Duration
	runs                        int
}

func (t *tally) add(requests, successes, errors int64, seconds float64, cpu time.Duration) {
	t.requests += requests
	t.successes += successes
	t.errors += errors
	t.seconds += seconds
	t.cpu += cpu
	t.runs++
}

func (t *tally) rate() float64 { return float64(t.requests) / t.seconds }

// report emits the generator's req/s and requests per CPU-second under its
// name, and logs its success ratio.
func (t *tally) report(b *testing.B, name string) {
	if t.runs == 0 {
		return
	}
	b.ReportMetric(t.rate(), name+"-req/s")
	if t.cpu > 0 {
		b.ReportMetric(float64(t.requests)/t.cpu.Seconds(), name+"-req/cpu-s")
	}
	b.Logf("%-8s %9.0f req/s, %d requests, %d not 2xx, %d transport errors, %.2f CPU-s per window",
		name, t.rate(), t.requests, t.requests-t.successes, t.errors, t.cpu.Seconds()/float64(t.runs))
}

// BenchmarkGeneratorCeiling compares the load generators' ceilings side by
// side against the trivial target: loadlab's engine (open model, a rate far
// above capacity, capped at LOADLAB_BENCH_CONNS workers), the vegeta CLI
// (-rate=0 with as many workers) and wrk (as many connections, one thread
// per CPU). Each runs for LOADLAB_BENCH_WINDOW, one after the other, on
// loopback. The ratios loadlab/vegeta and loadlab/wrk are the figures of
// interest: the absolute numbers belong to the machine.
//
// The engine's rate is completed requests over the whole wall time of
// load.Run (setup and drain included), so it is, if anything, understated.
// The engine also does more per request than the others: a per-second
// HdrHistogram, header parsing for the history and one history.Op.
func BenchmarkGeneratorCeiling(b *testing.B) {
	base := startTarget(b)
	waitReady(b, base+"/items/k0")
	vegetaBin, vegetaErr := vegetaPath()
	if vegetaErr != nil {
		b.Logf("vegeta part skipped: %v", vegetaErr)
	}
	wrkBin, wrkErr := wrkPath()
	if wrkErr != nil {
		b.Logf("wrk part skipped: %v", wrkErr)
	}
	dir := b.TempDir()
	ctx := context.Background()
	b.Logf("window %s, %d workers/connections, target %s (child process)", benchWindow, benchConns, base)
	machine := noteLoad(b)

	var engine, vegeta, wrk tally
	for b.Loop() {
		r := runEngine(b, base, reads(ceilingRate, benchConns), benchWindow, load.WithMaxWorkers(benchConns))
		engine.add(r.health.Sent, r.whole.Successes, r.whole.Codes["0"], r.elapsed.Seconds(), r.cpu)

		if vegetaErr == nil {
			v, err := runVegeta(ctx, vegetaBin, base, dir, benchConns, benchWindow)
			if err != nil {
				b.Fatal(err)
			}
			vegeta.add(v.Requests, v.Successes, v.Errors, float64(v.Requests)/v.Rate, v.CPU)
		}
		if wrkErr == nil {
			w, err := runWrk(ctx, wrkBin, base+"/items/k1", benchConns, benchWindow)
			if err != nil {
				b.Fatal(err)
			}
			wrk.add(w.Requests, w.Successes, w.Errors, float64(w.Requests)/w.Rate, w.CPU)
		}
	}
	engine.report(b, "loadlab")
	vegeta.report(b, "vegeta")
	wrk.report(b, "wrk")
	if vegeta.runs > 0 {
		b.ReportMetric(engine.rate()/vegeta.rate(), "loadlab/vegeta")
	}
	if wrk.runs > 0 {
		b.ReportMetric(engine.rate()/wrk.rate(), "loadlab/wrk")
	}
	machine.report(b)
}

// BenchmarkRateAccuracy runs the engine at 1k and 5k requests/s against the
// trivial target for LOADLAB_BENCH_WINDOW and reports achieved / intended
// rate ("ratio"), the worst full second as a share of the rate, the share
// of late sends and the latency the engine measured.
func BenchmarkRateAccuracy(b *testing.B) {
	base := startTarget(b)
	waitReady(b, base+"/items/k0")
	for _, rate := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			machine := noteLoad(b)
			var sent, late int64
			var seconds float64
			worst := math.Inf(1)
			var p50, p99 float64
			for b.Loop() {
				r := runEngine(b, base, reads(rate, 0), benchWindow)
				sent += r.health.Sent
				late += r.health.LateSends
				seconds += r.res.Duration.Seconds()
				// Seconds hold the hits intended in them: the share of those
				// sent at all (late or not).
				sr := r.res.ByStream[0]
				for t := range sr.Seconds() {
					s := sr.Second(t)
					worst = min(worst, float64(s.Requests-s.Unsent)/float64(rate))
				}
				p50, p99 = r.whole.Latency.P50, r.whole.Latency.P99
				if r.health.Saturated {
					b.Logf("generator reported saturation: %+v", r.health)
				}
			}
			achieved := float64(sent) / seconds
			b.ReportMetric(achieved, "req/s")
			b.ReportMetric(achieved/float64(rate), "ratio")
			b.ReportMetric(worst, "worst-second-ratio")
			b.ReportMetric(float64(late)/float64(max(sent, 1)), "late-ratio")
			b.ReportMetric(p50, "p50-ms")
			b.ReportMetric(p99, "p99-ms")
			machine.report(b)
		})
	}
}
