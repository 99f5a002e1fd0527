package plots

import (
	"bytes"
	"testing"

	"github.com/loadlab/loadlab/reports/results"
)

// TestTimelineChart: a variant's anomaly timelines become charts of their
// own, one per key, with the anomaly's kind in the title and every op drawn.
func TestTimelineChart(t *testing.T) {
	r := synthetic(1, 1, 10, 100)
	r.Variants[0].History = &results.History{Timelines: []results.KeyTimeline{{Key: "k3", Kind: "stale_read", FromS: 1, ToS: 2.5,
		Ops: []results.TimelineOp{
			{Lane: 0, Write: true, Value: "w1:7", Outcome: "ok", InvokeS: 1.1, CompleteS: 1.2, Anomaly: "returned"},
			{Lane: 1, Write: true, Value: "w1:8", Outcome: "info", InvokeS: 1.3, CompleteS: 2.3},
			{Lane: 0, Write: true, Value: "w1:9", Outcome: "ok", InvokeS: 1.5, CompleteS: 1.6, Anomaly: "witness"},
			{Lane: 2, Write: true, Value: "w1:10", Outcome: "fail", InvokeS: 1.7, CompleteS: 1.71},
			{Lane: 0, Value: "w1:7", Outcome: "ok", InvokeS: 2.0, CompleteS: 2.05, Anomaly: "stale_read"},
		}}}}
	charts, err := Render(r, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := charts[len(charts)-1]
	if c.Kind != "timeline" || c.Name != "timeline-v0-k3" || c.Title != "v0, k3: stale read" {
		t.Fatalf("last chart %s %q %q", c.Kind, c.Name, c.Title)
	}
	for _, label := range []string{"w w1:7", "r w1:7", "w w1:10", "info (unknown)", "proof"} {
		if !bytes.Contains(c.SVG, []byte(label)) {
			t.Errorf("timeline lacks %q", label)
		}
	}
	checkPNG(t, c.Files[PNG])
}
