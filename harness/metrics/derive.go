package metrics

import (
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/loadlab/loadlab/reports/results"
)

// The backend's metric families (docs/CONTRACTS.md) the scraper reads.
const (
	famRequests      = "backend_http_requests_total"
	famInFlight      = "backend_http_in_flight_requests"
	famCacheHits     = "backend_cache_hits_total"
	famCacheMisses   = "backend_cache_misses_total"
	famStaleReads    = "backend_stale_reads_total"
	famQueueDepth    = "backend_queue_depth"
	famQueueLag      = "backend_queue_lag_seconds"
	famWritesAccept  = "backend_writes_accepted_total"
	famWritesApplied = "backend_writes_applied_total"
	famDBQueries     = "backend_db_queries_total"
	famDBErrors      = "backend_db_errors_total"
	famRedisErrors   = "backend_redis_errors_total"
	famDBPoolInUse   = "backend_db_pool_in_use_connections"
	famLimited       = "backend_limited_requests_total"
	famShed          = "backend_shed_requests_total"
)

// Derived series names, as they appear in results.json.
const (
	CacheHitRatio        = "cache_hit_ratio"
	CacheHitsPerSecond   = "cache_hits_per_second"
	StaleReadsPerSecond  = "stale_reads_per_second"
	QueueDepth           = "queue_depth"
	QueueLagSeconds      = "queue_lag_seconds"
	WritesAcceptedPerSec = "writes_accepted_per_second"
	WritesAppliedPerSec  = "writes_applied_per_second"
	DBQueriesPerSecond   = "db_queries_per_second"
	DBReadsPerSecond     = "db_reads_per_second"
	DBErrorsPerSecond    = "db_errors_per_second"
	RedisErrorsPerSecond = "redis_errors_per_second"
	InFlightRequests     = "in_flight_requests"
	DBPoolInUse          = "db_pool_in_use"
	LimitedPerSecond     = "limited_per_second"
	ShedPerSecond        = "shed_per_second"
	RequestsByCodePrefix = "requests_per_second_by_code_" // + "2xx", "4xx", "5xx", ...
)

// Units of results.Series.
const (
	unitRatio   = "ratio"
	unitCount   = "count"
	unitSeconds = "seconds"
	unitRate    = "per_second"
)

// rateDef derives a per-second rate series from one counter family, or
// from its samples with one label value (only, e.g. "op=get").
type rateDef struct {
	family, series, help string
	only                 string
}

// bucket names the counters a rate is made of.
func (r rateDef) bucket() string {
	if r.only == "" {
		return r.family
	}
	return r.family + "{" + r.only + "}"
}

// matches reports whether a sample belongs to the rate.
func (r rateDef) matches(m *dto.Metric) bool {
	if r.only == "" {
		return true
	}
	name, want, _ := strings.Cut(r.only, "=")
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue() == want
		}
	}
	return false
}

var rates = []rateDef{
	{family: famCacheHits, series: CacheHitsPerSecond, help: "cache hits per second"},
	{family: famStaleReads, series: StaleReadsPerSecond, help: "stale reads served per second (primary unreachable)"},
	{family: famWritesAccept, series: WritesAcceptedPerSec, help: "writes accepted per second (all modes)"},
	{family: famWritesApplied, series: WritesAppliedPerSec, help: "writes applied to the primary store per second"},
	{family: famDBQueries, series: DBQueriesPerSecond, help: "database statements sent per second (every operation)"},
	{family: famDBQueries, series: DBReadsPerSecond, help: "database reads per second (reads the cache did not answer)", only: "op=get"},
	{family: famDBErrors, series: DBErrorsPerSecond, help: "database errors per second"},
	{family: famRedisErrors, series: RedisErrorsPerSecond, help: "Redis errors per second"},
	{family: famLimited, series: LimitedPerSecond, help: "requests rejected by the rate limiter per second (429)"},
	{family: famShed, series: ShedPerSecond, help: "requests shed under overload per second"},
}

// missRate counts cache misses; it has no series of its own but makes the
// hit ratio.
var missRate = rateDef{family: famCacheMisses}

// gaugeDef copies one gauge family, summed over its labels.
type gaugeDef struct {
	family, series, unit, help string
}

var gauges = []gaugeDef{
	{famQueueDepth, QueueDepth, unitCount, "writes waiting in the queue"},
	{famQueueLag, QueueLagSeconds, unitSeconds, "age of the oldest queued write"},
	{famInFlight, InFlightRequests, unitCount, "requests in flight in the target"},
	{famDBPoolInUse, DBPoolInUse, unitCount, "database connections in use"},
}

// seriesOrder is the order of Series(): the fixed series first, then the
// request rates by code class.
var seriesOrder = func() []string {
	names := []string{CacheHitRatio}
	for _, r := range rates {
		names = append(names, r.series)
	}
	for _, g := range gauges {
		names = append(names, g.series)
	}
	return names
}()

