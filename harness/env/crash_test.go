package env_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/harness/labtest"
)

// TestKillAndRestart crashes each store and starts it again, as a kill
// fault does: the container is down in between; Postgres comes back with
// what it had committed (crash recovery from its WAL) on the endpoint Env
// now names; Redis, started with its append-only file on, comes back with
// what it had acknowledged (a process crash loses nothing written to the
// file, fsynced or not). Only the stores can be killed.
func TestKillAndRestart(t *testing.T) {
	e := labtest.Up(t, env.Config{NoBackend: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	conn, err := pgx.Connect(ctx, e.PostgresDSN)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE crash (v text); INSERT INTO crash VALUES ('committed')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	rdb := redis.NewClient(&redis.Options{Addr: e.RedisAddr})
	if err := rdb.Set(ctx, "crash", "cached", 0).Err(); err != nil {
		t.Fatal(err)
	}
	rdb.Close()

	for _, role := range []string{images.Postgres, images.Redis} {
		start := time.Now()
		if err := e.Kill(ctx, role); err != nil {
			t.Fatalf("kill %s: %v", role, err)
		}
		if err := e.Alive(ctx, role); !errors.Is(err, env.ErrNotRunning) {
			t.Errorf("%s after the kill: %v, want not running", role, err)
		}
		killed := time.Since(start)
		if err := e.Restart(ctx, role); err != nil {
			t.Fatalf("restart %s: %v", role, err)
		}
		t.Logf("%s: killed in %s, answering again %s later", role, killed.Round(time.Millisecond), (time.Since(start) - killed).Round(time.Millisecond))
	}

	conn, err = pgx.Connect(ctx, e.PostgresDSN)
	if err != nil {
		t.Fatalf("postgres after the restart, at %s: %v", e.PostgresDSN, err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM crash").Scan(&v); err != nil || v != "committed" {
		t.Errorf("postgres after the crash: %q, %v; want the committed row", v, err)
	}
	rdb = redis.NewClient(&redis.Options{Addr: e.RedisAddr})
	defer rdb.Close()
	if v, err := rdb.Get(ctx, "crash").Result(); err != nil || v != "cached" {
		t.Errorf("redis after the crash: %q, %v; want the acknowledged value, reloaded from the append-only file", v, err)
	}
	checkLoopbackAndLimits(t, e, images.Postgres, images.Redis)

	if err := e.Kill(ctx, images.Toxiproxy); err == nil {
		t.Error("killing toxiproxy succeeded; only the stores may be killed")
	}
}
