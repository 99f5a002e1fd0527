package reports

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/loadlab/loadlab/reports/results"
)

// Markdown renders summary.md: short enough for a CI job summary or a pull
// request comment. A headline with the verdict, failed checks first, then a
// compact table per variant (phase rows) and the history figures; passed
// checks fold away at the end.
func Markdown(r *results.Results) []byte {
	var b bytes.Buffer
	total, failed := countChecks(r)
	icon := "✅"
	switch {
	case r.Status != results.StatusOK:
		icon = "⚠️"
	case failed > 0:
		icon = "❌"
	}
	fmt.Fprintf(&b, "## %s loadlab `%s`: %s\n\n", icon, r.Scenario.Name, verdict(r))
	if r.Status != results.StatusOK {
		fmt.Fprintf(&b, "> **Run %s**: %s\n>\n> The figures below hold only what was measured before it stopped.\n\n", r.Status, mdText(orNone(r.Reason)))
	}
	if r.Scenario.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", mdText(r.Scenario.Description))
	}
	facts := []string{
		fmt.Sprintf("status **%s**", r.Status),
		fmt.Sprintf("checks %d passed / %d failed", total-failed, failed),
		fmt.Sprintf("seed %d", r.Scenario.Seed),
		fmt.Sprintf("load %s", fmtSeconds(r.Scenario.DurationS)),
	}
	if r.Scenario.Quick {
		facts = append(facts, "quick mode")
	}
	if v := r.Environment.LoadlabVersion; v != "" {
		facts = append(facts, "loadlab "+mdText(v))
	}
	fmt.Fprintf(&b, "%s\n\n", strings.Join(facts, " · "))

	if failed > 0 {
		b.WriteString("### Failed checks\n\n")
		b.WriteString("| variant | expect | where | observed | required | message | scenario line |\n|---|---|---|--:|---|---|---|\n")
		for _, v := range r.Variants {
			for _, c := range v.Checks {
				if !c.Pass {
					fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", cell(c.Variant), codeCell(c.Expect), cell(checkScope(c)),
						fmtObserved(c.Metric, c.Observed), cell(fmtRequired(c)), cell(c.Message), cell(c.Where))
				}
			}
		}
		b.WriteString("\n")
	}

	for _, v := range r.Variants {
		fmt.Fprintf(&b, "### Variant `%s`", v.Name)
		if s := fmtSettings(v.Settings); s != "" {
			fmt.Fprintf(&b, " (%s)", mdText(s))
		}
		b.WriteString("\n\n")
		if v.Status != "" && v.Status != results.StatusOK {
			fmt.Fprintf(&b, "> **Variant %s**: %s\n\n", v.Status, mdText(orNone(v.Reason)))
		}
		b.WriteString("| stream | phase | p50 (ms) | p99 (ms) | failed p99 (ms) | throughput (req/s) | success | unsent |\n|---|---|--:|--:|--:|--:|--:|--:|\n")
		for _, st := range v.Streams {
			for _, ph := range st.Phases {
				failP99 := "–"
				if f := ph.FailureLatency; f != nil {
					failP99 = fmtMs(f.P99)
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", cell(st.Name), cell(ph.Phase),
					fmtMs(ph.Latency.P50), fmtMs(ph.Latency.P99), failP99, fmtRate(ph.Throughput), fmtRatio(ph.SuccessRatio), fmtInt(ph.Unsent))
			}
		}
		b.WriteString("\nLatency from the intended send time: p50 and p99 of the successes, failed p99 of the rest; a request counts in the second it was intended for.\n\n")
		for _, st := range v.Streams {
			if over := overflow(st); st.Unsent > 0 || over > 0 {
				fmt.Fprintf(&b, "⚠️ `%s`: %s requests due but never sent (counted as failed, waiting until the generator gave up) · %s latencies above the 60 s histogram ceiling (recorded at 60 s).\n\n",
					st.Name, fmtInt(st.Unsent), fmtInt(over))
			}
		}
		for _, st := range v.Streams {
			if st.Saturated {
				fmt.Fprintf(&b, "⚠️ The load generator could not keep the schedule of `%s` (%s late sends, worst %s ms): latencies, measured from the intended send times, include its own delay.\n\n",
					st.Name, fmtInt(st.LateSends), fmtMs(st.MaxLateMs))
			}
		}
		var recovered []string
		for _, f := range v.Faults {
			if r := recoveryText(f); r != "" {
				recovered = append(recovered, fmt.Sprintf("`%s` %s", f.Name, r))
			}
		}
		if len(recovered) > 0 {
			fmt.Fprintf(&b, "Recovered after the fault (every stream ≥ 99%% successful two seconds in a row): %s\n\n", strings.Join(recovered, " · "))
		}
		for _, f := range v.Faults {
			if r := revocationText(f); r != "" {
				fmt.Fprintf(&b, "Revocation lag of `%s` (from the logout to the first 401 for that token): %s\n\n", f.Name, r)
			}
		}
		if h := v.History; h != nil {
			historyMarkdown(&b, h)
		}
	}

	passed := total - failed
	if passed > 0 {
		fmt.Fprintf(&b, "<details><summary>%d passed checks</summary>\n\n", passed)
		b.WriteString("| variant | expect | where | observed | required |\n|---|---|---|--:|---|\n")
		for _, v := range r.Variants {
			for _, c := range v.Checks {
				if c.Pass {
					fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(c.Variant), codeCell(c.Expect), cell(checkScope(c)), fmtObserved(c.Metric, c.Observed), cell(fmtRequired(c)))
				}
			}
		}
		b.WriteString("\n</details>\n")
	}
	return b.Bytes()
}

