package env

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the Postgres wait
	"github.com/loadlab/loadlab/harness/images"
	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Container ports and the toxiproxy listen ports of each link.
const (
	postgresPort      = "5432/tcp"
	redisPort         = "6379/tcp"
	toxiproxyAPIPort  = "8474/tcp"
	proxyPostgresPort = 15432
	proxyRedisPort    = 16379
	proxyBackendPort  = 18080
)

// proxy describes one toxiproxy proxy of the lab.
type proxy struct {
	link, name string
	listen     int
	upstream   string
}

func labProxies(backendPort int) []proxy {
	return []proxy{
		{LinkBackendPostgres, "backend_postgres", proxyPostgresPort, "postgres:5432"},
		{LinkBackendRedis, "backend_redis", proxyRedisPort, "redis:6379"},
		// Up's backend is the first; Reconfigure points the proxy at the next.
		{LinkClientBackend, "client_backend", proxyBackendPort, fmt.Sprintf("%s:%d", backendAlias(1), backendPort)},
	}
}

// common returns the options every container of the lab gets: labels, a
// name, the network alias, resource limits, and every exposed port
// published on 127.0.0.1 only (Docker would bind 0.0.0.0 and [::]).
func (e *Env) common(role string, lim Limit, ports ...string) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		if err := testcontainers.WithLogger(debugLog{e.log}).Customize(req); err != nil {
			return err
		}
		opts := []testcontainers.CustomizeRequestOption{
			e.timeStartup(role),
			testcontainers.WithLabels(e.labels(role)),
			testcontainers.WithName("loadlab-" + e.RunID + "-" + role),
			network.WithNetwork([]string{role}, e.network),
			LoopbackPorts(ports...),
			testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
				hc.NanoCPUs = int64(lim.CPUs * 1e9)
				hc.Memory = lim.MemoryMB << 20
			}),
		}
		for _, o := range opts {
			if err := o(req); err != nil {
				return err
			}
		}
		return nil
	}
}

// LoopbackPorts exposes ports and publishes each on a random port of
// 127.0.0.1 only. Docker binds 0.0.0.0 and [::] unless the bindings are
// set explicitly, and a modifier must set them: they are still empty when
// modifiers run.
func LoopbackPorts(ports ...string) testcontainers.CustomizeRequestOption {
	return func(req *testcontainers.GenericContainerRequest) error {
		if err := testcontainers.WithExposedPorts(ports...)(req); err != nil {
			return err
		}
		return testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = mobynet.PortMap{}
			for _, p := range ports {
				hc.PortBindings[mobynet.MustParsePort(p)] = []mobynet.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1")}}
			}
		})(req)
	}
}

func (e *Env) startNetwork(ctx context.Context) error {
	nw, err := network.New(ctx, network.WithLabels(e.labels("")))
	if nw != nil {
		e.mu.Lock()
		e.network = nw
		e.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("env: network: %w", err)
	}
	return nil
}

func (e *Env) startPostgres(ctx context.Context, cfg Config, lim Limit) error {
	ref := cfg.Images.Postgres
	dsn := func(host string, port mobynet.Port) string {
		return fmt.Sprintf("postgres://%s:%s@%s:%s/%s?sslmode=disable", PostgresUser, PostgresPassword, host, port.Port(), PostgresDB)
	}
	c, err := tcpostgres.Run(ctx, ref,
		tcpostgres.WithUsername(PostgresUser), tcpostgres.WithPassword(PostgresPassword), tcpostgres.WithDatabase(PostgresDB),
		e.common(images.Postgres, lim, postgresPort),
		// A SQL ping works for our image (ready once) and the official one
		// (which logs "ready" twice because of its temporary init server).
		testcontainers.WithWaitStrategy(wait.ForSQL(postgresPort, "pgx", dsn).
			WithStartupTimeout(cfg.StartTimeout).WithPollInterval(100*time.Millisecond)),
	)
	if c != nil {
		e.keep(images.Postgres, c)
	}
	if err != nil {
		return fmt.Errorf("env: postgres (%s): %w", ref, err)
	}
	ep, err := c.PortEndpoint(ctx, postgresPort, "")
	if err != nil {
		return fmt.Errorf("env: postgres: %w", err)
	}
	e.mu.Lock()
	e.PostgresDSN = postgresDSN(ep)
	e.mu.Unlock()
	return e.recordImage(ctx, images.Postgres, ref, c)
}

