package images_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/harness/labtest"
	"github.com/moby/moby/api/types/network"
	"github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
	"github.com/testcontainers/testcontainers-go/wait"
)

// TestEnsureIsIdempotent: once built, a second Ensure builds nothing and
// every image carries its recipe label.
func TestEnsureIsIdempotent(t *testing.T) {
	labtest.Images(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	reports, err := images.Ensure(ctx, images.Default)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		if r.Built {
			t.Errorf("%s was rebuilt although its recipe did not change", r.Ref)
		}
		if r.ID == "" {
			t.Errorf("%s: no image id", r.Ref)
		}
	}
	t.Logf("warm Ensure took %s", time.Since(start))
}

// TestPostgresImageHonoursOfficialEnv starts our Postgres image the way the
// official one is started, with another user, password and database.
func TestPostgresImageHonoursOfficialEnv(t *testing.T) {
	labtest.Images(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := func(host string, port network.Port) string {
		return fmt.Sprintf("postgres://alice:s3cret@%s:%s/shop?sslmode=disable", host, port.Port())
	}
	c, err := tcpostgres.Run(ctx, images.Default.Postgres,
		tcpostgres.WithUsername("alice"), tcpostgres.WithPassword("s3cret"), tcpostgres.WithDatabase("shop"),
		testcontainers.WithLabels(map[string]string{images.LabelLab: "true"}),
		env.LoopbackPorts("5432/tcp"),
		testcontainers.WithWaitStrategy(wait.ForSQL("5432/tcp", "pgx", dsn).WithStartupTimeout(90*time.Second)),
	)
	testcontainers.CleanupContainer(t, c)
	if err != nil {
		t.Fatal(err)
	}
	url, err := c.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var user, db string
	if err := conn.QueryRow(ctx, "select current_user, current_database()").Scan(&user, &db); err != nil {
		t.Fatal(err)
	}
	if user != "alice" || db != "shop" {
		t.Fatalf("connected as %s to %s, want alice to shop", user, db)
	}
	// The password is enforced for TCP clients.
	bad, err := pgx.Connect(ctx, fmt.Sprintf("postgres://alice:wrong@%s/shop?sslmode=disable", hostPort(t, ctx, c)))
	if err == nil {
		bad.Close(ctx)
		t.Fatal("a wrong password was accepted")
	}
}

// TestRedisImageTakesServerFlags starts our Redis image with the module's
// defaults plus flags, as the harness does.
func TestRedisImageTakesServerFlags(t *testing.T) {
	labtest.Images(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := tcredis.Run(ctx, images.Default.Redis,
		testcontainers.WithLabels(map[string]string{images.LabelLab: "true"}),
		env.LoopbackPorts("6379/tcp"),
		testcontainers.WithCmd("--protected-mode", "no", "--bind", "0.0.0.0", "--maxmemory", "7mb"))
	testcontainers.CleanupContainer(t, c)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := c.PortEndpoint(ctx, "6379/tcp", "")
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	got, err := rdb.ConfigGet(ctx, "maxmemory").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got["maxmemory"] != fmt.Sprint(7*1024*1024) {
		t.Fatalf("maxmemory %v: the flags did not reach redis-server", got)
	}
}

func hostPort(t *testing.T, ctx context.Context, c testcontainers.Container) string {
	t.Helper()
	ep, err := c.PortEndpoint(ctx, "5432/tcp", "")
	if err != nil {
		t.Fatal(err)
	}
	return ep
}
