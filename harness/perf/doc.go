// Package perf holds loadlab's performance benchmarks: what the lab itself
// costs and how far its numbers can be trusted. It has no API; everything is
// in its test files, run by `make bench` (go test -run '^$' -bench .) and
// recorded in docs/PERFORMANCE.md.
//
// The pipeline of a benchmark:
//
//	trivial target (this test binary re-executed as a child process, so
//	the generator under test has its process to itself)
//	  ◀── generator: harness/load.Run, the vegeta CLI or wrk, side by side
//	  ◀── optionally an embedded toxiproxy server in between
//	──▶ figures via b.ReportMetric (req/s, ratio, p50-ms, MB-rss, ...) so
//	    that benchstat can compare runs, each with the machine's load1.
//
// What is measured:
//
//   - BenchmarkGeneratorCeiling: requests per second against the trivial
//     target, loadlab's engine vs the vegeta CLI vs wrk, in one run.
//   - BenchmarkRateAccuracy: achieved / intended rate at 1k and 5k req/s.
//   - BenchmarkLatencyFidelity: p50 through toxiproxy with a 50 ms
//     latency toxic, divided by 50 ms.
//   - BenchmarkSoak: the harness's RSS over a long run at 3k req/s
//     (LOADLAB_BENCH_SOAK, default 60s; the figure is 10m).
//   - BenchmarkEnvStartWarm: env.Up and Down with the images present.
//   - BenchmarkEnvStartCold (LOADLAB_BENCH_COLD=1): every image rebuilt
//     from nothing, then the first env.Up, against a warm one in the same
//     run.
//   - BenchmarkRender1M, BenchmarkCompare1M: reports and compare over
//     synthetic results of about a million requests.
//   - BenchmarkHistoryCheck1M: history.Check throughput.
//   - BenchmarkControlPlaneUnderLoad and TestControlPlaneUnderLoad: toxic
//     add and remove latency while 5k req/s flow through the proxy.
//
// Settings, all optional: LOADLAB_BENCH_WINDOW (load window of the
// generator benchmarks, default 5s), LOADLAB_BENCH_CONNS (connections or
// workers of every generator, default 64), LOADLAB_BENCH_SOAK and
// LOADLAB_BENCH_SOAK_RATE, LOADLAB_BENCH_COLD=1, LOADLAB_BENCH_NO_INSTALL=1 (never install vegeta
// or wrk; their parts are then skipped when missing).
package perf
