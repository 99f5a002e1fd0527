// Package compare diffs the runs of one scenario on two sides — a base and
// a head, typically two commits or two settings — and decides whether head
// regressed.
//
// The pipeline:
//
//  1. Pair up what both sides have: variants by name, streams by name within
//     a variant, phases by name within a variant. What only one side has is
//     listed ("only in base", "only in head"), never an error; comparing two
//     different scenarios is.
//  2. The unit of evidence is the run. For every variant × stream × phase and
//     metric (p50, p99, throughput, success ratio) each run gives one value,
//     its phase summary. The seconds within a run are not samples: they are
//     autocorrelated and share everything that made that run differ from
//     the others (a fresh environment, what else the machine did), so
//     testing them as independent made about a third of pairs of runs of
//     identical code "regress" (issue 10).
//  3. Estimate each row's change: for p50, p99 and throughput the ratio
//     head/base, on the log scale; for the success ratio the difference.
//     Paired runs (WithPaired: round i of a duet ran both sides side by side,
//     so the noise of that round hit both) give the Hodges–Lehmann median of
//     the per-round changes with exact Wilcoxon signed-rank bounds
//     (signedrank.go): on a shared machine one round in ten or twenty lands
//     on someone else's burst and measures ×3 on one side, which widens a
//     t interval for every row it touched and blinds the gate, while a rank
//     bound moves by one Walsh average. The bounds assume only symmetry of
//     the per-round changes about their median, exact for identical sides
//     that swap slots. Independent runs give Welch's t interval of the
//     difference of the mean logs (a rank interval over two groups of a
//     few runs could not reach the corrected level).
//  4. Gate on the whole run: only the rows of the gated phases (WithGate;
//     the whole run by default) can fail the gate, and the correction
//     divides alpha among them alone (Bonferroni), so that the few rows that
//     decide are not widened by the many phase rows, which are reported as
//     leads with bounds simultaneous over every row. Each interval is a pair
//     of one-sided bounds at 1 − alpha/rows: a regression is decided by one
//     bound, so the chance that a gate with no true regression fails stays
//     at most alpha whatever the rows' correlation.
//  5. Judge each row: a regression (or improvement) when its whole interval
//     lies beyond the metric's threshold in the bad (good) direction. Rows
//     with too few runs say "insufficient data" and how many are needed:
//     MinRuns a side for independent runs; for paired rounds as many as a
//     signed-rank bound needs to reach its corrected level at all (2⁻ⁿ ≤
//     alpha/rows: 8 rounds for 8 gated rows at alpha 0.05). With one run a
//     side the run-to-run noise is unknown and no metric is judged.
//  6. Pair up the scenario checks; a check that passed in every base run and
//     fails in most head runs is a regression on its own (with one run a
//     side: passes in base, fails in head).
//  7. Fold rows and checks into one Verdict, and render the Report as an
//     aligned text table (WriteText) or GitHub Markdown (WriteMarkdown).
package compare