// postgresDSN is the lab database's connection string at endpoint ep
// (host:port).
func postgresDSN(ep string) string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", PostgresUser, PostgresPassword, ep, PostgresDB)
}

// redisPersistenceFlags start Redis with its append-only file on, so that
// a Redis a kill fault restarts reloads what it had written; a target sets
// the policy it wants at run time (the sample backend's redis_persistence:
// none turns the file off), and Reset puts this one back.
var redisPersistenceFlags = []string{"--appendonly", "yes", "--appendfsync", "everysec"}

func (e *Env) startRedis(ctx context.Context, cfg Config, lim Limit) error {
	ref := cfg.Images.Redis
	c, err := tcredis.Run(ctx, ref,
		e.common(images.Redis, lim, redisPort),
		// Both our image and the official one take redis-server flags.
		testcontainers.WithCmd(append([]string{"--protected-mode", "no", "--bind", "0.0.0.0", "--save", ""}, redisPersistenceFlags...)...),
		testcontainers.WithWaitStrategy(wait.ForLog("Ready to accept connections").WithStartupTimeout(cfg.StartTimeout)),
	)
	if c != nil {
		e.keep(images.Redis, c)
	}
	if err != nil {
		return fmt.Errorf("env: redis (%s): %w", ref, err)
	}
	ep, err := c.PortEndpoint(ctx, redisPort, "")
	if err != nil {
		return fmt.Errorf("env: redis: %w", err)
	}
	e.mu.Lock()
	e.RedisAddr = ep
	e.mu.Unlock()
	return e.recordImage(ctx, images.Redis, ref, c)
}

func (e *Env) startToxiproxy(ctx context.Context, cfg Config, lim Limit) error {
	ref := cfg.Images.Toxiproxy
	proxies := labProxies(cfg.BackendPort)
	ports := []string{toxiproxyAPIPort}
	for _, p := range proxies {
		ports = append(ports, fmt.Sprintf("%d/tcp", p.listen))
	}
	c, err := testcontainers.Run(ctx, ref,
		e.common(images.Toxiproxy, lim, ports...),
		testcontainers.WithCmd("-host=0.0.0.0"),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/version").WithPort(toxiproxyAPIPort).
			WithStartupTimeout(cfg.StartTimeout).WithPollInterval(100*time.Millisecond)),
	)
	if c != nil {
		e.keep(images.Toxiproxy, c)
	}
	if err != nil {
		return fmt.Errorf("env: toxiproxy (%s): %w", ref, err)
	}
	api, err := c.PortEndpoint(ctx, toxiproxyAPIPort, "http")
	if err != nil {
		return fmt.Errorf("env: toxiproxy: %w", err)
	}
	client := toxiproxy.NewClient(api)
	cfgs := make([]toxiproxy.Proxy, 0, len(proxies))
	for _, p := range proxies {
		cfgs = append(cfgs, toxiproxy.Proxy{Name: p.name, Listen: fmt.Sprintf("0.0.0.0:%d", p.listen), Upstream: p.upstream, Enabled: true})
	}
	if _, err := client.Populate(cfgs); err != nil {
		return fmt.Errorf("env: toxiproxy: create proxies: %w", err)
	}
	addr := map[string]string{}
	for _, p := range proxies {
		ep, err := c.PortEndpoint(ctx, fmt.Sprintf("%d/tcp", p.listen), "")
		if err != nil {
			return fmt.Errorf("env: toxiproxy: %w", err)
		}
		addr[p.link] = ep
	}
	e.mu.Lock()
	e.ToxiproxyURL, e.Toxiproxy = api, client
	for _, p := range proxies {
		e.Proxies[p.link] = p.name
		if p.link == LinkClientBackend {
			e.frontUpstream = p.upstream
		}
	}
	e.ProxiedPostgresAddr = addr[LinkBackendPostgres]
	e.ProxiedRedisAddr = addr[LinkBackendRedis]
	e.BackendURL = "http://" + addr[LinkClientBackend]
	e.mu.Unlock()
	return e.recordImage(ctx, images.Toxiproxy, ref, c)
}

