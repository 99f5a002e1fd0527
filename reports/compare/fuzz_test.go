package compare

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/loadlab/loadlab/reports/results"
)

// FuzzDecode feeds arbitrary bytes to results.Decode, which must never panic,
// and compares whatever it accepts with itself, which must never panic,
// never fail, and never find a regression.
func FuzzDecode(f *testing.F) {
	// A small but complete run: large seeds make the fuzzer's minimization of
	// every new input slow (golang/go#48820).
	full, err := json.Marshal(synth("partition", 1, 6,
		synthVariant{Name: "cp", Streams: []synthStream{{Name: "reads", Shape: steady(0.1)}}}))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add([]byte(`{"schema_version":1}`))
	f.Add([]byte(`{"schema_version":1,"scenario":{"name":"x"},"status":"ok","variants":[{"name":"v","phases":[{"name":"whole","start_s":0,"end_s":1e9}],"streams":[{"name":"s","seconds":[{"t":0,"requests":-1,"successes":5}],"phases":[{"phase":"whole"}]}],"checks":[{"expect":"p99 < 1ms","phase":"whole","pass":true}]}]}`))
	f.Add([]byte(`{"schema_version":2}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := results.Decode("fuzz", data)
		if err != nil {
			return
		}
		rep, err := Compare(r, r)
		if err != nil {
			t.Fatalf("Compare of a run with itself: %v", err)
		}
		if rep.Regressed() {
			t.Fatalf("a run regressed against itself: %s", rep.Summary())
		}
		if err := rep.WriteText(io.Discard); err != nil {
			t.Fatal(err)
		}
		var md bytes.Buffer
		if err := rep.WriteMarkdown(&md); err != nil {
			t.Fatal(err)
		}
	})
}
