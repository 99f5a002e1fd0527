package backend

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/loadlab/loadlab/harness/env"
)

// TestRateLimit: beyond rate_limit, item requests get 429 with Retry-After;
// /healthz and /metrics are never limited.
func TestRateLimit(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.RateLimit = 5 })
	k := ts.key("k")
	var ok, limited int
	for range 20 {
		r := ts.get(k)
		switch r.code {
		case http.StatusNotFound:
			ok++
		case http.StatusTooManyRequests:
			limited++
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("429 with Retry-After %q, want whole seconds >= 1", r.header.Get("Retry-After"))
			}
		default:
			t.Fatalf("GET: %d", r.code)
		}
	}
	if ok < 1 || limited < 10 {
		t.Errorf("20 quick GETs at rate_limit 5/s: %d answered, %d limited", ok, limited)
	}
	if got := value(t, ts.s.metrics.limited); got != float64(limited) {
		t.Errorf("limited requests metric = %v, want %d", got, limited)
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		if r := ts.do(http.MethodGet, path, nil); r.code != http.StatusOK {
			t.Errorf("GET %s under the rate limit: %d", path, r.code)
		}
	}
}

// TestMaxInflightSheds: with Postgres slowed down, requests beyond
// max_inflight are shed with 503 at once instead of queueing.
func TestMaxInflightSheds(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.MaxInflight = 2 })
	k := ts.key("k")
	ts.put(k, "v")
	defer ts.lab.cut(t, env.LinkBackendPostgres, "latency:200")()
	var mu sync.Mutex
	var shed, other int
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			r := ts.get(k)
			mu.Lock()
			defer mu.Unlock()
			if r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "overloaded") {
				other++ // admitted: answered, or timed out on the slowed link
				return
			}
			shed++
			if r.took > 150*time.Millisecond {
				t.Errorf("a shed request took %s: shedding must be immediate", r.took)
			}
		})
	}
	wg.Wait()
	if shed < 1 || other < 2 {
		t.Errorf("8 concurrent slow GETs with max_inflight 2: %d shed, %d admitted", shed, other)
	}
	if got := value(t, ts.s.metrics.shed); got != float64(shed) {
		t.Errorf("shed metric = %v, want %d", got, shed)
	}
}

// warmPool opens n Postgres connections before a test slows the link, so
// that connection setup (several round trips) does not eat the deadlines.
func warmPool(ts *testServer, n int) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ts.get(ts.key(fmt.Sprint("warm-", i))) })
	}
	wg.Wait()
}

// TestSingleflightCollapsesMisses: concurrent misses of one key make one
// Postgres read with stampede=singleflight, one each without.
func TestSingleflightCollapsesMisses(t *testing.T) {
	for _, stampede := range []string{StampedeNone, StampedeSingleflight} {
		t.Run(stampede, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) { c.Cache, c.Stampede = CacheAside, stampede })
			k := ts.key("k")
			want := ts.put(k, "v") // leaves a tombstone: the next reads miss
			warmPool(ts, 8)
			dbReads := func() float64 {
				var m dto.Metric
				if err := ts.s.metrics.dbQueries.WithLabelValues("get").Write(&m); err != nil {
					t.Fatal(err)
				}
				return m.GetCounter().GetValue()
			}
			loadsBefore := dbReads()
			heal := ts.lab.cut(t, env.LinkBackendPostgres, "latency:150")
			const readers = 6
			var wg sync.WaitGroup
			for range readers {
				wg.Go(func() {
					if r := ts.get(k); r.code != http.StatusOK || r.version != want.version {
						t.Errorf("GET: %d version %d", r.code, r.version)
					}
				})
			}
			wg.Wait()
			heal()
			loads := int(dbReads() - loadsBefore)
			switch {
			case stampede == StampedeSingleflight && loads > 2:
				t.Errorf("%d concurrent misses made %d Postgres reads with singleflight, want 1 (2 on a slow start)", readers, loads)
			case stampede == StampedeNone && loads < readers/2:
				t.Errorf("%d concurrent misses made only %d Postgres reads without protection", readers, loads)
			}
		})
	}
}

