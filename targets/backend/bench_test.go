package backend

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Benchmarks of the hot paths through the handler (no HTTP transport),
// against the real containers, reached directly rather than through
// toxiproxy so that the numbers are the backend's and the stores'.

func benchServer(b *testing.B, configure func(*Config)) *Server {
	b.Helper()
	l := getLab(b)
	cfg := l.testConfig(fmt.Sprintf("bench-%d", time.Now().UnixNano()))
	cfg.DatabaseURL, cfg.RedisAddr = l.env.PostgresDSN, l.env.RedisAddr
	configure(&cfg)
	s, err := New(cfg, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func serve(b *testing.B, h http.Handler, method, path, body string, want int) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, r))
	if rec.Code != want {
		b.Fatalf("%s %s: %d %s, want %d", method, path, rec.Code, rec.Body, want)
	}
}

var benchValue = strings.Repeat("v", 64)

func BenchmarkGetCacheHit(b *testing.B) {
	s := benchServer(b, func(c *Config) { c.Cache = CacheAside })
	h := s.Handler()
	serve(b, h, http.MethodPut, "/items/bench.hit", benchValue, http.StatusOK)
	serve(b, h, http.MethodGet, "/items/bench.hit", "", http.StatusOK)
	for b.Loop() {
		serve(b, h, http.MethodGet, "/items/bench.hit", "", http.StatusOK)
	}
}

// BenchmarkGetCacheMiss: every read misses (the cache epoch moves on before
// each), reads Postgres and populates the cache.
func BenchmarkGetCacheMiss(b *testing.B) {
	s := benchServer(b, func(c *Config) { c.Cache = CacheAside })
	h := s.Handler()
	serve(b, h, http.MethodPut, "/items/bench.miss", benchValue, http.StatusOK)
	for b.Loop() {
		s.redis.bumpEpoch()
		serve(b, h, http.MethodGet, "/items/bench.miss", "", http.StatusOK)
	}
}

// BenchmarkGetNoCache: a read straight from Postgres.
func BenchmarkGetNoCache(b *testing.B) {
	s := benchServer(b, func(c *Config) {})
	h := s.Handler()
	serve(b, h, http.MethodPut, "/items/bench.db", benchValue, http.StatusOK)
	for b.Loop() {
		serve(b, h, http.MethodGet, "/items/bench.db", "", http.StatusOK)
	}
}

// BenchmarkPutSync: an upsert in Postgres, then the cache-aside tombstone.
func BenchmarkPutSync(b *testing.B) {
	s := benchServer(b, func(c *Config) { c.Cache = CacheAside })
	h := s.Handler()
	for b.Loop() {
		serve(b, h, http.MethodPut, "/items/bench.sync", benchValue, http.StatusOK)
	}
}

// BenchmarkPutQueued: version allocation and XADD in one Redis script; the
// worker applies the writes in the background meanwhile.
func BenchmarkPutQueued(b *testing.B) {
	s := benchServer(b, func(c *Config) { c.Writes = WritesQueue })
	h := s.Handler()
	for b.Loop() {
		serve(b, h, http.MethodPut, "/items/bench.queue", benchValue, http.StatusAccepted)
	}
}
