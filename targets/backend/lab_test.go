package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/harness/labtest"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
)

// One lab (Postgres, Redis, toxiproxy in containers) serves every test of
// the binary. It starts on first use, so tests that need no containers run
// without Docker, and TestMain tears it down whatever the tests did.

type lab struct {
	env *env.Env
	pg  *pgxpool.Pool // direct to Postgres, for checking what the backend stored
	rdb *redis.Client // direct to Redis
}

var (
	labOnce sync.Once
	theLab  *lab
	labErr  error
	labSkip string
)

func TestMain(m *testing.M) {
	env.Prepare() // before any testcontainers call
	code := m.Run()
	if theLab != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		theLab.pg.Close()
		theLab.rdb.Close()
		if err := theLab.env.Down(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "env down:", err)
			code = max(code, 1)
		}
		cancel()
	}
	os.Exit(code)
}

// getLab returns the shared lab, starting it on first use. Without Docker
// it skips the test, or fails it under LOADLAB_REQUIRE_DOCKER=1.
func getLab(tb testing.TB) *lab {
	tb.Helper()
	labtest.SkipShort(tb) // -short: unit tests only, no container
	labOnce.Do(startLab)
	if labSkip != "" {
		if os.Getenv("LOADLAB_REQUIRE_DOCKER") == "1" {
			tb.Fatalf("docker is required (LOADLAB_REQUIRE_DOCKER=1): %s", labSkip)
		}
		tb.Skip(labSkip)
	}
	if labErr != nil {
		tb.Fatalf("lab: %v", labErr)
	}
	resetToxics(tb, theLab)
	return theLab
}

func startLab() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	docker, err := images.NewDockerClient(ctx)
	if err != nil {
		labSkip = "no docker: " + err.Error()
		return
	}
	docker.Close()
	if err := labtest.LockMachine(); err != nil {
		labErr = err
		return
	}
	// The backend runs in-process here: do not build its image.
	set := images.FromEnv(images.Default).With(images.Backend, "loadlab/backend-unused:none")
	if _, err := images.Ensure(ctx, set); err != nil {
		labErr = err
		return
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := env.Up(ctx, env.Config{NoBackend: true, Images: set, Logger: quiet})
	if err != nil {
		labErr = err
		return
	}
	pg, err := pgxpool.New(ctx, e.PostgresDSN)
	if err == nil {
		err = pg.Ping(ctx)
	}
	if err != nil {
		labErr = errors.Join(err, e.Down(ctx))
		return
	}
	theLab = &lab{env: e, pg: pg, rdb: redis.NewClient(&redis.Options{Addr: e.RedisAddr})}
}

// withDeadline runs a toxiproxy client call, which takes no context, under
// a deadline.
func withDeadline(tb testing.TB, what string, fn func() error) {
	tb.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if err != nil {
			tb.Fatalf("toxiproxy %s: %v", what, err)
		}
	case <-time.After(10 * time.Second):
		tb.Fatalf("toxiproxy %s: no answer in 10s", what)
	}
}

func resetToxics(tb testing.TB, l *lab) {
	tb.Helper()
	withDeadline(tb, "reset", l.env.Toxiproxy.ResetState)
}

func (l *lab) proxy(tb testing.TB, link string) *toxiproxy.Proxy {
	tb.Helper()
	var p *toxiproxy.Proxy
	withDeadline(tb, "proxy "+link, func() (err error) {
		p, err = l.env.Toxiproxy.Proxy(l.env.Proxies[link])
		return err
	})
	return p
}

// cut breaks a link: "down" disables the proxy (connections refused),
// "timeout" holds every byte (a black hole), "latency:N" adds N ms each way.
// It returns the heal.
func (l *lab) cut(tb testing.TB, link, kind string) (heal func()) {
	tb.Helper()
	p := l.proxy(tb, link)
	switch {
	case kind == "down":
		withDeadline(tb, "disable", p.Disable)
		return func() { withDeadline(tb, "enable", p.Enable) }
	case kind == "timeout":
		withDeadline(tb, "add timeout", func() error {
			_, err := p.AddToxic("cut", "timeout", "downstream", 1, toxiproxy.Attributes{"timeout": 0})
			return err
		})
	case strings.HasPrefix(kind, "latency:"):
		ms, _ := strconv.Atoi(strings.TrimPrefix(kind, "latency:"))
		withDeadline(tb, "add latency", func() error {
			_, err := p.AddToxic("cut", "latency", "downstream", 1, toxiproxy.Attributes{"latency": ms})
			return err
		})
	default:
		tb.Fatalf("unknown cut %q", kind)
	}
	return func() { withDeadline(tb, "remove toxic", func() error { return p.RemoveToxic("cut") }) }
}

// testServer is an in-process backend behind an HTTP test server, wired to
// Postgres and Redis through their toxiproxy proxies, with a key prefix and
// a Redis prefix of its own.
type testServer struct {
	tb     testing.TB
	lab    *lab
	s      *Server
	http   *httptest.Server
	client *http.Client
	prefix string
}

