package compare

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loadlab/loadlab/reports/results"
)

// Summary is the verdict in one line, e.g.
// "regression: 2 of 48 comparisons regressed; 1 check now fails".
func (r *Report) Summary() string {
	var gated, rowsRegressed, rowsImproved, leads, unjudged, checksFailing, checksPassing int
	for _, row := range r.Rows {
		if row.Why != "" {
			unjudged++
		}
		moved := row.Change == ChangeRegression || row.Change == ChangeImprovement
		if !row.Gated {
			if moved {
				leads++
			}
			continue
		}
		gated++
		switch row.Change {
		case ChangeRegression:
			rowsRegressed++
		case ChangeImprovement:
			rowsImproved++
		}
	}
	for _, c := range r.Checks {
		switch c.Change {
		case ChangeRegression:
			checksFailing++
		case ChangeImprovement:
			checksPassing++
		}
	}
	var parts []string
	if rowsRegressed > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d gated comparisons regressed", rowsRegressed, gated))
	}
	if checksFailing > 0 {
		parts = append(parts, plural(checksFailing, "check now fails", "checks now fail"))
	}
	if rowsImproved > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d gated comparisons improved", rowsImproved, gated))
	}
	if checksPassing > 0 {
		parts = append(parts, plural(checksPassing, "check now passes", "checks now pass"))
	}
	switch {
	case len(parts) > 0:
	case len(r.Rows) == 0 && len(r.Checks) == 0:
		parts = append(parts, "nothing in common to compare")
	default:
		parts = append(parts, fmt.Sprintf("%s, none changed beyond its threshold",
			plural(gated, "gated comparison", "gated comparisons")))
	}
	if leads > 0 {
		parts = append(parts, plural(leads, "phase row beyond its threshold (a lead: not gated)",
			"phase rows beyond their thresholds (leads: not gated)"))
	}
	if unjudged > 0 {
		parts = append(parts, fmt.Sprintf("%d not judged (each row says why)", unjudged))
	}
	for _, side := range []RunInfo{r.Base, r.Head} {
		if side.Status != results.StatusOK {
			parts = append(parts, fmt.Sprintf("%s run %s", side.Label, side.Status))
		}
	}
	return string(r.Verdict) + ": " + strings.Join(parts, "; ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// WriteText writes the report as aligned plain text, benchstat style: the
// runs, one row per variant/stream/phase/metric, the checks side by side,
// what only one run has, notes, and the verdict on the last line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "scenario: %s\n", r.Scenario)
	fmt.Fprintf(&b, "base: %s\n", r.Base.Describe())
	fmt.Fprintf(&b, "head: %s\n", r.Head.Describe())
	fmt.Fprintf(&b, "%s\n", r.Method())
	if _, err := io.WriteString(w, b.String()+"\n"); err != nil {
		return err
	}
	if len(r.Rows) > 0 {
		if err := r.metricTable(r.Rows, true).writeText(w, ""); err != nil {
			return err
		}
	}
	b.Reset()
	if len(r.Checks) > 0 {
		b.WriteString("\nchecks:\n")
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
		if err := r.checkTable().writeText(w, "  "); err != nil {
			return err
		}
		b.Reset()
	}
	for _, list := range []struct {
		title string
		items []string
	}{{"only in base", r.OnlyInBase}, {"only in head", r.OnlyInHead}, {"notes", r.Notes}} {
		if len(list.items) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", list.title)
		for _, it := range list.items {
			fmt.Fprintf(&b, "  %s\n", it)
		}
	}
	fmt.Fprintf(&b, "\nverdict: %s\n", r.Summary())
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes the report as GitHub-flavoured Markdown for a job
// summary or a PR comment: the verdict as a headline, the rows that changed
// and the checks in view, every row folded in a <details> block.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	icon := map[Verdict]string{
		VerdictRegression:   "❌",
		VerdictImprovement:  "✅",
		VerdictNoChange:     "✔️",
		VerdictInconclusive: "⚠️",
	}[r.Verdict]
	fmt.Fprintf(&b, "### %s %s: %s\n\n", icon, markdownCell(r.Scenario), markdownCell(string(r.Verdict)))
	fmt.Fprintf(&b, "%s\n\n", markdownCell(r.Summary()))
	fmt.Fprintf(&b, "- base: %s\n- head: %s\n- %s\n\n",
		markdownCell(r.Base.Describe()), markdownCell(r.Head.Describe()), markdownCell(r.Method()))

	var changed []Row
	for _, row := range r.Rows {
		if row.Change == ChangeRegression || row.Change == ChangeImprovement {
			changed = append(changed, row)
		}
	}
	if len(changed) > 0 {
		b.WriteString("#### Changes beyond the thresholds\n\n")
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
		if err := r.metricTable(changed, false).writeMarkdown(w); err != nil {
			return err
		}
		b.Reset()
		b.WriteString("\n")
	}
	if len(r.Checks) > 0 {
		b.WriteString("#### Checks\n\n")
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
		if err := r.checkTable().writeMarkdown(w); err != nil {
			return err
		}
		b.Reset()
		b.WriteString("\n")
	}
	if len(r.Rows) > 0 {
		// A blank line after <summary> lets GitHub render the table inside.
		fmt.Fprintf(&b, "<details><summary>All %d comparisons</summary>\n\n", len(r.Rows))
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
		if err := r.metricTable(r.Rows, false).writeMarkdown(w); err != nil {
			return err
		}
		b.Reset()
		b.WriteString("\n</details>\n\n")
	}
	for _, list := range []struct {
		title string
		items []string
	}{{"Only in base", r.OnlyInBase}, {"Only in head", r.OnlyInHead}, {"Notes", r.Notes}} {
		if len(list.items) == 0 {
			continue
		}
		fmt.Fprintf(&b, "**%s:**\n\n", list.title)
		for _, it := range list.items {
			fmt.Fprintf(&b, "- %s\n", markdownCell(it))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}

// metricTable renders rows: each with both sides' medians, the estimated
// change with its interval, the number of runs, and the judgement with the
// reason a row was not judged. grouped blanks repeated variant/stream/phase.
func (r *Report) metricTable(rows []Row, grouped bool) *table {
	t := &table{
		header: []string{"variant", "stream", "phase", "metric", "base", "head", "head/base", r.IntervalHeader(), "runs", "judgement"},
		right:  []bool{false, false, false, false, true, true, true, true, true, false},
	}
	if grouped {
		t.group = 3
	}
	for _, row := range rows {
		c := row.Cells()
		t.add(row.Variant, row.Stream, row.Phase, string(row.Metric), c.Base, c.Head, c.Change, c.Interval, c.Runs, c.Judgement)
	}
	return t
}

// IntervalHeader names the interval column by the confidence of each of its
// bounds, e.g. "95% bounds".
func (r *Report) IntervalHeader() string {
	return fmt.Sprintf("%s%% bounds", formatShort(100*(1-r.Alpha)))
}

// formatChange renders an estimate: a ratio as ×1.052, a difference with its sign.
func formatChange(row Row, v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case row.Relative:
		return fmt.Sprintf("×%.3f", v)
	default:
		return formatValue(row.Metric, v, true)
	}
}

