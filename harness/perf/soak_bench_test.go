package perf

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/load"
)

// rssSample is the process's RSS at an offset from the start of the load.
type rssSample struct {
	at  time.Duration
	rss int64
}

// sampleRSS records the RSS every interval until done closes. With live
// set it also prints each sample to stderr at once: a benchmark's log is
// only printed when it ends, and a long soak that dies should still leave
// its series behind.
func sampleRSS(interval time.Duration, t0 time.Time, done <-chan struct{}, live bool) []rssSample {
	var out []rssSample
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return out
		case now := <-tick.C:
			if rss, err := rssBytes(); err == nil {
				out = append(out, rssSample{now.Sub(t0), rss})
				if live {
					fmt.Fprintf(os.Stderr, "soak: %4.0fs RSS %.1f MB\n", now.Sub(t0).Seconds(), float64(rss)/mb)
				}
			}
		}
	}
}

// soakFigures are what BenchmarkSoak reports, in MB and MB/minute.
type soakFigures struct {
	start, peak, end float64 // RSS before the load, at peak and at the last sample during the load
	warm             float64 // RSS at the first sample after warm-up
	slope            float64 // least-squares slope after warm-up
}

const mb = 1 << 20

func soakStats(before int64, samples []rssSample, warmup time.Duration) soakFigures {
	f := soakFigures{start: float64(before) / mb, peak: float64(before) / mb, end: float64(before) / mb}
	var xs, ys []float64
	for _, s := range samples {
		v := float64(s.rss) / mb
		f.peak = max(f.peak, v)
		f.end = v
		if s.at >= warmup {
			if xs == nil {
				f.warm = v
			}
			xs = append(xs, s.at.Minutes())
			ys = append(ys, v)
		}
	}
	f.slope = slope(xs, ys)
	return f
}

// BenchmarkSoak runs the engine at LOADLAB_BENCH_SOAK_RATE (3000) req/s
// against the trivial target for LOADLAB_BENCH_SOAK (default 60s; the
// issue's figure is LOADLAB_BENCH_SOAK=10m) and samples this process's RSS
// every few seconds. It reports RSS before, at peak and at the end of the
// load, and its slope after a warm-up. The engine spools its op history
// (one history.Op per request, for the Jepsen-style checks) to disk while
// the load runs, so what remains is the per-second buckets, which grow with
// the run's seconds, not its requests: the slope should be near zero.
// "after-MB-rss" is RSS once load.Run returned, the op history read back.
func BenchmarkSoak(b *testing.B) {
	interval := 2 * time.Second
	if soakDuration >= 5*time.Minute {
		interval = 5 * time.Second
	}
	warmup := min(30*time.Second, soakDuration/4)
	base := startTarget(b)
	waitReady(b, base+"/items/k0")
	b.Logf("soak: %d req/s for %s, RSS every %s, slope after %s", soakRate, soakDuration, interval, warmup)
	machine := noteLoad(b)

	var fig soakFigures
	var after int64
	var r engineRun
	var samples []rssSample
	for b.Loop() {
		runtime.GC()
		before, err := rssBytes()
		if err != nil {
			b.Skipf("no RSS on this system: %v", err)
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		r = runEngine(b, base, reads(soakRate, 0), soakDuration, load.WithOnStart(func(t0 time.Time) {
			wg.Go(func() { samples = sampleRSS(interval, t0, done, soakDuration >= 5*time.Minute) })
		}))
		close(done)
		wg.Wait()
		after, _ = rssBytes()
		fig = soakStats(before, samples, warmup)
	}
	achieved := float64(r.health.Sent) / r.res.Duration.Seconds()
	b.ReportMetric(fig.start, "start-MB-rss")
	b.ReportMetric(fig.peak, "peak-MB-rss")
	b.ReportMetric(fig.end, "end-MB-rss")
	b.ReportMetric(float64(after)/mb, "after-MB-rss")
	b.ReportMetric(fig.slope, "slope-MB/min")
	if fig.warm > 0 {
		// Flat is 1: RSS at the end of the load over RSS once warmed up.
		b.ReportMetric(fig.end/fig.warm, "end/warm-rss")
	}
	b.ReportMetric(achieved/float64(soakRate), "ratio")
	b.ReportMetric(r.cpu.Seconds()/r.elapsed.Seconds(), "cpu-cores")
	b.ReportMetric(float64(r.health.PeakWorkers), "peak-workers")

	var series strings.Builder
	for _, s := range samples {
		fmt.Fprintf(&series, " %.0fs:%.1f", s.at.Seconds(), float64(s.rss)/mb)
	}
	b.Logf("RSS MB over time:%s", series.String())
	b.Logf("sent %d of %d intended (%.4f), %d late, p50 %.3f ms, p99 %.3f ms, max %.1f ms, peak workers %d of %d, saturated %v",
		r.health.Sent, r.health.Intended, achieved/float64(soakRate), r.health.LateSends,
		r.whole.Latency.P50, r.whole.Latency.P99, r.whole.Latency.Max, r.health.PeakWorkers, r.health.WorkerLimit, r.health.Saturated)
	machine.report(b)
}
