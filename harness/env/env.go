// Package env brings the lab's environment up in Docker and tears it down.
//
// One environment is a private, labelled Docker network with four
// containers, started in parallel:
//
//	client ──127.0.0.1──▶ toxiproxy[client_backend] ──▶ backend
//	backend ──▶ toxiproxy[backend_postgres] ──▶ postgres
//	backend ──▶ toxiproxy[backend_redis]    ──▶ redis
//
// Every port is published on 127.0.0.1 only. The harness gets typed
// endpoints: the backend through toxiproxy and direct, Postgres and Redis
// direct (to seed and to read the final state), the proxied addresses (for
// an in-process backend in tests) and a toxiproxy client.
//
// The testcontainers reaper (Ryuk) needs a pulled image, so it is off and
// cleanup is ours: every container and network carries the labels
// loadlab=true and loadlab.run=<run id>, Down removes them by handle and
// then sweeps by label, and Clean removes what crashed runs left behind.
package env

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"golang.org/x/sync/errgroup"
)

// Prepare sets what testcontainers reads once, at its first call, so main
// and TestMain call it before anything that can start a container: the
// reaper off (it would pull testcontainers/ryuk; the value must be exactly
// "true"), 127.0.0.1 as the Docker host address (testcontainers would
// otherwise use the default gateway when it runs inside a container, and
// load would leave the machine), and where testcontainers' own log goes
// (nowhere by default; see WithTestcontainersLog). Up refuses to run
// without it.
func Prepare(opts ...PrepareOption) {
	p := prepared{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&p)
	}
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	tclog.SetDefault(debugLog{p.log})
}

// PrepareOption configures Prepare.
type PrepareOption func(*prepared)

type prepared struct{ log *slog.Logger }

// WithTestcontainersLog sends testcontainers' own log lines (creating,
// starting, waiting…) to l at debug level: silent by default, shown with
// loadlab -v.
func WithTestcontainersLog(l *slog.Logger) PrepareOption {
	return func(p *prepared) { p.log = l }
}

// debugLog adapts a slog.Logger to testcontainers' Printf logger, at debug.
type debugLog struct{ l *slog.Logger }

func (d debugLog) Printf(format string, v ...any) {
	d.l.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)), "from", "testcontainers")
}

// errNotPrepared is Up's error when Prepare was not called.
var errNotPrepared = errors.New("env: Prepare was not called before the first testcontainers call (main and TestMain must call env.Prepare)")

func isPrepared() bool {
	return os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "true" && os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") != ""
}

// Labels on every container and network of the lab.
const (
	LabelLab  = images.LabelLab // "true"
	LabelRun  = "loadlab.run"   // run id
	LabelRole = "loadlab.role"  // postgres, redis, toxiproxy, backend
)

// Links of the lab and the toxiproxy proxy that carries each.
const (
	LinkClientBackend   = "client->backend"
	LinkBackendPostgres = "backend->postgres"
	LinkBackendRedis    = "backend->redis"
)

// Credentials of the lab's Postgres; it is only reachable from this machine.
const (
	PostgresUser     = "loadlab"
	PostgresPassword = "loadlab"
	PostgresDB       = "loadlab"
)

// SettingEnv names the environment variable that carries a target
// setting: cache_ttl becomes BACKEND_CACHE_TTL.
func SettingEnv(setting string) string {
	return "BACKEND_" + strings.ToUpper(strings.ReplaceAll(setting, "-", "_"))
}

// Limit caps a container's resources.
type Limit struct {
	CPUs     float64 // cores, e.g. 0.5
	MemoryMB int64
}

// DefaultLimits keep the whole lab within a 2-core machine with room left
// for the load generator.
var DefaultLimits = map[string]Limit{
	images.Postgres:  {CPUs: 1, MemoryMB: 512},
	images.Redis:     {CPUs: 0.5, MemoryMB: 256},
	images.Toxiproxy: {CPUs: 1, MemoryMB: 256},
	images.Backend:   {CPUs: 1, MemoryMB: 256},
}

