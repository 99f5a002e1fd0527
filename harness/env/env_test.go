package env_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/harness/labtest"
	"github.com/moby/moby/client"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	env.Prepare() // before any testcontainers call
	os.Exit(m.Run())
}

// TestUpRoundTripAndFaults brings the whole lab up, round-trips an item
// through the client->backend proxy, cuts backend->postgres and checks that
// the backend answers 5xx within its deadline, heals, and tears down.
func TestUpRoundTripAndFaults(t *testing.T) {
	e := labtest.Up(t, env.Config{BackendEnv: map[string]string{"BACKEND_DB_TIMEOUT": "300ms"}})
	for name, addr := range map[string]string{
		"backend": e.BackendURL, "backend direct": e.BackendDirectURL, "postgres": e.PostgresDSN,
		"redis": e.RedisAddr, "toxiproxy": e.ToxiproxyURL, "proxied postgres": e.ProxiedPostgresAddr,
	} {
		if !strings.Contains(addr, "127.0.0.1:") {
			t.Errorf("%s endpoint %q is not on 127.0.0.1", name, addr)
		}
	}

	checkLoopbackAndLimits(t, e, images.Roles()...)

	put := do(t, "PUT", e.BackendURL+"/items/env-k1", "hello")
	if put.code/100 != 2 || put.header.Get("X-Version") == "" {
		t.Fatalf("PUT: %d %v", put.code, put.header)
	}
	get := do(t, "GET", e.BackendURL+"/items/env-k1", "")
	if get.code != 200 || get.body != "hello" || get.header.Get("X-Version") != put.header.Get("X-Version") {
		t.Fatalf("GET after PUT: %d %q version %s, want 200 hello version %s", get.code, get.body, get.header.Get("X-Version"), put.header.Get("X-Version"))
	}

	for _, fault := range []string{"down", "timeout"} {
		t.Run(fault, func(t *testing.T) {
			p, err := e.Toxiproxy.Proxy(e.Proxies[env.LinkBackendPostgres])
			if err != nil {
				t.Fatal(err)
			}
			switch fault {
			case "down":
				err = p.Disable()
			case "timeout":
				_, err = p.AddToxic("cut", "timeout", "upstream", 1, map[string]any{"timeout": 0})
			}
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			r := do(t, "PUT", e.BackendURL+"/items/env-k2", "during "+fault)
			if r.code/100 != 5 {
				t.Errorf("PUT during %s: %d, want 5xx", fault, r.code)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("PUT during %s took %s: the backend does not bound its DB calls", fault, took)
			}
			switch fault {
			case "down":
				err = p.Enable()
			case "timeout":
				err = p.RemoveToxic("cut")
			}
			if err != nil {
				t.Fatal(err)
			}
			// Heal: poll under a deadline until a write goes through again.
			labtest.Eventually(t, 15*time.Second, 100*time.Millisecond, func() (bool, string) {
				r := do(t, "PUT", e.BackendURL+"/items/env-k2", "after "+fault)
				return r.code/100 == 2, fmt.Sprintf("backend did not heal after removing %s: last %d %s", fault, r.code, r.body)
			})
		})
	}

	runID := e.RunID
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.Down(ctx); err != nil {
		t.Fatal(err)
	}
	if c, n := labtest.Leftovers(t, runID); c+n > 0 {
		t.Fatalf("after Down: %d containers and %d networks remain", c, n)
	}
}

// TestDirectEndpoints checks that the harness's own paths around toxiproxy
// reach Postgres and Redis, and that every published port binds 127.0.0.1.
func TestDirectEndpoints(t *testing.T) {
	e := labtest.Up(t, env.Config{NoBackend: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.PostgresDSN)
	if err != nil {
		t.Fatal(err)
	}
	var one int
	if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("postgres: %v", err)
	}
	conn.Close(ctx)
	rdb := redis.NewClient(&redis.Options{Addr: e.RedisAddr})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	// Through toxiproxy too, as an in-process backend would connect.
	pconn, err := pgx.Connect(ctx, strings.Replace(e.PostgresDSN, hostPort(e.PostgresDSN), e.ProxiedPostgresAddr, 1))
	if err != nil {
		t.Fatalf("postgres through toxiproxy: %v", err)
	}
	pconn.Close(ctx)

	checkLoopbackAndLimits(t, e, images.Postgres, images.Redis, images.Toxiproxy)
}

