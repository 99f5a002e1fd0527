package harness_test

import (
	"testing"

	"github.com/loadlab/loadlab/reports/results"
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
