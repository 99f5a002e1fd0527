package perf

import (
	"context"
	"os"
	"testing"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/harness/labtest"
)

// upDown times one env.Up (network, Postgres, Redis, toxiproxy and the
// backend, all ready) and its env.Down, and checks that nothing is left.
func upDown(b *testing.B, set images.Set) (up, down time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	e, err := env.Up(ctx, env.Config{Images: set, Logger: discardLogger})
	if err != nil {
		b.Fatalf("env up: %v", err)
	}
	up = time.Since(start)
	start = time.Now()
	err = e.Down(ctx)
	down = time.Since(start)
	if err != nil {
		b.Fatalf("env down: %v", err)
	}
	if c, n := labtest.Leftovers(b, e.RunID); c+n > 0 {
		b.Fatalf("env down left %d containers and %d networks", c, n)
	}
	return up, down
}

// quietTestcontainers stops testcontainers logging to stdout, which would
// split benchmark result lines and break benchstat.
func quietTestcontainers() { tclog.SetDefault(tclog.NewNoopLogger()) }

// BenchmarkEnvStartWarm times env.Up and env.Down with every image already
// built: the fixed cost of each variant of a scenario. labtest.Images
// builds the images first if they are missing; that time is not counted.
// Without Docker it skips (fails under LOADLAB_REQUIRE_DOCKER=1).
func BenchmarkEnvStartWarm(b *testing.B) {
	quietTestcontainers()
	set := labtest.Images(b)
	machine := noteLoad(b)
	var up, down time.Duration
	runs := 0
	for b.Loop() {
		u, d := upDown(b, set)
		up, down = up+u, down+d
		runs++
	}
	b.ReportMetric(up.Seconds()/float64(runs), "up-s")
	b.ReportMetric(down.Seconds()/float64(runs), "down-s")
	b.ReportMetric((up+down).Seconds()/float64(runs), "up+down-s")
	machine.report(b)
}

// BenchmarkEnvStartCold times what a new machine pays before its first
// environment, and in the same run a warm start right after, with their
// ratio. Cold is every image rebuilt from nothing (images.WithForce, and an
// empty package cache so that debootstrap downloads again; Go's build cache
// stays warm) followed by the first env.Up on the new images. It replaces
// the lab's images and takes a few minutes, so it runs only with
// LOADLAB_BENCH_COLD=1.
func BenchmarkEnvStartCold(b *testing.B) {
	if os.Getenv("LOADLAB_BENCH_COLD") != "1" {
		b.Skip("LOADLAB_BENCH_COLD=1 runs it: it rebuilds every image from nothing (a few minutes)")
	}
	quietTestcontainers()
	set := labtest.Images(b)
	machine := noteLoad(b)
	var build, coldUp, warmUp time.Duration
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		start := time.Now()
		_, err := images.Ensure(ctx, set, images.WithForce(), images.WithCacheDir(b.TempDir()), images.WithLogger(discardLogger))
		build = time.Since(start)
		cancel()
		if err != nil {
			b.Fatalf("images: %v", err)
		}
		coldUp, _ = upDown(b, set)
		warmUp, _ = upDown(b, set)
	}
	cold := build + coldUp
	b.ReportMetric(build.Seconds(), "build-s")
	b.ReportMetric(coldUp.Seconds(), "first-up-s")
	b.ReportMetric(cold.Seconds(), "cold-s")
	b.ReportMetric(warmUp.Seconds(), "warm-s")
	b.ReportMetric(cold.Seconds()/warmUp.Seconds(), "cold/warm")
	machine.report(b)
}