var seriesMeta = func() map[string][2]string { // name -> unit, help
	m := map[string][2]string{
		CacheHitRatio: {unitRatio, "cache hits / (hits + misses) over each scrape interval"},
	}
	for _, r := range rates {
		m[r.series] = [2]string{unitRate, r.help}
	}
	for _, g := range gauges {
		m[g.series] = [2]string{g.unit, g.help}
	}
	return m
}()

// counterKey names one counter of one scrape: its bucket of derived values
// (a family, or the request family's code class) and its exact label set,
// the unit of counter-reset detection.
type counterKey struct {
	bucket string
	labels string
}

// value reads a sample whatever its declared type: a custom target may
// export its counters untyped.
func value(m *dto.Metric) (float64, bool) {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue(), true
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue(), true
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}

func labelKey(m *dto.Metric) string {
	ls := m.GetLabel()
	if len(ls) == 0 {
		return ""
	}
	parts := make([]string, 0, len(ls))
	for _, l := range ls {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	slices.Sort(parts) // the text parser does not sort labels
	return strings.Join(parts, "\xff")
}

// codeClass maps an HTTP status label to "2xx" and friends; "" if it is none.
func codeClass(m *dto.Metric) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == "code" {
			v := l.GetValue()
			if len(v) == 3 && v[0] >= '1' && v[0] <= '5' {
				return v[:1] + "xx"
			}
			return ""
		}
	}
	return ""
}

// reading is one scrape reduced to what the series need.
type reading struct {
	counters map[counterKey]float64 // raw counter values, by bucket and label set
	buckets  map[string]bool        // counter buckets present in this scrape
	gauges   map[string]float64     // gauge series -> sum over labels
}

// reduce keeps from a scrape only the families the series are made of.
func reduce(families map[string]*dto.MetricFamily) reading {
	r := reading{counters: map[counterKey]float64{}, buckets: map[string]bool{}, gauges: map[string]float64{}}
	addCounters := func(family string, bucketOf func(*dto.Metric) string) {
		mf, ok := families[family]
		if !ok {
			return
		}
		for _, m := range mf.GetMetric() {
			v, ok := value(m)
			b := bucketOf(m)
			if !ok || b == "" {
				continue
			}
			r.counters[counterKey{b, labelKey(m)}] = v
			r.buckets[b] = true
		}
	}
	for _, rd := range append(rates, missRate) {
		addCounters(rd.family, func(m *dto.Metric) string {
			if rd.matches(m) {
				return rd.bucket()
			}
			return ""
		})
	}
	addCounters(famRequests, func(m *dto.Metric) string {
		if c := codeClass(m); c != "" {
			return RequestsByCodePrefix + c
		}
		return ""
	})
	for _, g := range gauges {
		mf, ok := families[g.family]
		if !ok {
			continue
		}
		sum, any := 0.0, false
		for _, m := range mf.GetMetric() {
			if v, ok := value(m); ok {
				sum += v
				any = true
			}
		}
		if any {
			r.gauges[g.series] = sum
		}
	}
	return r
}

// increments returns, per bucket present in cur, how much its counters grew
// since prev. A counter below its previous value was reset (the target
// restarted): it grew by its whole current value, as in Prometheus' rate().
// A label set absent from prev is new since then and started at zero.
func increments(prev, cur reading) map[string]float64 {
	inc := make(map[string]float64, len(cur.buckets))
	for b := range cur.buckets {
		inc[b] = 0
	}
	for k, v := range cur.counters {
		p, seen := prev.counters[k]
		switch {
		case !seen, v < p:
			inc[k.bucket] += v
		default:
			inc[k.bucket] += v - p
		}
	}
	return inc
}

// points turns one interval of dt seconds ending at t into series points.
func points(t, dt float64, inc map[string]float64, cur reading, emit func(series string, p results.Point)) {
	if dt > 0 {
		for _, r := range rates {
			if d, ok := inc[r.bucket()]; ok {
				emit(r.series, results.Point{T: t, V: d / dt})
			}
		}
		for b, d := range inc {
			if strings.HasPrefix(b, RequestsByCodePrefix) {
				emit(b, results.Point{T: t, V: d / dt})
			}
		}
		hits, okH := inc[famCacheHits]
		misses, okM := inc[famCacheMisses]
		if okH && okM && hits+misses > 0 { // no lookups: no ratio, rather than a fake 0 or 1
			emit(CacheHitRatio, results.Point{T: t, V: hits / (hits + misses)})
		}
	}
	for _, g := range gauges {
		if v, ok := cur.gauges[g.series]; ok {
			emit(g.series, results.Point{T: t, V: v})
		}
	}
}