// overflow counts a stream's latencies above the histograms' ceiling.
func overflow(st results.Stream) int64 {
	var n int64
	for _, b := range st.Seconds {
		n += b.Overflow
	}
	return n
}

// historyMarkdown is the history verdict of a variant with the evidence of
// its first anomalies.
func historyMarkdown(b *bytes.Buffer, h *results.History) {
	if h.Operations > 0 || h.Increments == nil { // a run of increments only has no item history
		fmt.Fprintf(b, "History: %s operations (%s writes, %s acked; %s reads, %s ok; %s unknown) · **%s lost writes** · **%s stale reads** (%s) · **%s impossible reads** · %s version regressions · %s unconverged keys · %s\n\n",
			fmtInt(h.Operations), fmtInt(h.Writes), fmtInt(h.AckedWrites), fmtInt(h.Reads), fmtInt(h.OKReads), fmtInt(h.Unknown),
			fmtInt(h.LostWrites), fmtInt(h.StaleReads), fmtRatio(h.StaleRatio), fmtInt(h.ImpossibleReads),
			fmtInt(h.VersionRegressions), fmtInt(h.UnconvergedKeys), convergence(h))
	}
	if h.Incomplete != "" {
		fmt.Fprintf(b, "⚠️ The op history is incomplete (%s): its checks fail.\n\n", h.Incomplete)
	}
	if inc := h.Increments; inc != nil {
		if inc.Unread != "" {
			fmt.Fprintf(b, "Counter increments: %s sent; ⚠️ the final counters were not read (%s): no verdict.\n\n", fmtInt(inc.Sent), inc.Unread)
		} else {
			fmt.Fprintf(b, "Counter increments: %s sent, %s acknowledged, %s unknown, over %d keys; final counters %s · **%s lost updates** (%s of the acknowledged, %d keys short) · %s counted beyond possible\n\n",
				fmtInt(inc.Sent), fmtInt(inc.Acked), fmtInt(inc.Unknown), inc.Keys, fmtInt(inc.Final), fmtInt(inc.Lost), fmtRatio(inc.LostRatio), inc.KeysLosing, fmtInt(inc.Extra))
		}
	}
	if len(h.Examples) == 0 {
		return
	}
	// The first example of each kind, then the others, up to shown.
	const shown = 6
	var first, rest []results.OpExample
	kinds := map[string]bool{}
	for _, x := range h.Examples {
		if kinds[x.Kind] {
			rest = append(rest, x)
		} else {
			kinds[x.Kind] = true
			first = append(first, x)
		}
	}
	b.WriteString("| anomaly | key | evidence |\n|---|---|---|\n")
	for i, x := range append(first, rest...) {
		if i == shown {
			fmt.Fprintf(b, "| … | | %d more in results.json |\n", len(h.Examples)-shown)
			break
		}
		kind := x.Kind
		if x.Reason != "" {
			kind += ": " + x.Reason
		}
		fmt.Fprintf(b, "| %s | `%s` | %s |\n", cell(kind), x.Key, cell(x.Explanation))
	}
	b.WriteString("\n")
}

// convergence says in words how long the store took to hold every acked
// write after the last heal.
func convergence(h *results.History) string {
	switch {
	case h.ConvergenceS < 0 || !h.Converged && h.ConvergenceS > 0:
		return "**never converged**"
	case h.ConvergenceS == 0 && !h.Converged:
		return "convergence not measured"
	case h.ConvergenceS == 0:
		return "nothing to converge"
	default:
		return "converged in " + fmtSeconds(h.ConvergenceS)
	}
}

func orNone(s string) string {
	if s == "" {
		return "no reason recorded"
	}
	return s
}

// mdText makes free text safe on one Markdown line: no line breaks, and no
// HTML, which GitHub would render.
func mdText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(s)
}

// cell makes free text safe in a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(mdText(s), "|", `\|`)
}

// codeCell shows s as code in a Markdown table cell. Code spans show text
// literally, so only the cell separator and backticks need care.
func codeCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return "`" + strings.NewReplacer("|", `\|`, "`", "'").Replace(s) + "`"
}
