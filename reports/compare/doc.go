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
//     so the noise of that round hit both) give the mean of the per-round
//     log ratios with a Student t interval over rounds; independent runs give
//     Welch's t interval of the difference of the mean logs. Why t and not a
//     rank test or a bootstrap: a gate has a handful of rounds; a sign or
//     signed-rank test cannot reach significance after correcting for 64
//     rows with fewer than 12 rounds, and a percentile bootstrap over 5
//     values covers far less than it claims. The t interval assumes roughly
//     normal log ratios, which per-round phase percentiles of a few thousand
//     requests are; the unit tests check its coverage on autocorrelated,
//     offset runs.
//  4. Correct for the number of rows (Bonferroni; WithCorrection): every
//     interval is at confidence 1 − alpha/rows, so the chance that any row of
//     the report is wrongly judged stays at most alpha whatever the rows'
//     correlation.
//  5. Judge each row: a regression (or improvement) when its whole interval
//     lies beyond the metric's threshold in the bad (good) direction. Rows
//     with fewer than MinRuns runs a side (or rounds) say "insufficient data"
//     and how many are needed; with one run a side the run-to-run noise is
//     unknown and no metric is judged.
//  6. Pair up the scenario checks; a check that passed in every base run and
//     fails in most head runs is a regression on its own (with one run a
//     side: passes in base, fails in head).
//  7. Fold rows and checks into one Verdict, and render the Report as an
//     aligned text table (WriteText) or GitHub Markdown (WriteMarkdown).
package compare
