package metrics

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/loadlab/loadlab/reports/results"
)

// backend is a real client_golang registry with the backend's metric
// families, served over HTTP. restart swaps in a fresh registry, as a target
// restart would: every counter starts again from zero.
type backend struct {
	mu      sync.Mutex
	handler http.Handler
	status  int // non-zero: answer with this status instead of metrics

	requests                        *prometheus.CounterVec
	hits, misses, stale, applied    prometheus.Counter
	limited, shed                   prometheus.Counter
	accepted, dbErrors, redisErrors *prometheus.CounterVec
	queueDepth                      *prometheus.GaugeVec
	queueLag, inFlight, poolInUse   prometheus.Gauge
}

func newBackend() *backend {
	b := &backend{}
	b.restart()
	return b
}

func (b *backend) restart() {
	reg := prometheus.NewRegistry()
	f := func(name string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: name})
		reg.MustRegister(c)
		return c
	}
	fv := func(name string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: name}, labels)
		reg.MustRegister(c)
		return c
	}
	g := func(name string) prometheus.Gauge {
		c := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: name})
		reg.MustRegister(c)
		return c
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests = fv(famRequests, "route", "method", "code")
	b.hits, b.misses, b.stale = f(famCacheHits), f(famCacheMisses), f(famStaleReads)
	b.applied, b.limited, b.shed = f(famWritesApplied), f(famLimited), f(famShed)
	b.accepted = fv(famWritesAccept, "mode")
	b.dbErrors, b.redisErrors = fv(famDBErrors, "op"), fv(famRedisErrors, "op")
	b.queueDepth = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: famQueueDepth, Help: "depth"}, []string{"stream"})
	reg.MustRegister(b.queueDepth)
	b.queueLag, b.inFlight, b.poolInUse = g(famQueueLag), g(famInFlight), g(famDBPoolInUse)
	b.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	h, status := b.handler, b.status
	b.mu.Unlock()
	if status != 0 {
		http.Error(w, "unavailable", status)
		return
	}
	h.ServeHTTP(w, r)
}

