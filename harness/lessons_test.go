package harness_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness"
	"github.com/loadlab/loadlab/harness/checks"
	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/harness/labtest"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// quickRuns holds one quick run per catalogue scenario, shared by the tests
// of this package: a run costs about fifteen seconds per variant. The runs
// share two environments (harness.WithEnvironment), reconfigured for every
// variant, as the variants of one run do: the first for every run, the
// second for the partner of a side-by-side pair.
var quickRuns = struct {
	sync.Mutex
	byName map[string]*results.Results
	envs   [2]*env.Env
}{byName: map[string]*results.Results{}}

// sideBySide pairs lessons that run at once, each in its own environment,
// to keep make test within its budget: a pair costs its longer lesson, not
// both. Only lessons whose verdicts are counts or contrasts far from their
// bounds are paired (lost writes and updates, success during a cut, bytes,
// database reads, a toxic's tens of milliseconds against a cache hit's
// one or two). baseline, whose bound on the proxy's overhead is near what
// it measures, pairs with slow-db-queue: its two variants both run beside
// slow-db-queue's first one, so the same light neighbour weighs on both
// sides of its ratio. Lessons judged on capacity (overload, retry-storm)
// run alone: a neighbour's load would decide them.
var sideBySide = map[string]string{
	"durability": "auth", "auth": "durability",
	"lost-update": "cache-outage", "cache-outage": "lost-update",
	"http-caching": "partition", "partition": "http-caching",
	"latency": "stampede", "stampede": "latency",
	"baseline": "slow-db-queue", "slow-db-queue": "baseline",
}

func TestMain(m *testing.M) {
	env.Prepare() // before any testcontainers call
	code := m.Run()
	for _, e := range quickRuns.envs {
		if e == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := e.Down(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "harness tests: take a shared environment down:", err)
			code = max(code, 1)
		}
		cancel()
	}
	os.Exit(code)
}

// runQuick runs a catalogue scenario in quick mode once per test binary,
// side by side with its partner (sideBySide) if it has one.
func runQuick(t *testing.T, name string) (*scenarios.Scenario, *results.Results) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	set := labtest.Images(t)
	quickRuns.Lock()
	defer quickRuns.Unlock()
	if res, ok := quickRuns.byName[name]; ok {
		return quick(t, name), res
	}
	names := []string{name}
	if partner, ok := sideBySide[name]; ok {
		names = append(names, partner)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var (
		wg   sync.WaitGroup
		runs = make([]*results.Results, len(names))
		errs = make([]error, len(names))
	)
	start := time.Now()
	envs := make([]*env.Env, len(names))
	for i := range names { // all up before any load starts
		envs[i] = sharedEnv(ctx, t, set, i)
	}
	for i, n := range names {
		sc, e := quick(t, n), envs[i]
		wg.Go(func() {
			runs[i], errs[i] = harness.Run(ctx, sc, harness.WithImages(set), harness.WithQuick(true), harness.WithEnvironment(e))
		})
	}
	wg.Wait()
	for i, n := range names {
		if errs[i] != nil {
			t.Fatalf("run %s: %v", n, errs[i])
		}
		if runs[i].Status != results.StatusOK {
			t.Fatalf("run %s: status %s: %s", n, runs[i].Status, runs[i].Reason)
		}
		quickRuns.byName[n] = runs[i]
	}
	t.Logf("%s: quick run of %d variants took %v (side by side with: %s)", name, len(runs[0].Variants),
		time.Since(start).Round(time.Second), strings.Join(names[1:], ", "))
	return quick(t, name), runs[0]
}

// quick is a catalogue scenario in quick mode.
func quick(t *testing.T, name string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return sc.Quick()
}

// sharedEnv is shared environment i, started by the first run that needs
// it; call it with quickRuns locked.
func sharedEnv(ctx context.Context, t *testing.T, set images.Set, i int) *env.Env {
	t.Helper()
	if quickRuns.envs[i] == nil {
		e, err := env.Up(ctx, env.Config{Images: set})
		if err != nil {
			t.Fatalf("environment %d for the quick runs: %v", i, err)
		}
		quickRuns.envs[i] = e
	}
	return quickRuns.envs[i]
}

// TestCatalogueLessons keeps every catalogue lesson honest, in quick mode:
//
//   - its story holds: every check passes, and every scenario with more than
//     one variant has a check that compares them, so a story that inverts
//     or vanishes fails here;
//   - its checks need the story: with the variants made identical, at least
//     one check fails. A variant given the first variant's settings is a run
//     of the first variant, so the identical-variant run is made from the
//     run above by giving every variant the first variant's measurements;
//     running them again would only add noise and minutes.
func TestCatalogueLessons(t *testing.T) {
	for _, name := range scenarios.CatalogueNames() {
		t.Run(name, func(t *testing.T) {
			sc, res := runQuick(t, name)
			for _, v := range res.Variants {
				for _, c := range v.Checks {
					if !c.Pass {
						t.Errorf("the story does not hold: %s: %s: %s", v.Name, c.Expect, c.Message)
					}
				}
			}
			t.Log(taught(sc, res))
			if len(sc.Variants) < 2 {
				return
			}
			compares := false
			for _, c := range sc.Checks {
				compares = compares || c.Versus != nil && c.Versus.Variant != ""
			}
			if !compares {
				t.Errorf("no check compares the variants: the lesson's contrast is not asserted")
			}
			if name == "baseline" {
				// The baseline measures the apparatus, not a contrast: its
				// check bounds what the proxy adds, which a run of identical
				// variants satisfies by construction.
				return
			}
			same := identical(res)
			checks.Evaluate(sc.Checks, same)
			if !same.Failed() {
				t.Errorf("with every variant measured as %s, every check still passes: they do not need the contrast the lesson teaches", res.Variants[0].Name)
			}
		})
	}
}

// identical returns res with every variant given the first variant's
// measurements, under its own name.
func identical(res *results.Results) *results.Results {
	same := *res
	same.Variants = make([]results.Variant, len(res.Variants))
	for i, v := range res.Variants {
		first := res.Variants[0]
		first.Name, first.Checks = v.Name, nil
		same.Variants[i] = first
	}
	return &same
}

// taught describes the first comparison of each check between variants:
// the observed values on both sides and their ratio, for the test log.
func taught(sc *scenarios.Scenario, res *results.Results) string {
	var b strings.Builder
	for _, v := range res.Variants {
		for _, c := range v.Checks {
			if c.Versus == nil {
				continue
			}
			ratio := c.Observed / c.Versus.Observed
			fmt.Fprintf(&b, "\n  %s: %s %s = %.4g vs %s %s = %.4g (ratio %.3g) [%s]",
				sc.Name, v.Name, c.Metric, c.Observed, c.Versus.Variant, c.Versus.Metric, c.Versus.Observed, ratio, c.Phase)
		}
	}
	return b.String()
}
