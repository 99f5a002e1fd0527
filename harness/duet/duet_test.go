package duet_test

import (
	"context"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/duet"
	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/labtest"
	"github.com/loadlab/loadlab/reports/compare"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// gateScenario is a small duet: GETs of seeded keys with a short Postgres
// latency fault in the middle, one variant.
const gateScenario = `
name: duet-test
description: GETs with a short Postgres latency fault, for the duet's own test.
duration: 3s
settle: 1s
seed: 7
load:
  - {name: reads, request: "GET /items/{key}", rate: 80/s, keys: {count: 50}}
faults:
  - {name: db-slow, link: backend->postgres, at: 1s, for: 1s, toxic: {type: latency, latency: 2}}
variants:
  - {name: plain, backend: {cache: none}}
`

// TestDuet runs two real duets: A/A in seven rounds, which the comparison
// must judge and not call a regression (the null case: seven is the fewest
// at which the four gated rows' signed-rank bounds reach 1 − 0.05/4), and
// one whose head plants handler_delay=25ms on every GET in five rounds,
// which it must call one (the planted case). The planted case judges the
// whole-run rows each on its own 95 % bound, which five rounds reach; the
// correction itself is tested in reports/compare and held to by the A/A
// case, which keeps it. It also
// checks the duet's mechanics: both sides of every round started together,
// the sides swapped environments every round, the fault ran in every round
// of both sides (so the reset between rounds left the environment usable,
// in environments that also served the duet before).
func TestDuet(t *testing.T) {
	if testing.Short() {
		t.Skip("two duets against the real lab")
	}
	set := labtest.Images(t)
	sc, err := scenarios.Parse("duet-test.yaml", []byte(gateScenario))
	if err != nil {
		t.Fatal(err)
	}
	// Both duets run in the same two environments (duet.WithEnvironments),
	// reset and given each round's backends, as the rounds of one duet are.
	slots := [2]*env.Env{labtest.Up(t, env.Config{}), labtest.Up(t, env.Config{})}
	same := duet.Side{Spec: "same", Image: set.Backend}
	slow := duet.Side{Spec: "handler_delay=25ms", Image: set.Backend, Settings: map[string]string{"handler_delay": "25ms"}}
	rowsAlone := []compare.Option{compare.WithCorrection(false), compare.WithPhases(compare.OnlyPhases("whole"))}
	for _, tc := range []struct {
		name       string
		head       duet.Side
		rounds     int
		regression bool
		judging    []compare.Option
	}{{"A/A", same, 7, false, nil}, {"planted", slow, 5, true, rowsAlone}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
			defer cancel()
			o, err := duet.Run(ctx, sc, same, tc.head, duet.WithRounds(tc.rounds), duet.WithImages(set), duet.WithEnvironments(slots[0], slots[1]))
			if err != nil {
				t.Fatalf("duet: %v", err)
			}
			baseEnvs := map[string]bool{}
			for i, r := range o.Rounds {
				if want := []string{"base", "base", "head", "head"}[i%4]; r.First != want || r.BaseSlot != i%2 {
					t.Errorf("round %d: %s first, base in slot %d; want %s first, base in slot %d (slots swap every round, order every two)", r.N, r.First, r.BaseSlot, want, i%2)
				}
				baseEnvs[r.BaseEnv] = true
				if r.BaseEnv == r.HeadEnv {
					t.Errorf("round %d: both sides ran in environment %q", r.N, r.BaseEnv)
				}
				if skew := r.SkewMs["plain"]; skew < -50 || skew > 50 {
					t.Errorf("round %d: the sides' load started %.1f ms apart, want together (one instant, given at the barrier)", r.N, skew)
				}
				for side, res := range map[string]*results.Results{"base": o.Base[i], "head": o.Head[i]} {
					v := res.Variant("plain")
					if res.Status != results.StatusOK || v == nil || len(v.Faults) != 1 || v.Faults[0].ActiveFromS < 0 {
						t.Fatalf("round %d %s: status %s (%s), variant %+v: want ok with its fault applied", r.N, side, res.Status, res.Reason, v)
					}
				}
			}
			if len(baseEnvs) != 2 {
				t.Errorf("the base side ran in environments %v over %d rounds, want both slots", baseEnvs, len(o.Rounds))
			}
			rep, err := compare.CompareRuns(o.Base, o.Head, append(tc.judging, compare.WithPaired(true))...)
			if err != nil {
				t.Fatal(err)
			}
			var p50 compare.Row
			for _, row := range rep.Rows {
				if row.Stream == "reads" && row.Phase == "whole" && row.Metric == compare.MetricP50 {
					p50 = row
				}
			}
			t.Logf("%s: %s; reads whole p50 ×%.3f [%.3f, %.3f] %s", tc.name, rep.Summary(), p50.Est, p50.Lo, p50.Hi, p50.Change)
			if rep.Regressed() != tc.regression {
				t.Errorf("%s: regressed %v, want %v: %s", tc.name, rep.Regressed(), tc.regression, rep.Summary())
			}
			if rep.Verdict == compare.VerdictInconclusive || p50.Why != "" {
				t.Errorf("%s: %s; reads p50: %s: the gate judged nothing, so its silence proves nothing", tc.name, rep.Verdict, p50.Why)
			}
			if tc.regression && p50.Change != compare.ChangeRegression {
				t.Errorf("planted 25ms on every GET: reads p50 row %+v, want a regression", p50)
			}
		})
	}
}
