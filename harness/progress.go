package harness

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/harness/statusline"
	"github.com/loadlab/loadlab/scenarios"
)

// progress prints one status line per second while a variant's load runs:
// variant, phase, elapsed, current rate, errors and late sends. On a
// terminal the line is redrawn in place; elsewhere (CI logs) a line is
// printed every five seconds.
type progress struct {
	line    *statusline.Line
	sc      *scenarios.Scenario
	variant string
	label   string
}

func newProgress(w io.Writer, sc *scenarios.Scenario, variant, label string) *progress {
	return &progress{line: statusline.New(w, 5*time.Second), sc: sc, variant: variant, label: label}
}

func (p *progress) update(pr load.Progress) {
	if p == nil {
		return
	}
	p.line.Show(fmt.Sprintf("[%s %s] %-26s %5.1fs/%s  %6.0f req/s  sent %d  errors %d  late %d",
		p.label, p.variant, phaseAt(p.sc, pr.Elapsed), pr.Elapsed.Seconds(), p.sc.Duration,
		pr.CurrentRate, pr.Sent, pr.Errors, pr.LateSends), false)
}

func (p *progress) done() {
	if p != nil {
		p.line.Done()
	}
}

// phaseAt names the phase of the fault schedule at elapsed, as planned.
func phaseAt(sc *scenarios.Scenario, elapsed time.Duration) string {
	var during, after []string
	for _, f := range sc.Faults {
		switch {
		case elapsed >= f.At && elapsed < f.At+f.For:
			during = append(during, f.Name)
		case elapsed >= f.At+f.For:
			after = append(after, f.Name)
		}
	}
	switch {
	case len(during) > 0:
		return "during " + strings.Join(during, "+")
	case len(after) > 0 && len(after) == len(sc.Faults):
		return "after " + after[len(after)-1]
	case len(sc.Faults) > 0:
		return "before " + sc.Faults[len(after)].Name
	}
	return "steady"
}
