// Package labtest holds what integration tests share: the Docker gate
// (skip under -short; without Docker, fail under LOADLAB_REQUIRE_DOCKER=1
// and skip otherwise), the machine lock that runs such test binaries one at
// a time, building the images once per test binary, and a look for
// leftovers by label.
package labtest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/moby/moby/client"
)

// RequireDocker is true when tests must fail, not skip, without Docker.
func RequireDocker() bool { return os.Getenv("LOADLAB_REQUIRE_DOCKER") == "1" }

var (
	imagesOnce sync.Once
	imagesErr  error
)

// Images checks for Docker and makes sure the lab's images exist (built once
// per test binary; a no-op when they are up to date). Under -short it skips
// the test before touching Docker: "unit tests only" starts no container
// and builds no image. Without Docker it skips the test, or fails it under
// LOADLAB_REQUIRE_DOCKER=1.
func Images(t testing.TB) images.Set {
	t.Helper()
	SkipShort(t)
	env.Prepare()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := images.NewDockerClient(ctx)
	if err != nil {
		if RequireDocker() {
			t.Fatalf("docker is required (LOADLAB_REQUIRE_DOCKER=1): %v", err)
		}
		t.Skipf("no docker: %v", err)
	}
	c.Close()
	Exclusive(t) // building images and running labs: one binary at a time
	imagesOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		_, imagesErr = images.Ensure(ctx, images.FromEnv(images.Default))
	})
	if imagesErr != nil {
		t.Fatalf("images: %v", imagesErr)
	}
	return images.FromEnv(images.Default)
}

// The machine lock. `make test` runs test binaries two at a time (so that
// they compile and link in parallel), but two labs, or a lab and a timing
// test, side by side on a 2-core machine make the machine, not the code,
// decide contrasts and latencies. So every test binary that starts
// containers or measures time takes this lock first, and holds it until it
// exits (the kernel drops a flock with its process, however it ends):
// such binaries run one at a time, on this machine, whoever started them.
var (
	machineOnce sync.Once
	machineErr  error
	// machineLock holds the locked file open: unreachable, it would be
	// closed by its finalizer at the next garbage collection, and the lock
	// dropped with it.
	machineLock *os.File
)

// LockMachine blocks until this test binary holds the machine lock (see
// above). Call it from TestMain or through Exclusive.
func LockMachine() error {
	machineOnce.Do(func() {
		path := filepath.Join(os.TempDir(), "loadlab-tests.lock")
		// Read-only: a flock needs no write access, so another user's lock
		// file (mode 0644 under their umask) serves as well.
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o666)
		if err != nil {
			machineErr = fmt.Errorf("labtest: machine lock: %w", err)
			return
		}
		machineLock = f // open, and locked, until the process exits
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			fmt.Fprintf(os.Stderr, "labtest: another test binary holds %s; waiting for it\n", path)
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
			if err != nil {
				machineErr = fmt.Errorf("labtest: machine lock %s: %w", path, err)
			}
		}
	})
	return machineErr
}

// ExclusiveMain takes the machine lock from a TestMain, before m.Run,
// unless the binary runs with -short (unit tests only); it exits the
// process when the lock cannot be had.
func ExclusiveMain() {
	flag.Parse() // testing.Short needs the flags
	if testing.Short() {
		return
	}
	if err := LockMachine(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Exclusive takes the machine lock for the test binary (see LockMachine)
// or fails the test.
func Exclusive(t testing.TB) {
	t.Helper()
	if err := LockMachine(); err != nil {
		t.Fatal(err)
	}
}

// SkipShort skips a test that needs Docker under -short.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Docker: skipped with -short")
	}
}

// Up starts an environment for a test and tears it down at the end.
func Up(t testing.TB, cfg env.Config) *env.Env {
	t.Helper()
	cfg.Images = Images(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	e, err := env.Up(ctx, cfg)
	if err != nil {
		t.Fatalf("env up: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.Down(ctx); err != nil {
			t.Errorf("env down: %v", err)
		}
	})
	return e
}

// Leftovers counts containers and networks labelled with a run id.
func Leftovers(t testing.TB, runID string) (containers, networks int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := images.NewDockerClient(ctx)
	if err != nil {
		t.Fatalf("docker: %v", err)
	}
	defer c.Close()
	f := make(client.Filters).Add("label", env.LabelRun+"="+runID)
	cs, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	ns, err := c.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		t.Fatalf("list networks: %v", err)
	}
	return len(cs.Items), len(ns.Items)
}

// Eventually polls cond every interval until it reports done, and fails
// the test with cond's last message when timeout passes first.
func Eventually(t testing.TB, timeout, interval time.Duration, cond func() (done bool, msg string)) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		done, msg := cond()
		if done {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("not within %s: %s", timeout, msg)
		case <-tick.C:
		}
	}
}

// WorstStall measures, until done closes, the longest time this process
// was not scheduled beyond a 5 ms tick. On a shared machine other processes
// can freeze ours, and a test that times something under load uses this to
// tell that apart from the latency it measures.
func WorstStall(done <-chan struct{}) time.Duration {
	const tick = 5 * time.Millisecond
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var worst time.Duration
	last := time.Now()
	for {
		select {
		case <-done:
			return worst
		case now := <-ticker.C:
			worst = max(worst, now.Sub(last)-tick)
			last = now
		}
	}
}
