package harness_test

import (
	"context"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness"
	"github.com/loadlab/loadlab/harness/labtest"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// TestPartitionTellsTheCAPStory runs the partition scenario end to end in
// quick mode, against the real lab, and asserts what it is meant to teach:
// AP keeps accepting writes and serves stale reads during the partition, CP
// refuses writes and never serves a stale read, and neither loses a write.
func TestPartitionTellsTheCAPStory(t *testing.T) {
	_, res := runQuick(t, "partition") // shared with TestCatalogueLessons
	cp, ap := res.Variant("cp"), res.Variant("ap")
	if cp == nil || ap == nil {
		t.Fatalf("variants: %+v", res.Variants)
	}
	during := "during db-partition"
	for _, v := range []*results.Variant{cp, ap} {
		if v.History == nil {
			t.Fatalf("%s: no history", v.Name)
		}
		if v.History.LostWrites != 0 {
			t.Errorf("%s: %d lost writes: %+v", v.Name, v.History.LostWrites, v.History.Examples)
		}
		if len(v.Faults) != 1 || v.Faults[0].ActiveFromS < 0 || v.Faults[0].ActiveToS < 0 {
			t.Errorf("%s: fault not applied and removed: %+v", v.Name, v.Faults)
		}
	}
	if got := phase(t, ap, "writes", during).SuccessRatio; got < 0.99 {
		t.Errorf("ap: write success during the partition %.3f, want >= 0.99", got)
	}
	if ap.History.StaleReads == 0 && phase(t, ap, "reads", during).Sources["stale"] == 0 {
		t.Errorf("ap: served no stale reads during the partition")
	}
	if cp.History.StaleReads != 0 {
		t.Errorf("cp: %d stale reads, want 0: %+v", cp.History.StaleReads, cp.History.Examples)
	}
	if got := phase(t, cp, "writes", during); got.SuccessRatio > 0.05 {
		t.Errorf("cp: write success during the partition %.3f, want the writes refused", got.SuccessRatio)
	}
}

func phase(t *testing.T, v *results.Variant, stream, name string) results.PhaseSummary {
	t.Helper()
	for _, s := range v.Streams {
		if s.Name != stream {
			continue
		}
		for _, p := range s.Phases {
			if p.Phase == name {
				return p
			}
		}
	}
	t.Fatalf("%s: no phase %q of stream %q", v.Name, name, stream)
	return results.PhaseSummary{}
}

// crashScenario kills the backend mid-run: the harness must take it as a
// fault, not a dead target, and follow it to the host port Docker gives
// the restarted container.
const crashScenario = `
name: backend-crash
description: the backend is killed and restarted under load
duration: 12s
settle: 3s
load:
  - {name: reads, request: "GET /items/{key}", rate: 40/s, keys: {count: 50}}
  - {name: writes, request: "PUT /items/{key}", rate: 20/s, keys: {count: 50}}
faults:
  - {name: crash, kill: backend, at: 3s, for: 1s}
`

// TestBackendCrashIsAFault runs crashScenario: the run ends ok (the watch
// did not call the target dead), the crash was applied and removed, the
// service recovered, metrics were scraped from the restarted backend on its
// new port, and the history was checked through it: nothing acknowledged
// was lost (the sample backend's writes are in Postgres when it answers).
func TestBackendCrashIsAFault(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	set := labtest.Images(t)
	sc, err := scenarios.Parse("backend-crash.yaml", []byte(crashScenario))
	if err != nil {
		t.Fatal(err)
	}
	quickRuns.Lock()
	defer quickRuns.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := harness.Run(ctx, sc, harness.WithImages(set), harness.WithEnvironment(sharedEnv(ctx, t, set, 0)))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	v := res.Variants[0]
	if res.Status != results.StatusOK || v.Status != results.StatusOK {
		t.Fatalf("run %s, variant %s (%s): a planned crash is not a dead target", res.Status, v.Status, v.Reason)
	}
	w := v.Faults[0]
	if w.Error != "" || w.ActiveFromS < 0 || w.ActiveToS < 0 || w.Kill != "backend" {
		t.Fatalf("crash window %+v", w)
	}
	if w.RecoveryS == nil || *w.RecoveryS < 0 {
		t.Errorf("recovery %v: the service did not recover after the restart", w.RecoveryS)
	}
	scrapedAfter := false
	for _, s := range v.Metrics {
		for _, p := range s.Points {
			scrapedAfter = scrapedAfter || p.T > w.ActiveToS+1
		}
	}
	if !scrapedAfter {
		t.Error("no metric scraped after the restart: the scraper did not follow the new port")
	}
	h := v.History
	if h == nil || h.AckedWrites == 0 || h.LostWrites != 0 || h.UnconvergedKeys != 0 {
		t.Errorf("history %+v: want acknowledged writes, none lost, every key readable after the crash", h)
	}
	t.Logf("crash at %.2fs, answering again at %.2fs, recovered %.2fs later; %d writes acked, %d unknown",
		w.ActiveFromS, w.ActiveToS, *w.RecoveryS, h.AckedWrites, h.Unknown)
}
