package env

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/client"
	"github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"

	"github.com/loadlab/loadlab/harness/images"
)

// Kill crashes a container for a kill fault: SIGKILL to its main process
// through the Docker API (no shutdown, nothing flushed that was not
// already), then waits until Docker reports it stopped. Postgres, Redis or
// the backend (whose death the harness's target watch must then expect).
func (e *Env) Kill(ctx context.Context, role string) error {
	c, err := e.store(role)
	if err != nil {
		return err
	}
	docker, err := images.NewDockerClient(ctx)
	if err != nil {
		return fmt.Errorf("env: kill %s: %w", role, err)
	}
	defer docker.Close()
	if _, err := docker.ContainerKill(ctx, c.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("env: kill %s: %w", role, err)
	}
	return poll(ctx, 50*time.Millisecond, func(ctx context.Context) error {
		if err := e.Alive(ctx, role); !errors.Is(err, ErrNotRunning) {
			return fmt.Errorf("env: kill %s: still running (%v)", role, err)
		}
		return nil
	})
}

// Restart starts a killed container again, refreshes the host endpoint
// Docker moved it to (a restarted container gets a new host port), and
// returns once it answers (Postgres after its crash recovery, the backend
// on /healthz). The network alias, and with it every link through
// toxiproxy, stays the same.
func (e *Env) Restart(ctx context.Context, role string) error {
	c, err := e.store(role)
	if err != nil {
		return err
	}
	// Start, not testcontainers' wait strategy: a log-based one would
	// match the line the first start printed.
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("env: restart %s: %w%s", role, err, e.Logs(role))
	}
	switch role {
	case images.Postgres:
		ep, err := c.PortEndpoint(ctx, postgresPort, "")
		if err != nil {
			return fmt.Errorf("env: restart postgres: %w", err)
		}
		dsn := postgresDSN(ep)
		e.mu.Lock()
		e.PostgresDSN = dsn
		e.mu.Unlock()
		return poll(ctx, 100*time.Millisecond, func(ctx context.Context) error {
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				return fmt.Errorf("env: restart postgres: %w", err)
			}
			defer conn.Close(context.WithoutCancel(ctx))
			return conn.Ping(ctx)
		})
	case images.Backend:
		e.mu.Lock()
		port := fmt.Sprintf("%d/tcp", e.cfg.BackendPort)
		e.mu.Unlock()
		ep, err := c.PortEndpoint(ctx, port, "http")
		if err != nil {
			return fmt.Errorf("env: restart backend: %w", err)
		}
		e.mu.Lock()
		e.BackendDirectURL = ep
		e.mu.Unlock()
		if err := waitHealthz(ctx, ep, 100*time.Millisecond); err != nil {
			return fmt.Errorf("env: restart backend: %w", err)
		}
		return nil
	default:
		ep, err := c.PortEndpoint(ctx, redisPort, "")
		if err != nil {
			return fmt.Errorf("env: restart redis: %w", err)
		}
		e.mu.Lock()
		e.RedisAddr = ep
		e.mu.Unlock()
		rdb := redis.NewClient(&redis.Options{Addr: ep, MaxRetries: -1})
		defer rdb.Close()
		return poll(ctx, 100*time.Millisecond, func(ctx context.Context) error {
			return rdb.Ping(ctx).Err()
		})
	}
}

// store is the container of a role a kill fault may crash.
func (e *Env) store(role string) (testcontainers.Container, error) {
	if role != images.Postgres && role != images.Redis && role != images.Backend {
		return nil, fmt.Errorf("env: %q cannot be killed: only %s, %s and %s", role, images.Postgres, images.Redis, images.Backend)
	}
	c := e.Container(role)
	if c == nil {
		return nil, fmt.Errorf("env: no %s container", role)
	}
	return c, nil
}

// poll calls try every interval until it succeeds or ctx ends, and then
// returns try's last error.
func poll(ctx context.Context, interval time.Duration, try func(context.Context) error) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := try(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-tick.C:
		}
	}
}
