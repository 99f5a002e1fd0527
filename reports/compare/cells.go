package compare

import (
	"fmt"
	"math"
	"strings"
)

// RowCells is a row as WriteText prints it, one string a column, so that
// other renderers (reports' compare.html) show exactly what compare.txt
// shows.
type RowCells struct {
	Base, Head string // each side's median over its runs, in the metric's unit
	Change     string // head/base as ×1.052, or the difference with its sign; "-" when not estimated
	Interval   string // "[lo, hi]"; "-" when not estimated
	Runs       string // runs with a value, "base+head"
	Judgement  string // REGRESSION, improvement, ~ or insufficient data (a row that cannot fail the gate: "regression (not gated)"), then why a row was not judged
}

// Cells renders the row's columns.
func (row Row) Cells() RowCells {
	judgement := mark(row.Change)
	if !row.Gated && (row.Change == ChangeRegression || row.Change == ChangeImprovement) {
		judgement = strings.ToLower(judgement) + " (not gated)"
	}
	if row.Why != "" {
		judgement += ": " + row.Why
	}
	return RowCells{
		Base:      formatValue(row.Metric, row.Base, false),
		Head:      formatValue(row.Metric, row.Head, false),
		Change:    formatChange(row, row.Est),
		Interval:  formatInterval(row),
		Runs:      fmt.Sprintf("%d+%d", row.NBase, row.NHead),
		Judgement: judgement,
	}
}

// CheckCells is a check row as WriteText prints it.
type CheckCells struct {
	Stream     string // "*" for a check on all streams
	Base, Head string // "pass (12.5)", or with several runs "FAIL 1/4 (52.5)"
	Change     string // REGRESSION, improvement or ~
}

// Cells renders the check's columns.
func (c CheckRow) Cells() CheckCells {
	outcome := func(passed, runs int, observed float64) string {
		word := "FAIL"
		if passed == runs {
			word = "pass"
		}
		if runs != 1 {
			word = fmt.Sprintf("%s %d/%d", word, passed, runs)
		}
		return fmt.Sprintf("%s (%s)", word, formatShort(observed))
	}
	stream := c.Stream
	if stream == "" {
		stream = "*"
	}
	return CheckCells{
		Stream: stream,
		Base:   outcome(c.BasePassed, c.BaseRuns, c.BaseObserved),
		Head:   outcome(c.HeadPassed, c.HeadRuns, c.HeadObserved),
		Change: mark(c.Change),
	}
}

// Limits says where a row of metric m turns into a regression or an
// improvement, on the scale of the row's Est, Lo and Hi: a ratio for the
// relative metrics, a difference for the success ratio. A row regressed
// when its whole interval lies beyond worse (above it for latency, below it
// for throughput and the success ratio) and improved when it lies wholly
// beyond better on the other side. better is ±Inf when no change can be an
// improvement (a throughput threshold of 100 %). ok is false for a metric
// the report does not know.
func (r *Report) Limits(m Metric) (worse, better float64, ok bool) {
	for _, spec := range metricSpecs {
		if spec.metric != m {
			continue
		}
		margin := spec.margin(r.Thresholds)
		if spec.relative {
			margin = math.Exp(margin)
			if spec.higherIsBetter {
				return 1 / margin, margin, true
			}
			return margin, 1 / margin, true
		}
		return -margin, margin, true
	}
	return math.NaN(), math.NaN(), false
}
