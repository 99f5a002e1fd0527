package perf

import (
	"context"
	"testing"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/labtest"
)

// BenchmarkEnvStartWarm times env.Up (network, Postgres, Redis, toxiproxy
// and the backend, all ready) and env.Down with every image already built:
// the fixed cost of each variant of a scenario. labtest.Images builds the
// images first if they are missing; that time is not counted. Without
// Docker it skips (fails under LOADLAB_REQUIRE_DOCKER=1).
func BenchmarkEnvStartWarm(b *testing.B) {
	// testcontainers logs to stdout, which would split benchmark result
	// lines and break benchstat.
	tclog.SetDefault(tclog.NewNoopLogger())
	set := labtest.Images(b)
	machine := noteLoad(b)
	var up, down time.Duration
	runs := 0
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		start := time.Now()
		e, err := env.Up(ctx, env.Config{Images: set, Logger: discardLogger})
		if err != nil {
			cancel()
			b.Fatalf("env up: %v", err)
		}
		up += time.Since(start)
		start = time.Now()
		err = e.Down(ctx)
		down += time.Since(start)
		cancel()
		if err != nil {
			b.Fatalf("env down: %v", err)
		}
		if c, n := labtest.Leftovers(b, e.RunID); c+n > 0 {
			b.Fatalf("env down left %d containers and %d networks", c, n)
		}
		runs++
	}
	b.ReportMetric(up.Seconds()/float64(runs), "up-s")
	b.ReportMetric(down.Seconds()/float64(runs), "down-s")
	b.ReportMetric((up+down).Seconds()/float64(runs), "up+down-s")
	machine.report(b)
}
