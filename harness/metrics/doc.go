// Package metrics scrapes the target's Prometheus /metrics endpoint during a
// variant and turns what it reads into the time series of results.json.
//
// The pipeline: Run scrapes every interval (one second by default) from T0
// until its context ends; each scrape is parsed with expfmt and reduced at
// once to one number per derived series — counters become per-second rates
// over the interval since the previous good scrape (per label set, so a
// counter reset in one series is recognised), gauges are summed over their
// labels, and the cache hit ratio is taken from the two counters' increments.
// Only the previous scrape's raw counters are kept, so memory grows with
// seconds × series and not with the target's label sets.
//
// A failed scrape is counted and skipped: the target may well be partitioned
// or overloaded, which is what the run is there to show. Metrics the target
// does not export give no series at all, so a custom target exporting
// nothing yields an empty result rather than a page of zeros.
package metrics
