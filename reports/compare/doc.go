// Package compare diffs two runs of the same scenario — a base and a head,
// typically two commits or two settings — and decides whether head regressed.
//
// The pipeline:
//
//  1. Pair up what both runs have: variants by name, streams by name within a
//     variant, phases by name within a variant. What only one side has is
//     listed ("only in base", "only in head"), never an error; comparing two
//     different scenarios is.
//  2. For every variant × stream × phase, take the phase summaries (p50, p99,
//     throughput, success ratio) for the displayed values and deltas, and the
//     per-second buckets wholly inside the phase window as the samples.
//  3. Test each metric's samples with the Mann-Whitney U test of
//     github.com/aclements/go-moremath/stats (what benchstat uses): it makes no
//     normality assumption, which matters for latency percentiles.
//  4. Adjust the p-values for their number (Benjamini-Hochberg): a report
//     runs dozens of tests, and without it nearly half of all pairs of runs of
//     the same code showed a chance "regression" somewhere (measured on
//     synthetic runs at 10 % per-second noise: 44.5 % uncorrected, 1 %
//     corrected). WithCorrection(false) judges each row on its own p-value.
//  5. Judge each row: a regression needs all three of a significant test
//     (adjusted p < alpha), a change in the bad direction (agreeing between
//     the summary delta and the samples) and a change larger than the
//     metric's threshold. Fewer than MinSamples seconds on either side gives
//     "insufficient data", never a verdict.
//  6. Pair up the scenario checks; a check that passed in base and fails in
//     head is a regression on its own.
//  7. Fold rows and checks into one Verdict, and render the Report as an
//     aligned text table (WriteText) or GitHub Markdown (WriteMarkdown).
package compare
