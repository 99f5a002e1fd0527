package reports

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/loadlab/loadlab/reports/results"
)

// fmtMs formats milliseconds with three significant digits or so: enough
// to compare, few enough to read.
func fmtMs(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "–"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// fmtRatio formats a ratio as a percentage, rounded down so that 100% means
// every single request succeeded.
func fmtRatio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	if v == 1 {
		return "100%"
	}
	return strconv.FormatFloat(math.Floor(v*1e5)/1e3, 'f', 3, 64) + "%"
}

// fmtRate formats requests per second.
func fmtRate(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// fmtSeconds formats a time offset or duration in seconds.
func fmtSeconds(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + " s"
}

// fmtInt formats a count with thin groups of three digits: 1 234 567.
func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f") // narrow no-break space
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fmtCounts formats a code or source map sorted by key: "200: 1234, 503: 5".
func fmtCounts(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		label := k
		if k == "0" {
			label = "0 (transport error)"
		}
		parts = append(parts, fmt.Sprintf("%s: %s", label, fmtInt(m[k])))
	}
	return strings.Join(parts, ", ")
}

// fmtSettings formats a variant's target settings sorted by key.
func fmtSettings(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ", ")
}

// fmtObserved formats a check's observed value in its metric's unit, the
// units scenario checks are written in.
func fmtObserved(metric string, v float64) string {
	switch metric {
	case "p50", "p90", "p99", "p999", "max", "mean":
		return fmtMs(v) + " ms"
	case "success_ratio", "error_ratio", "stale_read_ratio":
		return strconv.FormatFloat(v, 'g', 6, 64)
	case "throughput", "rate":
		return fmtRate(v) + " req/s"
	case "convergence":
		return fmtSeconds(v)
	case "requests", "late_sends", "lost_writes", "stale_reads":
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	switch {
	case strings.HasSuffix(strings.TrimSuffix(metric, ")"), "_per_second") && !strings.HasPrefix(metric, "increase("):
		return strconv.FormatFloat(v, 'g', 4, 64) + " /s"
	default:
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
}

// fmtRequired says what a check required: "< 50 ms", or for a comparison
// "<= 0.3 × 40 (none, during slow-db) = 12": the other side as observed,
// the factor and the offset, and what they make.
func fmtRequired(c results.CheckResult) string {
	if c.Op == "" { // results written before checks recorded their operator
		return ""
	}
	o := c.Versus
	if o == nil {
		return c.Op + " " + fmtObserved(c.Metric, c.Required)
	}
	s := fmtObserved(o.Metric, o.Observed) + " (" + o.Variant + ", " + o.Phase + ")"
	if o.Factor != 1 {
		s = strconv.FormatFloat(o.Factor, 'g', 6, 64) + " × " + s
	}
	switch {
	case o.Offset > 0:
		s += " + " + fmtObserved(c.Metric, o.Offset)
	case o.Offset < 0:
		s += " − " + fmtObserved(c.Metric, -o.Offset)
	}
	if o.Factor != 1 || o.Offset != 0 {
		s += " = " + fmtObserved(c.Metric, c.Required)
	}
	return c.Op + " " + s
}

// checkScope names where a check applies: "phase whole, stream reads".
func checkScope(c results.CheckResult) string {
	phase := c.Phase
	if phase == "" {
		phase = "whole"
	}
	if c.Stream == "" {
		return "phase " + phase
	}
	return "phase " + phase + ", stream " + c.Stream
}

// countChecks counts all and failed checks of a run.
func countChecks(r *results.Results) (total, failed int) {
	for _, v := range r.Variants {
		for _, c := range v.Checks {
			total++
			if !c.Pass {
				failed++
			}
		}
	}
	return total, failed
}

// sortedChecks returns a variant's checks with failures first, otherwise
// in scenario order.
func sortedChecks(checks []results.CheckResult) []results.CheckResult {
	out := slices.Clone(checks)
	slices.SortStableFunc(out, func(a, b results.CheckResult) int {
		switch {
		case a.Pass == b.Pass:
			return 0
		case !a.Pass:
			return -1
		default:
			return 1
		}
	})
	return out
}

// verdict is the one-line outcome of a run.
func verdict(r *results.Results) string {
	total, failed := countChecks(r)
	switch {
	case r.Status == results.StatusAborted:
		return "aborted"
	case r.Status == results.StatusFailed:
		return "failed (harness)"
	case failed > 0:
		return fmt.Sprintf("%d of %d checks failed", failed, total)
	case total == 0:
		return "ran, no checks"
	default:
		return fmt.Sprintf("all %d checks passed", total)
	}
}

// faultWindow describes when a fault was planned and when it was active.
func plannedWindow(f results.FaultWindow) string {
	return fmt.Sprintf("%s → %s", fmtSeconds(f.PlannedAtS), fmtSeconds(f.PlannedAtS+f.PlannedForS))
}

// recoveryText says how long after the fault ended every stream answered
// as before (results.FaultWindow.RecoveryS), or "" when not measured.
func recoveryText(f results.FaultWindow) string {
	switch r := f.RecoveryS; {
	case r == nil:
		return ""
	case *r < 0:
		return "not within the run"
	case *r == 0:
		return "at once"
	default:
		return fmtSeconds(*r)
	}
}

// revocationText says how long a revoke fault's token kept working after
// the logout (results.FaultWindow.RevocationLagS), or "" for other faults.
func revocationText(f results.FaultWindow) string {
	switch r := f.RevocationLagS; {
	case r == nil:
		return ""
	case *r < 0:
		return "still accepted when the fault ended, " + fmtSeconds(f.PlannedForS) + " later"
	default:
		return fmtSeconds(*r)
	}
}

func activeWindow(f results.FaultWindow) string {
	switch {
	case f.ActiveFromS < 0:
		return "never applied"
	case f.ActiveToS < 0:
		return fmtSeconds(f.ActiveFromS) + " → never removed"
	default:
		return fmt.Sprintf("%s → %s", fmtSeconds(f.ActiveFromS), fmtSeconds(f.ActiveToS))
	}
}

// sortedPairs returns a map's entries sorted by key.
func sortedPairs(m map[string]string) [][2]string {
	out := make([][2]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, [2]string{k, m[k]})
	}
	return out
}