// checkLoopbackAndLimits asserts that every port of every role is published
// on 127.0.0.1 only, and that each container has CPU and memory limits.
func checkLoopbackAndLimits(t *testing.T, e *env.Env, roles ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, role := range roles {
		ins, err := e.Container(role).Inspect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ins.NetworkSettings.Ports) == 0 {
			t.Errorf("%s publishes no port", role)
		}
		for port, bindings := range ins.NetworkSettings.Ports {
			for _, b := range bindings {
				if b.HostIP.String() != "127.0.0.1" {
					t.Errorf("%s port %s is published on %s, want 127.0.0.1 only", role, port, b.HostIP)
				}
			}
		}
		if ins.HostConfig.NanoCPUs == 0 || ins.HostConfig.Memory == 0 {
			t.Errorf("%s has no CPU or memory limit", role)
		}
	}
}

// TestCancelMidStart cancels Up while containers are being created: Up must
// return an error and leave nothing behind. One case cancels before the
// first container exists, the other as soon as the daemon lists one: both
// moments come long before the lab can be ready, so Up never wins the race.
func TestCancelMidStart(t *testing.T) {
	set := labtest.Images(t)
	for _, when := range []string{"before any container", "first container created"} {
		t.Run(when, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			runID := env.NewRunID()
			if when == "before any container" {
				cancel()
			} else {
				go cancelOnFirstContainer(ctx, cancel, runID)
			}
			e, err := env.Up(ctx, env.Config{RunID: runID, Images: set})
			if err == nil {
				e.Down(context.Background())
				t.Fatal("Up succeeded although it was cancelled before any container could be ready")
			}
			if !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "context") {
				t.Logf("Up error (not a context error, still fine): %v", err)
			}
			if c, n := labtest.Leftovers(t, runID); c+n > 0 {
				t.Fatalf("after a cancelled Up: %d containers and %d networks remain", c, n)
			}
		})
	}
}