func formatInterval(row Row) string {
	if math.IsNaN(row.Lo) {
		return "-"
	}
	if row.Relative {
		return fmt.Sprintf("[%.3f, %.3f]", row.Lo, row.Hi)
	}
	return fmt.Sprintf("[%s, %s]", formatValue(row.Metric, row.Lo, true), formatValue(row.Metric, row.Hi, true))
}

// Method says in one line how rows were judged: the unit, the interval,
// its correction and the thresholds.
func (r *Report) Method() string {
	design := "independent runs, Welch t interval of the ratio of geometric means"
	if r.Paired {
		design = "paired rounds run side by side, the median head/base ratio (Hodges–Lehmann) with exact Wilcoxon signed-rank bounds"
	}
	how := fmt.Sprintf("unit: one value per run and phase; %s; each interval is a pair of one-sided %s%% bounds", design, formatShort(100*(1-r.Alpha)))
	reported := r.Estimated - r.GateFamily
	if r.Corrected && r.Estimated > 1 {
		how += fmt.Sprintf(", simultaneous over the %s (Bonferroni: each bound at %s%%)",
			plural(r.GateFamily, "gated row", "gated rows"), formatShort(100*(1-r.BoundLevel(true))))
		if reported > 0 {
			how += fmt.Sprintf(" and over all %d rows for the %d reported ones (at %s%%)", r.Estimated, reported, formatShort(100*(1-r.BoundLevel(false))))
		}
	}
	if reported > 0 {
		how += "; only gated rows (phase " + strings.Join(r.gatedPhases(), ", ") + ") can fail the gate, the others are leads"
	}
	return how + "; a row regressed when its whole interval lies beyond its threshold: " + thresholdsLine(r.Thresholds)
}