// Config describes one environment.
type Config struct {
	RunID        string            // default: random
	Images       images.Set        // default: images.FromEnv(images.Default)
	NoBackend    bool              // start Postgres, Redis and toxiproxy only (backend tests run it in-process)
	BackendEnv   map[string]string // extra environment of the backend (BACKEND_CACHE=..., or a custom target's)
	BackendPort  int               // container port of the target's HTTP API (default 8080)
	Limits       map[string]Limit  // by role; missing roles get DefaultLimits
	StartTimeout time.Duration     // for each container to become ready (default 90s)
	Logger       *slog.Logger
}

// Env is a running environment. All addresses are on 127.0.0.1.
type Env struct {
	RunID string

	BackendURL       string // http://127.0.0.1:P through toxiproxy (client->backend)
	BackendDirectURL string // http://127.0.0.1:P straight to the backend container

	PostgresDSN string // direct to Postgres, bypassing toxiproxy
	RedisAddr   string // direct to Redis, bypassing toxiproxy

	ProxiedPostgresAddr string // 127.0.0.1:P of the backend->postgres proxy
	ProxiedRedisAddr    string // 127.0.0.1:P of the backend->redis proxy

	ToxiproxyURL string
	Toxiproxy    *toxiproxy.Client
	Proxies      map[string]string // link -> proxy name

	Images    map[string]Image // by role
	Limits    map[string]Limit // by role
	StartedIn time.Duration
	Startups  map[string]Startup // by role, of the latest container of each

	log        *slog.Logger
	cfg        Config // as Up completed it; Reconfigure restarts the backend from it
	mu         sync.Mutex
	backendGen int                                 // backend containers created so far: each gets its own name and alias
	containers map[string]testcontainers.Container // by role; the backend's is the one that serves
	backend    *backend                            // the backend that serves (backend.go)
	parked     []*backend                          // backends halted, kept for a later Reconfigure
	// frontUpstream is the client_backend proxy's upstream: the serving
	// backend's alias and port.
	frontUpstream string
	controlPorts  map[string]string // by backend image: its supervisor's control port, "" for none
	network       *testcontainers.DockerNetwork
	failed        bool // Up failed: creates may still be in flight in the daemon
	downOnce      sync.Once
	downErr       error
}

// Image is the image a role ran.
type Image struct {
	Ref string
	ID  string
}

