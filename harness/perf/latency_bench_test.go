package perf

import (
	"testing"
	"time"
)

// fidelityRate is modest on purpose: the benchmark asks how exactly a
// known delay is measured, not how much load the path carries.
const fidelityRate = 200

// BenchmarkLatencyFidelity measures p50 through a real toxiproxy (embedded
// in the process) with a 50 ms downstream latency toxic, at 200 req/s for
// LOADLAB_BENCH_WINDOW, and reports p50 / 50 ms as "ratio". For context
// it first measures the same load straight to the target and through the
// proxy without a toxic: what the proxy itself adds.
func BenchmarkLatencyFidelity(b *testing.B) {
	const latency = 50 * time.Millisecond
	base := startTarget(b)
	waitReady(b, base+"/items/k0")
	lab := newToxiLab(b, base)
	waitReady(b, lab.proxyURL+"/items/k0")
	machine := noteLoad(b)

	var direct, proxied, toxic engineRun
	for i := 0; b.Loop(); i++ {
		direct = runEngine(b, base, reads(fidelityRate, 0), benchWindow)
		proxied = runEngine(b, lab.proxyURL, reads(fidelityRate, 0), benchWindow)
		name := "latency50-" + string(rune('a'+i%26))
		lab.addLatency(b, name, latency)
		toxic = runEngine(b, lab.proxyURL, reads(fidelityRate, 0), benchWindow)
		if err := withDeadline(b.Context(), 5*time.Second, func() error {
			p, err := lab.client.Proxy(proxyName)
			if err != nil {
				return err
			}
			return p.RemoveToxic(name)
		}); err != nil {
			b.Fatalf("perf: remove toxic: %v", err)
		}
	}
	for _, r := range []engineRun{direct, proxied, toxic} {
		if r.whole.SuccessRatio < 0.999 || r.health.Saturated {
			b.Logf("run not clean: success %.4f, health %+v", r.whole.SuccessRatio, r.health)
		}
	}
	lat := toxic.whole.Latency
	b.ReportMetric(lat.P50, "p50-ms")
	b.ReportMetric(lat.P50/float64(latency.Milliseconds()), "ratio")
	b.ReportMetric(lat.P99, "p99-ms")
	b.ReportMetric(proxied.whole.Latency.P50, "proxy-p50-ms")
	b.ReportMetric(direct.whole.Latency.P50, "direct-p50-ms")
	machine.report(b)
	b.Logf("p50/p90/p99/max ms: direct %.3f/%.3f/%.3f/%.3f, proxy %.3f/%.3f/%.3f/%.3f, proxy+50ms %.3f/%.3f/%.3f/%.3f",
		direct.whole.Latency.P50, direct.whole.Latency.P90, direct.whole.Latency.P99, direct.whole.Latency.Max,
		proxied.whole.Latency.P50, proxied.whole.Latency.P90, proxied.whole.Latency.P99, proxied.whole.Latency.Max,
		lat.P50, lat.P90, lat.P99, lat.Max)
}
