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
// of this package: a run costs about half a minute per variant. The runs
// share one environment (harness.WithEnvironment), reconfigured for every
// variant, as the variants of one run do: one env.Up for the package
// instead of one per scenario.
var quickRuns = struct {
	sync.Mutex
	byName map[string]*results.Results
	env    *env.Env
}{byName: map[string]*results.Results{}}

func TestMain(m *testing.M) {
	env.Prepare() // before any testcontainers call
	code := m.Run()
	if e := quickRuns.env; e != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := e.Down(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "harness tests: take the shared environment down:", err)
			code = max(code, 1)
		}
		cancel()
	}
	os.Exit(code)
}

// runQuick runs a catalogue scenario in quick mode once per test binary.
func runQuick(t *testing.T, name string) (*scenarios.Scenario, *results.Results) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	set := labtest.Images(t)
	sc, err := scenarios.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	sc = sc.Quick()
	quickRuns.Lock()
	defer quickRuns.Unlock()
	if res, ok := quickRuns.byName[name]; ok {
		return sc, res
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := harness.Run(ctx, sc, harness.WithImages(set), harness.WithQuick(true), harness.WithEnvironment(sharedEnv(ctx, t, set)))
	if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	if res.Status != results.StatusOK {
		t.Fatalf("run %s: status %s: %s", name, res.Status, res.Reason)
	}
	t.Logf("%s: quick run of %d variants took %v", name, len(res.Variants), time.Since(start).Round(time.Second))
	quickRuns.byName[name] = res
	return sc, res
}

// sharedEnv is the environment the quick runs share, started by the first
// that needs it; call it with quickRuns locked.
func sharedEnv(ctx context.Context, t *testing.T, set images.Set) *env.Env {
	t.Helper()
	if quickRuns.env == nil {
		e, err := env.Up(ctx, env.Config{Images: set})
		if err != nil {
			t.Fatalf("environment for the quick runs: %v", err)
		}
		quickRuns.env = e
	}
	return quickRuns.env
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