var serverSeq struct {
	sync.Mutex
	n int
}

// testConfig is the base configuration of test servers: short deadlines
// and cooldowns so that faults show and heal quickly.
func (l *lab) testConfig(prefix string) Config {
	cfg := DefaultConfig()
	cfg.DatabaseURL = fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable",
		env.PostgresUser, env.PostgresPassword, l.env.ProxiedPostgresAddr, env.PostgresDB)
	cfg.RedisAddr = l.env.ProxiedRedisAddr
	// Generous for a loaded 2-core machine; faults still show within them.
	cfg.DBTimeout = time.Second
	cfg.RedisTimeout = 500 * time.Millisecond
	cfg.BreakerCooldown = 200 * time.Millisecond
	cfg.QueueClaimIdle = time.Second
	cfg.QueuePollInterval = 100 * time.Millisecond
	cfg.StartupTimeout = 30 * time.Second
	cfg.RedisPrefix = "t-" + prefix
	return cfg
}

func newTestServer(tb testing.TB, configure func(*Config)) *testServer {
	tb.Helper()
	l := getLab(tb)
	serverSeq.Lock()
	serverSeq.n++
	prefix := fmt.Sprintf("%s-%d-%d", keySafe(tb.Name()), time.Now().UnixNano()%1e6, serverSeq.n)
	serverSeq.Unlock()
	cfg := l.testConfig(prefix)
	if configure != nil {
		configure(&cfg)
	}
	ts := startTestServer(tb, l, cfg, prefix)
	return ts
}

func startTestServer(tb testing.TB, l *lab, cfg Config, prefix string) *testServer {
	tb.Helper()
	s, err := New(cfg, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.StartupTimeout)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		s.Close()
		tb.Fatal(err)
	}
	return serveTestServer(tb, l, s, prefix)
}

func serveTestServer(tb testing.TB, l *lab, s *Server, prefix string) *testServer {
	hs := httptest.NewServer(s.Handler())
	ts := &testServer{tb: tb, lab: l, s: s, http: hs, prefix: prefix,
		client: &http.Client{Timeout: 10 * time.Second}}
	tb.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return ts
}

// keySafe turns a test name into characters allowed in keys.
func keySafe(name string) string {
	var b strings.Builder
	for _, c := range name {
		if validKey(string(c)) {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 60 {
		s = s[len(s)-60:]
	}
	return s
}

func (ts *testServer) key(name string) string { return ts.prefix + "." + name }

// response is what the tests look at in an answer.
type response struct {
	code    int
	version int64
	source  string
	body    string
	header  http.Header
	took    time.Duration
}

func (ts *testServer) do(method, path string, body io.Reader) response {
	ts.tb.Helper()
	return ts.send(method, path, body, nil)
}

// doWith sends a request without a body, with the given headers.
func (ts *testServer) doWith(method, path string, header http.Header) response {
	ts.tb.Helper()
	return ts.send(method, path, nil, header)
}

func (ts *testServer) send(method, path string, body io.Reader, header http.Header) response {
	ts.tb.Helper()
	req, err := http.NewRequest(method, ts.http.URL+path, body)
	if err != nil {
		ts.tb.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	start := time.Now()
	resp, err := ts.client.Do(req)
	if err != nil {
		ts.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{code: resp.StatusCode, source: resp.Header.Get("X-Source"), body: string(b), header: resp.Header, took: time.Since(start)}
	if v := resp.Header.Get("X-Version"); v != "" {
		r.version, err = strconv.ParseInt(v, 10, 64)
		if err != nil {
			ts.tb.Fatalf("%s %s: X-Version %q: %v", method, path, v, err)
		}
	}
	return r
}

func (ts *testServer) put(key, value string) response {
	ts.tb.Helper()
	return ts.do(http.MethodPut, "/items/"+key, strings.NewReader(value))
}

func (ts *testServer) get(key string) response {
	ts.tb.Helper()
	return ts.do(http.MethodGet, "/items/"+key, nil)
}

// stored reads a key straight from Postgres.
func (l *lab) stored(tb testing.TB, key string) (Item, bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var it Item
	err := l.pg.QueryRow(ctx, getSQL, key).Scan(&it.Value, &it.Version)
	if err != nil {
		if strings.Contains(err.Error(), "no rows") {
			return Item{}, false
		}
		tb.Fatalf("reading %s from postgres: %v", key, err)
	}
	return it, true
}

// eventually polls cond every 50ms until it holds or the deadline passes.
func eventually(tb testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %s (last: %s)", what, within, last)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

// value reads a counter or gauge.
func value(tb testing.TB, m prometheus.Metric) float64 {
	tb.Helper()
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		tb.Fatal(err)
	}
	switch {
	case pb.Counter != nil:
		return pb.Counter.GetValue()
	case pb.Gauge != nil:
		return pb.Gauge.GetValue()
	}
	tb.Fatalf("metric %v is neither counter nor gauge", m.Desc())
	return 0
}
