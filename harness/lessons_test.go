package harness_test

import (
	"context"
	"errors"
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
// of this package: a run costs twelve to twenty seconds per variant. The runs
// share two environments (harness.WithEnvironment), reconfigured for every
// variant, as the variants of one run do.
var quickRuns = struct {
	sync.Mutex
	byName map[string]*results.Results
	envs   [2]*env.Env
}{byName: map[string]*results.Results{}}

// sideBySide pairs lessons whose variants share the two environments, to
// keep make test within its budget: a pair's variants are dealt to the
// environments as they come free, so that a pair costs about half its
// variants, and a lesson of five variants does not keep the other
// environment idle. Only lessons whose verdicts are counts or contrasts far
// from their bounds are paired (lost writes and updates, success during a
// cut, bytes, database reads, a toxic's tens of milliseconds against a
// cache hit's one or two). The first lesson of a pair is dealt first: the
// baseline, whose bound on the proxy's overhead is near what it measures,
// so runs its two variants beside each other, each the other's only
// neighbour. Lessons judged on capacity (overload, retry-storm) run alone,
// one variant at a time: a neighbour's load would decide them.
var sideBySide = [][2]string{
	{"baseline", "slow-db-queue"},
	{"durability", "auth"},
	{"lost-update", "cache-outage"},
	{"http-caching", "partition"},
	{"latency", "stampede"},
}

// lessonsBeside returns name and the lesson it runs beside, in the order
// their variants are dealt, or name alone.
func lessonsBeside(name string) []string {
	for _, p := range sideBySide {
		if p[0] == name || p[1] == name {
			return p[:]
		}
	}
	return []string{name}
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
// with the lesson it runs beside (sideBySide), if any. Every variant is a
// run of its own in whichever shared environment is free; each lesson's
// variants are then put together into one result, in the scenario's
// order, and judged by its checks as harness.Run judges a run (a variant
// runs on a reset environment either way).
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
	names := lessonsBeside(name)
	lessons := make([]*scenarios.Scenario, len(names))
	type job struct {
		lesson  int
		variant int
	}
	var jobs []job
	for l, n := range names {
		lessons[l] = quick(t, n)
		for v := range lessons[l].Variants {
			jobs = append(jobs, job{l, v})
		}
	}
	queue := make(chan job, len(jobs))
	for _, j := range jobs {
		queue <- j
	}
	close(queue)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	envs := quickRuns.envs[:min(len(names), 2)]
	for i := range envs { // all up before any load starts
		envs[i] = sharedEnv(ctx, t, set, i)
	}
	var (
		mu   sync.Mutex
		runs = map[job]*results.Results{}
		errs []error
		wg   sync.WaitGroup
	)
	for _, e := range envs {
		wg.Go(func() {
			for j := range queue {
				v := lessons[j.lesson].Variants[j.variant].Name
				alone, err := lessons[j.lesson].Only(v)
				if err == nil {
					alone.Checks = nil // judged once the lesson's variants are together
					var res *results.Results
					res, err = harness.Run(ctx, alone, harness.WithImages(set), harness.WithQuick(true), harness.WithEnvironment(e))
					if err == nil && res.Status != results.StatusOK {
						err = fmt.Errorf("status %s: %s", res.Status, res.Reason)
					}
					mu.Lock()
					runs[j] = res
					mu.Unlock()
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("run %s, variant %s: %w", names[j.lesson], v, err))
					mu.Unlock()
					cancel()
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	for l, sc := range lessons {
		var res *results.Results
		for v := range sc.Variants {
			run := runs[job{l, v}]
			if res == nil {
				merged := *run
				merged.Variants = nil
				res = &merged
			}
			res.Variants = append(res.Variants, run.Variants...)
			res.StartedAt = minTime(res.StartedAt, run.StartedAt)
			res.EndedAt = maxTime(res.EndedAt, run.EndedAt)
		}
		checks.Evaluate(sc.Checks, res)
		quickRuns.byName[sc.Name] = res
	}
	t.Logf("%s: quick runs of %d variants in %d environments took %v (with: %s)", name, len(jobs), len(envs),
		time.Since(start).Round(time.Second), strings.Join(names, ", "))
	return quick(t, name), quickRuns.byName[name]
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
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
