package env

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	"golang.org/x/sync/errgroup"
)

// Reuse between variants. Creating a container costs seconds on this kind
// of Docker host (fuse-overlayfs), and Postgres, Redis and toxiproxy do not
// depend on a variant's settings: only the backend does. So a run brings
// the environment up once, and between variants Reconfigure halts the
// backend, puts the stores and links back to their state after Up, and
// starts a backend with the next variant's settings.

// ReconfigureOption modifies a Reconfigure.
type ReconfigureOption func(*Config)

// WithBackendImage starts the new backend from ref instead of the
// environment's backend image (a duet swaps its sides' slots this way).
func WithBackendImage(ref string) ReconfigureOption {
	return func(c *Config) { c.Images = c.Images.With(images.Backend, ref) }
}

// Reconfigure replaces the backend with one started with backendEnv (on
// top of the harness's wiring, as Config.BackendEnv), on clean state: the
// old backend is halted first, so nothing it still does (a queue worker,
// a retry) lands in the next variant's stores; then Reset; then the new
// backend starts (a fresh process in a parked container of the same image
// and environment when there is one, backend.go; else a new container),
// the front proxy points at it, and Reconfigure waits for its /healthz.
// The environment must have been started with a backend.
func (e *Env) Reconfigure(ctx context.Context, backendEnv map[string]string, opts ...ReconfigureOption) error {
	if e.cfg.NoBackend {
		return errors.New("env: reconfigure: this environment runs no backend")
	}
	start := time.Now()
	e.mu.Lock()
	cfg := e.cfg
	e.mu.Unlock()
	cfg.BackendEnv = backendEnv
	for _, o := range opts {
		o(&cfg)
	}
	old := e.takeBackend()
	next := e.takeParked(cfg.Images.Backend, backendEnvOf(cfg))
	inPlace := next != nil
	if inPlace {
		e.keep(images.Backend, next.c) // Down removes it, whatever happens below
	}
	// Creating and removing containers is slow on this kind of Docker host:
	// a new backend is created (not started: it would meet the stores
	// mid-reset) while the old one is halted and the stores reset, and the
	// old one is parked or removed while the next one starts.
	var parkOld bool
	g, gctx := errgroup.WithContext(ctx)
	if !inPlace {
		g.Go(func() (err error) {
			next, err = e.createBackend(gctx, cfg, e.Limits[images.Backend])
			return err
		})
	}
	g.Go(func() (err error) {
		if old != nil {
			if parkOld, err = old.halt(gctx); err != nil {
				return err
			}
		}
		return e.Reset(gctx)
	})
	if err := g.Wait(); err != nil {
		if old != nil {
			removeContainer(context.WithoutCancel(ctx), old.c)
		}
		return err
	}
	prepared := time.Since(start)
	done := make(chan error, 1)
	go func() {
		switch {
		case old == nil:
			done <- nil
		case parkOld:
			done <- e.park(context.WithoutCancel(ctx), old)
		default:
			done <- removeContainer(context.WithoutCancel(ctx), old.c)
		}
	}()
	var err error
	if inPlace {
		err = e.resume(ctx, cfg, next)
	} else {
		err = e.runBackend(ctx, cfg, next)
	}
	if err == nil {
		err = e.pointFront(ctx, cfg, next)
	}
	if err = errors.Join(err, <-done); err != nil {
		return err
	}
	e.mu.Lock()
	e.cfg = cfg // what runs now: a later Reconfigure starts from it
	e.mu.Unlock()
	e.log.Info("env: backend restarted on clean state", "took", time.Since(start).Round(time.Millisecond),
		"halt_reset", prepared.Round(time.Millisecond), "in_place", inPlace)
	return nil
}

// takeBackend removes the serving backend from the environment's
// containers and returns it (nil when none serves).
func (e *Env) takeBackend() *backend {
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.backend
	e.backend = nil
	delete(e.containers, images.Backend)
	return b
}

// removeContainer removes a container at once (no grace: its state is
// about to be reset anyway).
func removeContainer(ctx context.Context, c testcontainers.Container) error {
	if c == nil {
		return nil
	}
	if err := testcontainers.TerminateContainer(c, testcontainers.StopContext(ctx), testcontainers.StopTimeout(0)); err != nil {
		return fmt.Errorf("env: remove backend: %w", err)
	}
	return nil
}

// Reset puts the stores and the links back to their state after Up: every
// table in Postgres's public schema truncated (the schema stays), Redis
// flushed with its persistence policy as Up set it, every toxic removed and
// every proxy enabled. A backend still
// running keeps its connections to toxiproxy but loses those to Postgres.
func (e *Env) Reset(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return e.resetProxies(gctx) })
	g.Go(func() error { return e.resetPostgres(gctx) })
	g.Go(func() error { return e.resetRedis(gctx) })
	return g.Wait()
}

// resetProxies calls toxiproxy's /reset: every proxy enabled, every toxic
// removed.
func (e *Env) resetProxies(ctx context.Context) error {
	if err := e.toxiproxyAPI(ctx, http.MethodPost, "/reset", nil); err != nil {
		return fmt.Errorf("env: reset toxiproxy: %w", err)
	}
	return nil
}

// toxiproxyAPI calls toxiproxy's HTTP API with a context (the client
// package's calls take none), sending body as JSON when it is not nil.
func (e *Env) toxiproxyAPI(ctx context.Context, method, path string, body any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.ToxiproxyURL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, path, res.Status)
	}
	return nil
}

// resetPostgres ends every other session (a removed backend's may linger
// behind toxiproxy, holding locks) and truncates every table of the
// public schema.
func (e *Env) resetPostgres(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, e.PostgresDSN)
	if err != nil {
		return fmt.Errorf("env: reset postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		return fmt.Errorf("env: reset postgres: end sessions: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'`)
	if err != nil {
		return fmt.Errorf("env: reset postgres: list tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("env: reset postgres: list tables: %w", err)
	}
	if len(tables) == 0 {
		return nil
	}
	if _, err := conn.Exec(ctx, "TRUNCATE "+strings.Join(tables, ", ")+" RESTART IDENTITY CASCADE"); err != nil {
		return fmt.Errorf("env: reset postgres: truncate: %w", err)
	}
	return nil
}

func (e *Env) resetRedis(ctx context.Context) error {
	rdb := redis.NewClient(&redis.Options{Addr: e.RedisAddr})
	defer rdb.Close()
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("env: reset redis: %w", err)
	}
	// A target may have changed the persistence policy (CONFIG SET).
	args := []any{"CONFIG", "SET"}
	for i := 0; i < len(redisPersistenceFlags); i += 2 {
		args = append(args, strings.TrimPrefix(redisPersistenceFlags[i], "--"), redisPersistenceFlags[i+1])
	}
	if err := rdb.Do(ctx, args...).Err(); err != nil {
		return fmt.Errorf("env: reset redis: persistence: %w", err)
	}
	return nil
}
