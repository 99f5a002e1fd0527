package backend

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics holds every series the backend exports; the names are part of the
// contract with the harness (docs/CONTRACTS.md).
type metrics struct {
	registry *prometheus.Registry

	requests *prometheus.CounterVec   // route, method, code
	duration *prometheus.HistogramVec // route, method
	inFlight prometheus.Gauge

	cacheHits   prometheus.Counter
	cacheMisses prometheus.Counter
	staleReads  prometheus.Counter

	queueDepth     prometheus.Gauge
	queueLag       prometheus.Gauge
	writesAccepted *prometheus.CounterVec // mode: sync, queue
	writesApplied  prometheus.Counter

	dbQueries   *prometheus.CounterVec // op
	dbErrors    *prometheus.CounterVec // op
	redisErrors *prometheus.CounterVec // op
	authChecks  *prometheus.CounterVec // result

	limited prometheus.Counter
	shed    prometheus.Counter
}

// Operations that label the Postgres and Redis counters; listed so that
// every series exists from the start.
var (
	dbOps    = []string{"schema", "get", "put", "apply"}
	redisOps = []string{"cache_get", "cache_set", "last_get", "last_set", "enqueue",
		"queue_group", "queue_read", "queue_claim", "queue_ack", "queue_depth", "item_get", "item_put", "session_set", "session_get", "session_del"}
)

// newMetrics registers every family from three tables: plain counters,
// gauges, and counters with one label whose values are created up front.
func newMetrics() *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "backend_http_requests_total",
		Help: "HTTP requests by route, method and status code.",
	}, []string{"route", "method", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "backend_http_request_duration_seconds",
		Help:    "HTTP request latency by route and method.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method"})
	m.registry.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), m.requests, m.duration)

	for _, c := range []struct {
		into       *prometheus.Counter
		name, help string
	}{
		{&m.cacheHits, "backend_cache_hits_total", "Reads answered from the cache."},
		{&m.cacheMisses, "backend_cache_misses_total", "Cache lookups that did not answer the read (absent, invalidated, Redis unreachable, early refresh)."},
		{&m.staleReads, "backend_stale_reads_total", "Reads answered from the last-known copy because Postgres was unreachable (ap)."},
		{&m.writesApplied, "backend_writes_applied_total", "Writes that changed Postgres: sync writes plus queued writes the worker applied (not redeliveries or superseded versions)."},
		{&m.limited, "backend_limited_requests_total", "Item requests refused by the rate limit (429)."},
		{&m.shed, "backend_shed_requests_total", "Item requests shed by the in-flight limit (503)."},
	} {
		*c.into = prometheus.NewCounter(prometheus.CounterOpts{Name: c.name, Help: c.help})
		m.registry.MustRegister(*c.into)
	}
	for _, g := range []struct {
		into       *prometheus.Gauge
		name, help string
	}{
		{&m.inFlight, "backend_http_in_flight_requests", "HTTP requests being served."},
		{&m.queueDepth, "backend_queue_depth", "Queued writes not yet applied to Postgres (stream length)."},
		{&m.queueLag, "backend_queue_lag_seconds", "Age of the oldest queued write not yet applied; 0 when the queue is empty."},
	} {
		*g.into = prometheus.NewGauge(prometheus.GaugeOpts{Name: g.name, Help: g.help})
		m.registry.MustRegister(*g.into)
	}
	for _, v := range []struct {
		into              **prometheus.CounterVec
		name, help, label string
		values            []string
	}{
		{&m.writesAccepted, "backend_writes_accepted_total", "Acknowledged writes by how they were accepted: sync (200, in Postgres) or queue (202).", "mode", []string{WritesSync, WritesQueue}},
		{&m.dbQueries, "backend_db_queries_total", "Postgres statements sent, by operation (get: reads that missed the cache or bypass it).", "op", dbOps},
		{&m.dbErrors, "backend_db_errors_total", "Failed Postgres calls by operation, including calls refused while the breaker marks Postgres down.", "op", dbOps},
		{&m.authChecks, "backend_auth_checks_total", "Bearer-token checks of item requests by result: ok, rejected (401) or error (the token could not be checked: 503).", "result", []string{"ok", "rejected", "error"}},
		{&m.redisErrors, "backend_redis_errors_total", "Failed Redis calls by operation, including calls refused while the breaker marks Redis down.", "op", redisOps},
	} {
		*v.into = prometheus.NewCounterVec(prometheus.CounterOpts{Name: v.name, Help: v.help}, []string{v.label})
		m.registry.MustRegister(*v.into)
		for _, val := range v.values {
			(*v.into).WithLabelValues(val)
		}
	}
	return m
}

// poolStats is what the Postgres pool says of its connections.
type poolStats struct {
	acquired, idle, constructing int32
	opened                       int64 // since start
}

// registerPool exports the Postgres pool's connections: in use, idle and
// being opened, and how many were ever opened: a pool that lost a
// connection with every abandoned statement opened one per request, the
// churn that once kept retry-storm's backend down after its spike.
func (m *metrics) registerPool(stats func() poolStats) {
	m.registry.MustRegister(poolCollector{
		stats: stats,
		inUse: prometheus.NewDesc("backend_db_pool_in_use_connections",
			"Postgres connections currently acquired from the pool.", nil, nil),
		conns: prometheus.NewDesc("backend_db_pool_connections",
			"Postgres connections of the pool that are not in use, by state: idle, or constructing (being opened).", []string{"state"}, nil),
		opened: prometheus.NewDesc("backend_db_connections_opened_total",
			"Postgres connections the pool opened since the backend started.", nil, nil),
	})
}

// poolCollector reads the pool once per scrape, so that the numbers it
// exports are of one moment.
type poolCollector struct {
	stats                func() poolStats
	inUse, conns, opened *prometheus.Desc
}

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inUse
	ch <- c.conns
	ch <- c.opened
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(s.acquired))
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(s.idle), "idle")
	ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(s.constructing), "constructing")
	ch <- prometheus.MustNewConstMetric(c.opened, prometheus.CounterValue, float64(s.opened))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// instrument counts and times every request. It runs outside the ServeMux,
// which records the matched pattern in r.Pattern; unmatched requests are
// labelled route="other".
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		route, method := routeLabel(r.Pattern), methodLabel(r.Method)
		m.requests.WithLabelValues(route, method, strconv.Itoa(rec.code)).Inc()
		m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	})
}

func routeLabel(pattern string) string {
	if pattern == "" {
		return "other"
	}
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

// methodLabel keeps the label's cardinality bounded.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodPut, http.MethodHead, http.MethodPost, http.MethodDelete:
		return method
	}
	return "other"
}

type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
