package backend

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/analyse"
	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/labtest"
	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/reports/results"
)

// BenchmarkContainerCacheHitThroughput measures the backend container at
// its CPU limit (env.DefaultLimits) serving cache hits: one warm key, read
// directly (around toxiproxy) by the load engine at an offered rate well
// above what one CPU serves. The figure is successes per second; the
// generator shares the machine, so on 2 cores it is a lower bound.
func BenchmarkContainerCacheHitThroughput(b *testing.B) {
	e := labtest.Up(b, env.Config{BackendEnv: map[string]string{"BACKEND_CACHE": "cache-aside", "BACKEND_CACHE_TTL": "10m"}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, key := range []string{"k0", "k1", "k2", "k3"} {
		req, _ := http.NewRequestWithContext(ctx, "PUT", e.BackendDirectURL+"/items/"+key, strings.NewReader("warm"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
	}
	streams := []load.Stream{{
		Name: "hits", Method: "GET", Path: "/items/{key}", Rate: 6000,
		Keys: load.Keys{Count: 4, Distribution: "uniform"}, MaxWorkers: 128,
	}}
	const window = 5 * time.Second
	var best results.PhaseSummary
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := load.Run(ctx, e.BackendDirectURL, streams, load.WithDuration(window), load.WithSeed(int64(i)))
		if err != nil {
			b.Fatal(err)
		}
		// Skip the first second: connections and caches warming up.
		sum := analyse.Total(res, results.Phase{Name: "steady", StartS: 1, EndS: window.Seconds()})
		if sum.Throughput > best.Throughput {
			best = sum
		}
	}
	b.ReportMetric(best.Throughput, "hits/s")
	b.ReportMetric(best.Latency.P50, "p50-ms")
	b.ReportMetric(best.Latency.P99, "p99-ms")
	b.ReportMetric(best.SuccessRatio, "success-ratio")
}