// TestReconfigure dirties every part of a running lab (an item in Postgres
// and in the cache, a key of our own in Redis, a toxic on one link, another
// link disabled), then reconfigures the backend: the state must be gone,
// every link clean, the new settings in effect, and the switch quicker than
// bringing a lab up.
func TestReconfigure(t *testing.T) {
	e := labtest.Up(t, env.Config{BackendEnv: map[string]string{env.SettingEnv("cache"): "cache-aside"}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const body = "twelve bytes"
	if r := do(t, "PUT", e.BackendURL+"/items/reuse-k1", body); r.code/100 != 2 {
		t.Fatalf("PUT before: %d %s", r.code, r.body)
	}
	if r := do(t, "GET", e.BackendURL+"/items/reuse-k1", ""); r.code != 200 {
		t.Fatalf("GET before: %d %s", r.code, r.body) // and now it is cached
	}
	rdb := redis.NewClient(&redis.Options{Addr: e.RedisAddr})
	defer rdb.Close()
	if err := rdb.Set(ctx, "reuse-sentinel", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	pg, err := e.Toxiproxy.Proxy(e.Proxies[env.LinkBackendPostgres])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pg.AddToxic("lag", "latency", "downstream", 1, map[string]any{"latency": 3000}); err != nil {
		t.Fatal(err)
	}
	rp, err := e.Toxiproxy.Proxy(e.Proxies[env.LinkBackendRedis])
	if err != nil {
		t.Fatal(err)
	}
	if err := rp.Disable(); err != nil {
		t.Fatal(err)
	}

	for role, s := range e.Startups {
		t.Logf("up: %-9s %s", role, s)
	}
	// The next backend runs from another image ref (a duet swaps its sides'
	// slots so): a second tag of the lab's backend image.
	alias := tagImage(t, e.Images[images.Backend].Ref, "loadlab-test/backend:reconfigure")
	start := time.Now()
	if err := e.Reconfigure(ctx, map[string]string{env.SettingEnv("max_body"): "4"}, env.WithBackendImage(alias)); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if got := e.Images[images.Backend].Ref; got != alias {
		t.Errorf("backend image after reconfigure: %s, want %s", got, alias)
	}
	t.Logf("reconfigure took %s (the lab came up in %s); new backend: %s", took.Round(time.Millisecond), e.StartedIn.Round(time.Millisecond), e.Startups[images.Backend])

	// State really gone: straight from the stores, then through the API.
	conn, err := pgx.Connect(ctx, e.PostgresDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&rows); err != nil || rows != 0 {
		t.Errorf("items after reconfigure: %d rows (%v), want 0", rows, err)
	}
	if n, err := rdb.Exists(ctx, "reuse-sentinel").Result(); err != nil || n != 0 {
		t.Errorf("redis key after reconfigure: exists=%d (%v), want flushed", n, err)
	}
	if r := do(t, "GET", e.BackendURL+"/items/reuse-k1", ""); r.code != 404 {
		t.Errorf("GET after reconfigure: %d %q (%s), want 404: the item or its cached copy survived", r.code, r.body, r.header.Get("X-Source"))
	}
	// Toxics really gone, proxies really enabled.
	proxies, err := e.Toxiproxy.Proxies()
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range proxies {
		if !p.Enabled || len(p.ActiveToxics) > 0 {
			t.Errorf("proxy %s after reconfigure: enabled=%v toxics=%v", name, p.Enabled, p.ActiveToxics)
		}
	}
	// The new settings really in effect: a body over max_body is refused,
	// one within it goes through at once (no latency toxic left).
	if r := do(t, "PUT", e.BackendURL+"/items/reuse-k2", body); r.code != 413 {
		t.Errorf("PUT of %d bytes with max_body 4: %d %s, want 413", len(body), r.code, r.body)
	}
	putStart := time.Now()
	if r := do(t, "PUT", e.BackendURL+"/items/reuse-k3", "ok"); r.code/100 != 2 {
		t.Errorf("PUT within max_body: %d %s", r.code, r.body)
	}
	if d := time.Since(putStart); d > 2*time.Second {
		t.Errorf("PUT took %s: the 3s latency toxic is still on backend->postgres", d)
	}
	if took >= e.StartedIn {
		t.Errorf("reconfigure took %s, not less than a whole start (%s)", took, e.StartedIn)
	}
}

// tagImage tags the image src as target for the test's length.
func tagImage(t *testing.T, src, target string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	docker, err := images.NewDockerClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		docker.ImageRemove(ctx, target, client.ImageRemoveOptions{}) // the tag only: src keeps the image
		docker.Close()
	})
	if _, err := docker.ImageTag(ctx, client.ImageTagOptions{Source: src, Target: target}); err != nil {
		t.Fatal(err)
	}
	return target
}

// cancelOnFirstContainer polls the daemon every 20ms and cancels as soon as
// it lists a container of the run.
func cancelOnFirstContainer(ctx context.Context, cancel context.CancelFunc, runID string) {
	defer cancel()
	docker, err := images.NewDockerClient(ctx)
	if err != nil {
		return
	}
	defer docker.Close()
	f := make(client.Filters).Add("label", env.LabelRun+"="+runID)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if l, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err != nil || len(l.Items) > 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

type response struct {
	code   int
	body   string
	header http.Header
}

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{code: 0, body: err.Error()}
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, string(data), res.Header}
}

func hostPort(dsn string) string {
	at := strings.Index(dsn, "@")
	rest := dsn[at+1:]
	slash := strings.Index(rest, "/")
	hp := rest[:slash]
	if _, _, err := net.SplitHostPort(hp); err != nil {
		panic(fmt.Sprintf("bad dsn %q", dsn))
	}
	return hp
}