// NewRunID returns a short random id for labels and names.
func NewRunID() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Up starts an environment and waits until every part is ready. On error
// everything already created is removed before Up returns.
func Up(ctx context.Context, cfg Config) (_ *Env, err error) {
	start := time.Now()
	if !isPrepared() {
		return nil, errNotPrepared
	}
	if cfg.RunID == "" {
		cfg.RunID = NewRunID()
	}
	if cfg.Images == (images.Set{}) {
		cfg.Images = images.FromEnv(images.Default)
	}
	if cfg.BackendPort == 0 {
		cfg.BackendPort = 8080
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 90 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	limits := map[string]Limit{}
	for role, l := range DefaultLimits {
		limits[role] = l
	}
	for role, l := range cfg.Limits {
		limits[role] = l
	}
	e := &Env{
		RunID:        cfg.RunID,
		Proxies:      map[string]string{},
		Images:       map[string]Image{},
		Startups:     map[string]Startup{},
		Limits:       limits,
		log:          cfg.Logger.With("run", cfg.RunID),
		cfg:          cfg,
		containers:   map[string]testcontainers.Container{},
		controlPorts: map[string]string{},
	}
	register(e)
	defer func() {
		if err != nil {
			e.failed = true
			// ctx may be the reason we failed: tear down with a fresh one.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if derr := e.Down(dctx); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	}()
	if n, _, err := Clean(ctx, false); err == nil && n > 0 {
		e.log.Warn("env: removed containers left by crashed runs", "containers", n)
	}
	if err := e.startNetwork(ctx); err != nil {
		return nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return e.startPostgres(gctx, cfg, limits[images.Postgres]) })
	g.Go(func() error { return e.startRedis(gctx, cfg, limits[images.Redis]) })
	g.Go(func() error { return e.startToxiproxy(gctx, cfg, limits[images.Toxiproxy]) })
	if !cfg.NoBackend {
		// The backend retries its database until the proxies exist, so it
		// starts alongside the others; its wait is /healthz.
		g.Go(func() error { return e.startBackend(gctx, cfg, limits[images.Backend]) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	e.StartedIn = time.Since(start)
	e.log.Info("env: up", "took", e.StartedIn.Round(time.Millisecond))
	return e, nil
}

// Down stops and removes every container and the network of the
// environment, then sweeps anything else labelled with its run id. It is
// safe to call more than once and from several goroutines.
func (e *Env) Down(ctx context.Context) error {
	e.downOnce.Do(func() {
		defer unregister(e)
		e.mu.Lock()
		ctrs := e.containers
		e.containers = map[string]testcontainers.Container{}
		for i, b := range e.parked {
			ctrs[fmt.Sprintf("parked %s %d", images.Backend, i+1)] = b.c
		}
		e.parked = nil
		nw := e.network
		e.network = nil
		e.mu.Unlock()

		var wg sync.WaitGroup
		errs := make(chan error, len(ctrs)+2)
		for role, c := range ctrs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := testcontainers.TerminateContainer(c, testcontainers.StopTimeout(2*time.Second)); err != nil {
					errs <- fmt.Errorf("env: remove %s: %w", role, err)
				}
			}()
		}
		wg.Wait()
		if nw != nil {
			if err := nw.Remove(ctx); err != nil {
				errs <- fmt.Errorf("env: remove network: %w", err)
			}
		}
		// Whatever was created but never handed back: a create cancelled on
		// our side may still complete in the daemon, so after a failed Up
		// sweep until the daemon has been quiet for a moment.
		quiet := time.Duration(0)
		if e.failed {
			quiet = createsQuiet
		}
		if err := sweepUntilQuiet(ctx, quiet, LabelRun+"="+e.RunID); err != nil {
			errs <- err
		}
		close(errs)
		var all []error
		for err := range errs {
			all = append(all, err)
		}
		e.downErr = errors.Join(all...)
		if e.downErr == nil {
			e.log.Info("env: down")
		}
	})
	return e.downErr
}

// Container returns the container of a role, or nil.
func (e *Env) Container(role string) testcontainers.Container {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.containers[role]
}

// DirectURL is the backend's URL around toxiproxy as it is now: a
// restarted backend (a kill fault) has a new host port.
func (e *Env) DirectURL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.BackendDirectURL
}

// ErrNotRunning is wrapped by Alive's error when the container stopped
// (as opposed to Docker not answering).
var ErrNotRunning = errors.New("not running")

// Alive reports an error when a role's container is no longer running
// (the target died mid-run).
func (e *Env) Alive(ctx context.Context, role string) error {
	c := e.Container(role)
	if c == nil {
		return fmt.Errorf("env: no %s container", role)
	}
	st, err := c.State(ctx)
	if err != nil {
		return fmt.Errorf("env: %s state: %w", role, err)
	}
	if !st.Running {
		return fmt.Errorf("env: %s container is %s (exit code %d): %w", role, st.Status, st.ExitCode, ErrNotRunning)
	}
	return nil
}

// labels are those of every container and network of the environment
// (role "" for the network).
func (e *Env) labels(role string) map[string]string {
	l := self().labels()
	l[LabelLab], l[LabelRun] = "true", e.RunID
	if role != "" {
		l[LabelRole] = role
	}
	return l
}

// keep records a container right after its creation, before its error is
// looked at: a container whose wait failed still exists and must go.
func (e *Env) keep(role string, c testcontainers.Container) {
	if c == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.containers[role] = c
}
