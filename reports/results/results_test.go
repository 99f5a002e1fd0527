package results

import (
	"testing"
)

// TestContains: a second belongs to the phase holding its midpoint, the
// last partial second of a run cut short included.
func TestContains(t *testing.T) {
	during := Phase{Name: "during f", StartS: 2.03, EndS: 4.05}
	for _, c := range []struct {
		ph       Phase
		t        int
		duration float64
		want     bool
	}{
		{during, 1, 6, false},
		{during, 2, 6, true},
		{during, 3, 6, true},
		{during, 4, 6, false},
		{Phase{StartS: 0, EndS: 2.2}, 2, 2.2, true}, // [2, 2.2): midpoint 2.1
		{Phase{StartS: 0, EndS: 2.2}, 2, 6, false},  // a whole second: midpoint 2.5 is after 2.2
		{Phase{StartS: 2.2, EndS: 6}, 2, 6, true},
		{Phase{StartS: 0, EndS: 2.5}, 2, 6, false}, // a phase ending mid-second loses it at ½
		{Phase{StartS: 2.5, EndS: 6}, 2, 6, true},  // … to the next one
		{Phase{StartS: 6, EndS: 6}, 5, 6, false},   // empty
	} {
		if got := c.ph.Contains(c.t, c.duration); got != c.want {
			t.Errorf("%+v.Contains(%d, %v) = %v, want %v", c.ph, c.t, c.duration, got, c.want)
		}
	}
}

// TestDecodeBeforeFailureLatency: a results.json written before the
// failure-latency, unsent, overflow and total fields decodes, with them
// zero.
func TestDecodeBeforeFailureLatency(t *testing.T) {
	old := `{"schema_version": 1, "scenario": {"name": "x"}, "status": "ok",
	  "variants": [{"name": "a", "phases": [{"name": "whole", "start_s": 0, "end_s": 1}],
	    "streams": [{"name": "reads", "seconds": [{"t": 0, "requests": 5, "successes": 5, "latency": {"p99_ms": 2}}],
	      "phases": [{"phase": "whole", "requests": 5, "latency": {"p99_ms": 2}}], "intended": 5, "sent": 5}]}]}`
	r, err := Decode("old.json", []byte(old))
	if err != nil {
		t.Fatal(err)
	}
	v := r.Variants[0]
	ps := v.Streams[0].Phases[0]
	if v.Total != nil || ps.FailureLatency != nil || ps.Unsent != 0 || ps.Latency.P99 != 2 || v.Streams[0].Seconds[0].FailureLatency != nil {
		t.Errorf("decoded %+v", v)
	}
}
