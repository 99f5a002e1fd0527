package compare

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loadlab/loadlab/reports/results"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// goldenReport has something of everything: twelve paired rounds with a
// regression, an improvement, a phase present in too few rounds, a check
// that starts failing, things only in one side and a note.
func goldenReport(t *testing.T) *Report {
	t.Helper()
	slowReads := steady(0.03)
	slowReads.P99 *= 1.4
	fasterWrites := steady(0.03)
	fasterWrites.P50 *= 0.6
	var base, head []*results.Results
	for round := range uint64(12) {
		b := synth("partition", 7+10*round, 21, twoVariants(steady(0.03), steady(0.03))...)
		h := synth("partition", 8+10*round, 21, twoVariants(slowReads, fasterWrites)...)
		h.Variants = h.Variants[:1] // "ap" is gone
		h.Variants[0].Checks[0].Pass = false
		h.Variants[0].Checks[0].Observed = 52.5
		for i, run := range []*results.Results{b, h} {
			v := &run.Variants[0]
			if round < 2 {
				// A three-second warm-up phase in two rounds only: too few to judge.
				warmup := results.Phase{Name: "warm-up", StartS: 0, EndS: 3}
				v.Phases = append(v.Phases, warmup)
				for j := range v.Streams {
					v.Streams[j].Phases = append(v.Streams[j].Phases, summarize(v.Streams[j].Seconds, warmup))
				}
			}
			// A check on the whole run that head breaks.
			v.Checks = append(v.Checks, results.CheckResult{Expect: "success_ratio >= 0.999", Variant: "cp", Stream: "writes",
				Phase: "whole", Metric: "success_ratio", Pass: i == 0, Observed: []float64{1, 0.9975}[i]})
		}
		base, head = append(base, b), append(head, h)
	}
	head[0].Variants[0].Streams[1].Saturated = true
	head[0].Variants[0].Streams[1].Intended = 2100
	head[0].Variants[0].Streams[1].Sent = 2080
	head[0].Variants[0].Streams[1].MaxLateMs = 140
	r, err := CompareRuns(base, head, WithPaired(true), WithPhases(OnlyPhases("whole", "during "+synthFault, "warm-up")), WithLabels("base (1a2b3c)", "head (4d5e6f)"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGoldenOutput(t *testing.T) {
	r := goldenReport(t)
	for _, tc := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"report.txt.golden", func(b *bytes.Buffer) error { return r.WriteText(b) }},
		{"report.md.golden", func(b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var got bytes.Buffer
			if err := tc.write(&got); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got.String(), want)
			}
		})
	}
}

func TestTextIsAligned(t *testing.T) {
	var b bytes.Buffer
	if err := goldenReport(t).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	// Every row of the metric table ends its "base" column at the same place.
	lines := strings.Split(b.String(), "\n")
	var header string
	for _, l := range lines {
		if strings.HasPrefix(l, "variant") {
			header = l
			break
		}
	}
	end := strings.Index(header, "base") + len("base")
	for _, l := range lines {
		if strings.Contains(l, "ms  ") && len(l) > end && l[end] != ' ' {
			t.Errorf("misaligned row %q (base column ends at %d)", l, end)
		}
	}
}

func TestMarkdownCellEscapes(t *testing.T) {
	got := markdownCell("a|b\n<script>*x*_y_`z`[l](u)\\")
	want := `a\|b \<script\>\*x\*\_y\_\` + "`" + `z\` + "`" + `\[l\](u)\\`
	if got != want {
		t.Errorf("markdownCell = %q, want %q", got, want)
	}
}