func (e *Env) startBackend(ctx context.Context, cfg Config, lim Limit) error {
	b, err := e.createBackend(ctx, cfg, lim)
	if err != nil {
		return err
	}
	return e.runBackend(ctx, cfg, b)
}

// createBackend creates a backend container without starting it, so that
// Reconfigure can create the next one while it resets the stores.
func (e *Env) createBackend(ctx context.Context, cfg Config, lim Limit) (*backend, error) {
	ref := cfg.Images.Backend
	port := fmt.Sprintf("%d/tcp", cfg.BackendPort)
	control, err := e.controlPort(ctx, ref)
	if err != nil {
		return nil, err
	}
	ports := []string{port}
	if control != "" {
		ports = append(ports, control)
	}
	e.mu.Lock()
	e.backendGen++
	gen := e.backendGen
	e.mu.Unlock()
	b := &backend{ref: ref, env: backendEnvOf(cfg), alias: backendAlias(gen), control: control}
	c, err := testcontainers.Run(ctx, ref,
		e.common(images.Backend, lim, ports...),
		testcontainers.WithName(fmt.Sprintf("loadlab-%s-%s-%d", e.RunID, images.Backend, gen)), // each backend is a new container
		testcontainers.CustomizeRequestOption(func(req *testcontainers.GenericContainerRequest) error {
			req.NetworkAliases[e.network.Name] = []string{b.alias}
			req.Started = false
			return nil
		}),
		testcontainers.WithEnv(b.env),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/healthz").WithPort(port).
			WithStartupTimeout(cfg.StartTimeout).WithPollInterval(50*time.Millisecond)),
	)
	if c != nil {
		b.c = c
		e.keep(images.Backend, c)
	}
	if err != nil {
		return nil, fmt.Errorf("env: backend (%s): %w", ref, err)
	}
	return b, nil
}

// runBackend starts a created backend and waits for its /healthz; it then
// serves.
func (e *Env) runBackend(ctx context.Context, cfg Config, b *backend) error {
	port := fmt.Sprintf("%d/tcp", cfg.BackendPort)
	if err := b.c.Start(ctx); err != nil {
		return fmt.Errorf("env: backend (%s): %w%s", b.ref, err, logsOf(b.c, images.Backend))
	}
	ep, err := b.c.PortEndpoint(ctx, port, "http")
	if err != nil {
		return fmt.Errorf("env: backend: %w", err)
	}
	b.image = Image{Ref: b.ref, ID: imageID(ctx, b.c)}
	e.serve(b, ep)
	return nil
}

func (e *Env) recordImage(ctx context.Context, role, ref string, c testcontainers.Container) error {
	id := imageID(ctx, c)
	e.mu.Lock()
	e.Images[role] = Image{Ref: ref, ID: id}
	e.mu.Unlock()
	return nil
}

// imageID is the id of the image c runs ("" when Docker does not say).
func imageID(ctx context.Context, c testcontainers.Container) string {
	if ins, err := c.Inspect(ctx); err == nil {
		return ins.Image
	}
	return ""
}

// Logs returns the end of a role's container log, formatted to append to
// an error ("" when there is none).
func (e *Env) Logs(role string) string {
	return logsOf(e.Container(role), role)
}

// logsOf is the end of c's log, formatted as Logs formats it.
func logsOf(c testcontainers.Container, role string) string {
	if c == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rc, err := c.Logs(ctx)
	if err != nil {
		return ""
	}
	defer rc.Close()
	data, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "\n" + role + " log (last lines):\n  " + strings.Join(lines, "\n  ")
}

// Ping checks that Postgres answers on the direct DSN.
func (e *Env) Ping(ctx context.Context) error {
	db, err := sql.Open("pgx", e.PostgresDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}
