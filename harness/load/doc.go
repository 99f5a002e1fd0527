// Package load is the load engine: it drives a scenario's load streams
// against a base URL and measures what came back.
//
// The pipeline of one run:
//
//	load.Stream ──▶ Pacer (open model: constant rate or linear ramps, even
//	                or Poisson arrivals, one attack, no restarts) ──▶ vegeta Attacker
//	                     (one per stream, single-use, capped workers)
//	                 ──▶ targeter (key per request from a seeded RNG,
//	                     method, path, generated body)
//	                 ──▶ HTTP/1.1 keep-alive pool ──▶ target
//	vegeta.Result ──▶ collector (one goroutine per stream): the pacer's
//	                 inverse gives each hit's intended send time, so latency
//	                 is measured from when the request should have left
//	                 (coordinated-omission safe) and late sends are counted
//	             ──▶ per-second buckets of the hits *intended* in that second
//	                 (counts, codes, error classes classified by type in the
//	                 transport, X-Source, sparse HdrHistograms of success and
//	                 of failure latency, overflow above 60 s); hits never sent
//	                 are recorded there too, as unsent failures
//	             ──▶ one history.Op per request for the Jepsen-style checks,
//	                 spooled to an unlinked temporary file as it grows
//
// Memory grows with the run's length in seconds (one bucket per stream and
// second, its histogram sparse), not with its request count. The op history
// is the one record per request; it stays on disk while the load runs and
// is read back into Result.Ops at the end, so a long run's memory stays
// flat until the checks need the ops.
//
// The generator reports its own limits (late sends, unsent hits, worker
// cap, peak concurrency) so that a report never blames the target for what
// the load generator failed to send.
//
// The package has its own types (Stream, Summary, Latency) and imports
// neither the scenario format nor the results schema: the harness
// translates one and analyse builds the other.
package load