// gatedPhases lists the phases of the gated rows, in order.
func (r *Report) gatedPhases() []string {
	var out []string
	for _, row := range r.Rows {
		if row.Gated && !slices.Contains(out, row.Phase) {
			out = append(out, row.Phase)
		}
	}
	if len(out) == 0 {
		out = append(out, "none")
	}
	return out
}

func (r *Report) checkTable() *table {
	t := &table{
		header: []string{"variant", "stream", "phase", "check", "base", "head", ""},
		right:  []bool{false, false, false, false, false, false, false},
	}
	for _, c := range r.Checks {
		cells := c.Cells()
		t.add(c.Variant, cells.Stream, c.Phase, c.Expect, cells.Base, cells.Head, cells.Change)
	}
	return t
}

func mark(c Change) string {
	switch c {
	case ChangeRegression:
		return "REGRESSION"
	case ChangeImprovement:
		return "improvement"
	case ChangeInsufficient:
		return "insufficient data"
	default:
		return "~"
	}
}

// Describe names one side in one line: label, runs, start, version, scale
// and status.
func (ri RunInfo) Describe() string {
	parts := []string{ri.Label}
	if ri.Runs > 1 {
		parts = append(parts, fmt.Sprintf("%d runs", ri.Runs))
	}
	if !ri.StartedAt.IsZero() {
		parts = append(parts, "started "+ri.StartedAt.UTC().Format(time.RFC3339))
	}
	if ri.LoadlabVersion != "" {
		parts = append(parts, "loadlab "+ri.LoadlabVersion)
	}
	if ri.Scale != "" {
		parts = append(parts, ri.Scale)
	}
	if ri.Status != "" {
		status := "status " + ri.Status
		if ri.Reason != "" {
			status += " (" + ri.Reason + ")"
		}
		parts = append(parts, status)
	}
	return strings.Join(parts, ", ")
}

func thresholdsLine(t Thresholds) string {
	return fmt.Sprintf("p50 +%s%%, p99 +%s%%, throughput -%s%%, success ratio -%s",
		formatShort(100*t.P50Increase), formatShort(100*t.P99Increase), formatShort(100*t.ThroughputDrop), formatShort(t.SuccessRatioDrop))
}

// formatValue renders a metric's value, or a delta with its sign, in the
// metric's unit: latency in ms with three significant digits where it
// matters, throughput per second, success ratio to four decimals (the
// default threshold is 0.01).
func formatValue(m Metric, v float64, signed bool) string {
	if math.IsNaN(v) {
		return "-"
	}
	sign := ""
	if signed && v >= 0 {
		sign = "+"
	}
	switch m {
	case MetricP50, MetricP99:
		switch a := math.Abs(v); {
		case a >= 100:
			return fmt.Sprintf("%s%.0fms", sign, v)
		case a >= 10:
			return fmt.Sprintf("%s%.1fms", sign, v)
		default:
			return fmt.Sprintf("%s%.2fms", sign, v)
		}
	case MetricThroughput:
		return fmt.Sprintf("%s%.1f/s", sign, v)
	default:
		return fmt.Sprintf("%s%.4f", sign, v)
	}
}

// formatShort prints a setting or an observed value briefly: four
// significant digits, whole numbers from 1000 on (no exponents for counts).
func formatShort(v float64) string {
	if a := math.Abs(v); a >= 1000 && a < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
