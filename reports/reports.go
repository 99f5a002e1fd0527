// Package reports turns the results of a run into what people read.
//
// The pipeline: the harness writes results.json (package results); Render
// reads nothing else and writes, next to it,
//
//	plots/*.svg, plots/*.png  charts (package plots)
//	report.html               one self-contained page: charts inlined as SVG, no external assets
//	summary.md                headline, failed checks first, a table per variant: for CI summaries and PR comments
//	junit.xml                 one suite per variant, one case per check: for CI test reporters
//	bench.txt                 Go benchmark format: for benchstat
//
// Every file is written atomically (temp file + rename), so a reader never
// sees half a report, and the same results always give the same files. An
// aborted or failed run renders like any other, bannered with its reason.
package reports

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/loadlab/loadlab/reports/plots"
	"github.com/loadlab/loadlab/reports/results"
)

// File names Render writes inside its directory.
const (
	HTMLFile    = "report.html"
	SummaryFile = "summary.md"
	JUnitFile   = "junit.xml"
	BenchFile   = "bench.txt"
	PlotsDir    = "plots"
)

// Render writes every report of r into dir. A failure of one output does not
// stop the others: a report without charts beats no report. The returned
// error joins every failure.
func Render(ctx context.Context, r *results.Results, dir string) error {
	if r == nil {
		return errors.New("reports: no results")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	var errs []error
	charts, err := plots.Render(r, filepath.Join(dir, PlotsDir), plots.SVG, plots.PNG)
	if err != nil {
		errs = append(errs, fmt.Errorf("reports: %w", err))
	}
	outputs := []struct {
		name   string
		render func() ([]byte, error)
	}{
		{HTMLFile, func() ([]byte, error) { return HTML(r, charts) }},
		{SummaryFile, func() ([]byte, error) { return Markdown(r), nil }},
		{JUnitFile, func() ([]byte, error) { return JUnit(r) }},
		{BenchFile, func() ([]byte, error) { return Bench(r), nil }},
	}
	for _, out := range outputs {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, fmt.Errorf("reports: %w", err))...)
		}
		data, err := out.render()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := results.WriteFileAtomic(filepath.Join(dir, out.name), data); err != nil {
			errs = append(errs, fmt.Errorf("reports: write %s: %w", out.name, err))
		}
	}
	return errors.Join(errs...)
}