func (b *backend) setStatus(code int) {
	b.mu.Lock()
	b.status = code
	b.mu.Unlock()
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func newScraper(url string) *Scraper {
	return NewScraper(url, WithTimeout(2*time.Second), WithLogger(slog.New(slog.DiscardHandler)))
}

func scrape(t *testing.T, s *Scraper, at time.Duration) {
	t.Helper()
	if err := s.ScrapeOnce(context.Background(), at); err != nil {
		t.Fatalf("scrape at %s: %v", at, err)
	}
}

func byName(ss []results.Series) map[string]results.Series {
	m := map[string]results.Series{}
	for _, s := range ss {
		m[s.Name] = s
	}
	return m
}

func assertPoints(t *testing.T, series map[string]results.Series, name string, want ...results.Point) {
	t.Helper()
	got, ok := series[name]
	if !ok {
		t.Errorf("%s: no series", name)
		return
	}
	if len(got.Points) != len(want) {
		t.Errorf("%s: points %v, want %v", name, got.Points, want)
		return
	}
	for i := range want {
		if got.Points[i].T != want[i].T || math.Abs(got.Points[i].V-want[i].V) > 1e-9 {
			t.Errorf("%s: points %v, want %v", name, got.Points, want)
			return
		}
	}
}

func pt(t, v float64) results.Point { return results.Point{T: t, V: v} }

func TestDerivedRatesRatiosAndGauges(t *testing.T) {
	b := newBackend()
	srv := serve(t, b)
	s := newScraper(srv.URL)

	b.requests.WithLabelValues("/items/{key}", "GET", "200").Add(7) // before the baseline: not counted
	b.queueDepth.WithLabelValues("a").Set(3)
	b.queueDepth.WithLabelValues("b").Set(2)
	b.inFlight.Set(4)
	b.poolInUse.Set(1)
	b.queueLag.Set(0.5)
	b.hits.Add(1000)
	scrape(t, s, 0)

	// Two seconds of traffic.
	b.requests.WithLabelValues("/items/{key}", "GET", "200").Add(60)
	b.requests.WithLabelValues("/items/{key}", "PUT", "202").Add(40)
	b.requests.WithLabelValues("/items/{key}", "GET", "404").Add(10)
	b.requests.WithLabelValues("/items/{key}", "GET", "503").Add(20) // a label set born after the baseline
	b.hits.Add(30)
	b.misses.Add(10)
	b.stale.Add(4)
	b.accepted.WithLabelValues("sync").Add(12)
	b.accepted.WithLabelValues("queue").Add(8)
	b.applied.Add(15)
	b.dbErrors.WithLabelValues("get").Add(2)
	b.dbErrors.WithLabelValues("put").Add(3)
	b.redisErrors.WithLabelValues("get").Add(1)
	b.limited.Add(6)
	b.shed.Add(8)
	b.queueDepth.WithLabelValues("a").Set(10)
	b.inFlight.Set(9)
	scrape(t, s, 2*time.Second)

	// One idle second: rates drop to zero, the ratio has nothing to say.
	scrape(t, s, 3*time.Second)

	got := byName(s.Series())
	assertPoints(t, got, CacheHitRatio, pt(2, 0.75))
	assertPoints(t, got, CacheHitsPerSecond, pt(2, 15), pt(3, 0))
	assertPoints(t, got, StaleReadsPerSecond, pt(2, 2), pt(3, 0))
	assertPoints(t, got, WritesAcceptedPerSec, pt(2, 10), pt(3, 0))
	assertPoints(t, got, WritesAppliedPerSec, pt(2, 7.5), pt(3, 0))
	assertPoints(t, got, DBErrorsPerSecond, pt(2, 2.5), pt(3, 0))
	assertPoints(t, got, RedisErrorsPerSecond, pt(2, 0.5), pt(3, 0))
	assertPoints(t, got, LimitedPerSecond, pt(2, 3), pt(3, 0))
	assertPoints(t, got, ShedPerSecond, pt(2, 4), pt(3, 0))
	assertPoints(t, got, RequestsByCodePrefix+"2xx", pt(2, 50), pt(3, 0))
	assertPoints(t, got, RequestsByCodePrefix+"4xx", pt(2, 5), pt(3, 0))
	assertPoints(t, got, RequestsByCodePrefix+"5xx", pt(2, 10), pt(3, 0))
	assertPoints(t, got, QueueDepth, pt(0, 5), pt(2, 12), pt(3, 12))
	assertPoints(t, got, InFlightRequests, pt(0, 4), pt(2, 9), pt(3, 9))
	assertPoints(t, got, DBPoolInUse, pt(0, 1), pt(2, 1), pt(3, 1))
	assertPoints(t, got, QueueLagSeconds, pt(0, 0.5), pt(2, 0.5), pt(3, 0.5))

	units := map[string]string{CacheHitRatio: "ratio", QueueLagSeconds: "seconds", QueueDepth: "count", ShedPerSecond: "per_second", RequestsByCodePrefix + "5xx": "per_second"}
	for name, unit := range units {
		if got[name].Unit != unit || got[name].Help == "" {
			t.Errorf("%s: unit %q help %q", name, got[name].Unit, got[name].Help)
		}
	}
	if s.Scrapes() != 3 || s.Failures() != 0 {
		t.Errorf("scrapes %d failures %d", s.Scrapes(), s.Failures())
	}
}

func TestCounterResetCountsTheNewValue(t *testing.T) {
	b := newBackend()
	srv := serve(t, b)
	s := newScraper(srv.URL)

	b.hits.Add(100)
	b.requests.WithLabelValues("/items/{key}", "GET", "200").Add(100)
	scrape(t, s, 0)
	b.hits.Add(10)
	b.requests.WithLabelValues("/items/{key}", "GET", "200").Add(10)
	scrape(t, s, time.Second)

	b.restart() // the target restarted: counters are back near zero
	b.hits.Add(4)
	b.requests.WithLabelValues("/items/{key}", "GET", "200").Add(6)
	scrape(t, s, 2*time.Second)

	got := byName(s.Series())
	assertPoints(t, got, CacheHitsPerSecond, pt(1, 10), pt(2, 4))
	assertPoints(t, got, RequestsByCodePrefix+"2xx", pt(1, 10), pt(2, 6))
}

func TestResetInOneLabelSetLeavesTheOthers(t *testing.T) {
	// Two label sets of one family: a reset is detected per label set, not
	// on the sum, so the sum's apparent growth must not hide it.
	var mu sync.Mutex
	body := ""
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, body)
	}))
	set := func(a, b int) {
		mu.Lock()
		defer mu.Unlock()
		body = "# TYPE backend_db_errors_total counter\n" +
			"backend_db_errors_total{op=\"get\"} " + strconv.Itoa(a) + "\n" +
			"backend_db_errors_total{op=\"put\"} " + strconv.Itoa(b) + "\n"
	}
	s := newScraper(srv.URL)
	set(50, 10)
	scrape(t, s, 0)
	set(3, 100) // get reset to 0 and grew to 3; put grew by 90
	scrape(t, s, time.Second)
	assertPoints(t, byName(s.Series()), DBErrorsPerSecond, pt(1, 93))
}

