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

	dbErrors    *prometheus.CounterVec // op
	redisErrors *prometheus.CounterVec // op

	limited prometheus.Counter
	shed    prometheus.Counter
}

// Operations that label the error counters; listed so that every series
// exists from the start.
var (
	dbOps    = []string{"schema", "get", "put", "apply"}
	redisOps = []string{"cache_get", "cache_set", "last_get", "last_set", "enqueue",
		"queue_group", "queue_read", "queue_claim", "queue_ack", "queue_depth"}
)

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backend_http_requests_total",
			Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "backend_http_request_duration_seconds",
			Help:    "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "backend_http_in_flight_requests",
			Help: "HTTP requests being served.",
		}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backend_cache_hits_total",
			Help: "Reads answered from the cache.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backend_cache_misses_total",
			Help: "Cache lookups that did not answer the read (absent, invalidated, Redis unreachable, early refresh).",
		}),
		staleReads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backend_stale_reads_total",
			Help: "Reads answered from the last-known copy because Postgres was unreachable (ap).",
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "backend_queue_depth",
			Help: "Queued writes not yet applied to Postgres (stream length).",
		}),
		queueLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "backend_queue_lag_seconds",
			Help: "Age of the oldest queued write not yet applied; 0 when the queue is empty.",
		}),
		writesAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backend_writes_accepted_total",
			Help: "Acknowledged writes by how they were accepted: sync (200, in Postgres) or queue (202).",
		}, []string{"mode"}),
		writesApplied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backend_writes_applied_total",
			Help: "Writes that changed Postgres: sync writes plus queued writes the worker applied (not redeliveries or superseded versions).",
		}),
		dbErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backend_db_errors_total",
			Help: "Failed Postgres calls by operation, including calls refused while the breaker marks Postgres down.",
		}, []string{"op"}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backend_redis_errors_total",
			Help: "Failed Redis calls by operation, including calls refused while the breaker marks Redis down.",
		}, []string{"op"}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backend_limited_requests_total",
			Help: "Item requests refused by the rate limit (429).",
		}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "backend_shed_requests_total",
			Help: "Item requests shed by the in-flight limit (503).",
		}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.inFlight,
		m.cacheHits, m.cacheMisses, m.staleReads,
		m.queueDepth, m.queueLag, m.writesAccepted, m.writesApplied,
		m.dbErrors, m.redisErrors, m.limited, m.shed,
	)
	for _, mode := range []string{WritesSync, WritesQueue} {
		m.writesAccepted.WithLabelValues(mode)
	}
	for _, op := range dbOps {
		m.dbErrors.WithLabelValues(op)
	}
	for _, op := range redisOps {
		m.redisErrors.WithLabelValues(op)
	}
	return m
}

// registerPool exports the Postgres pool's connections in use.
func (m *metrics) registerPool(inUse func() float64) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "backend_db_pool_in_use_connections",
		Help: "Postgres connections currently acquired from the pool.",
	}, inUse))
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