// TestEarlyRefresh: entries close to expiry are reloaded by a reader before
// they expire.
func TestEarlyRefresh(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.Cache, c.Stampede, c.CacheTTL = CacheWriteThrough, StampedeEarlyRefresh, 400*time.Millisecond
	})
	k := ts.key("k")
	ts.put(k, "v")
	sources := map[string]int{}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && sources[SourceDB] == 0 {
		sources[ts.get(k).source]++
		time.Sleep(5 * time.Millisecond) // pace the reads
	}
	if sources[SourceDB] == 0 || sources[SourceCache] == 0 {
		t.Errorf("reads of an entry with a 400ms TTL: %v, want cache hits and an early refresh from db", sources)
	}
}

// TestStartWaitsForPostgres: the backend may start before Postgres is
// reachable; /healthz is 503 and items are 503 until the schema exists.
func TestStartWaitsForPostgres(t *testing.T) {
	l := getLab(t)
	heal := l.cut(t, env.LinkBackendPostgres, "down")
	cfg := l.testConfig(fmt.Sprintf("start-%d", time.Now().UnixNano()))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := serveTestServer(t, l, s, "start")
	started := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		started <- s.Start(ctx)
	}()
	for _, path := range []string{"/healthz", "/items/k"} {
		if r := ts.do(http.MethodGet, path, nil); r.code != http.StatusServiceUnavailable {
			t.Errorf("GET %s before Postgres is up: %d, want 503", path, r.code)
		}
	}
	heal()
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	if r := ts.do(http.MethodGet, "/healthz", nil); r.code != http.StatusOK || !strings.Contains(r.body, `"postgres":"up"`) {
		t.Errorf("GET /healthz once started: %d %s", r.code, r.body)
	}
}

// TestMainServes runs the process entry point: flags, listen, ready,
// graceful stop on cancellation.
func TestMainServes(t *testing.T) {
	l := getLab(t)
	cfg := l.testConfig("main")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	errc := make(chan error, 1)
	go func() {
		errc <- Main(ctx, []string{"--addr", "127.0.0.1:0", "--database_url", cfg.DatabaseURL,
			"--redis_addr", cfg.RedisAddr, "--cache", "write-through"}, out, &syncBuffer{})
	}()
	var base string
	eventually(t, 10*time.Second, "Main prints its address", func() (bool, string) {
		_, addr, ok := strings.Cut(out.String(), "listening on ")
		base = "http://" + strings.TrimSpace(addr)
		return ok && strings.HasSuffix(out.String(), "\n"), out.String()
	})
	eventually(t, 20*time.Second, "/healthz answers 200", func() (bool, string) {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Main after cancellation: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Main did not return after cancellation")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestMetricsExposeContractNames checks /metrics against docs/CONTRACTS.md.
func TestMetricsExposeContractNames(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Writes = WritesQueue; c.Cache = CacheAside })
	ts.put(ts.key("k"), "v")
	ts.get(ts.key("k"))
	body := ts.do(http.MethodGet, "/metrics", nil).body
	for _, name := range []string{
		`backend_http_requests_total{code="202",method="PUT",route="/items/{key}"}`,
		`backend_http_request_duration_seconds_bucket{method="GET",route="/items/{key}"`,
		"backend_http_in_flight_requests", "backend_cache_hits_total", "backend_cache_misses_total",
		"backend_stale_reads_total", "backend_queue_depth", "backend_queue_lag_seconds",
		`backend_writes_accepted_total{mode="queue"}`, `backend_writes_accepted_total{mode="sync"}`,
		"backend_writes_applied_total", `backend_db_errors_total{op="get"}`, `backend_redis_errors_total{op="enqueue"}`,
		"backend_db_pool_in_use_connections", `backend_db_pool_connections{state="constructing"}`,
		`backend_db_pool_connections{state="idle"}`, "backend_db_connections_opened_total",
		"backend_limited_requests_total", "backend_shed_requests_total",
		"go_goroutines", "process_cpu_seconds_total",
	} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}