func TestFailedScrapesAreCountedAndBridged(t *testing.T) {
	b := newBackend()
	srv := serve(t, b)
	s := newScraper(srv.URL)

	b.hits.Add(5)
	b.inFlight.Set(2)
	scrape(t, s, 0)

	b.setStatus(http.StatusServiceUnavailable)
	if err := s.ScrapeOnce(context.Background(), time.Second); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("scrape of a 503: %v", err)
	}
	b.setStatus(0)
	b.hits.Add(20)
	scrape(t, s, 2*time.Second)

	got := byName(s.Series())
	// The rate spans the gap: 20 hits over the 2 s since the last good scrape.
	assertPoints(t, got, CacheHitsPerSecond, pt(2, 10))
	assertPoints(t, got, InFlightRequests, pt(0, 2), pt(2, 2))

	srv.Close() // partitioned: connection refused
	if err := s.ScrapeOnce(context.Background(), 3*time.Second); err == nil {
		t.Error("scrape of a closed server succeeded")
	}
	if s.Scrapes() != 4 || s.Failures() != 2 || s.LastError() == nil {
		t.Errorf("scrapes %d failures %d last error %v", s.Scrapes(), s.Failures(), s.LastError())
	}
}

func TestGarbageIsAFailedScrape(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "backend_queue_depth{{{ not metrics\n")
	}))
	s := newScraper(srv.URL)
	if err := s.ScrapeOnce(context.Background(), 0); err == nil || !strings.Contains(err.Error(), "parse") {
		t.Errorf("error %v", err)
	}
	if s.Failures() != 1 || len(s.Series()) != 0 {
		t.Errorf("failures %d series %v", s.Failures(), s.Series())
	}
}

func TestAbsentMetricsGiveNoSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	other := prometheus.NewCounter(prometheus.CounterOpts{Name: "custom_target_requests_total", Help: "x"})
	reg.MustRegister(other)
	hits := prometheus.NewCounter(prometheus.CounterOpts{Name: famCacheHits, Help: "x"})
	srv := serve(t, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s := newScraper(srv.URL)
	scrape(t, s, 0)
	other.Add(10)
	scrape(t, s, time.Second)
	if ss := s.Series(); len(ss) != 0 {
		t.Fatalf("a target without backend metrics gave series %v", ss)
	}

	// Hits without misses: a rate, but no ratio (it would always say 1).
	reg.MustRegister(hits)
	hits.Add(3)
	scrape(t, s, 2*time.Second)
	hits.Add(3)
	scrape(t, s, 3*time.Second)
	got := byName(s.Series())
	if _, ok := got[CacheHitRatio]; ok {
		t.Error("ratio without a misses counter")
	}
	assertPoints(t, got, CacheHitsPerSecond, pt(2, 3), pt(3, 3))
}

func TestRunScrapesUntilCancelled(t *testing.T) {
	b := newBackend()
	srv := serve(t, b)
	s := NewScraper(srv.URL, WithInterval(20*time.Millisecond), WithLogger(slog.New(slog.DiscardHandler)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t0 := time.Now()
	go func() {
		s.Run(ctx, t0)
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for s.Scrapes() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("fewer than 3 scrapes in 5s")
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	pts := byName(s.Series())[InFlightRequests].Points
	if len(pts) < 3 || pts[0].T < 0 || pts[0].T > pts[len(pts)-1].T {
		t.Errorf("points %v", pts)
	}
}
