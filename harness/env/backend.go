package env

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/harness/supervise"
	"github.com/testcontainers/testcontainers-go"
)

// The backends of an environment. One serves at a time: the container
// Container(images.Backend) returns, the front proxy's upstream. A backend
// whose image runs the lab's supervisor (harness/supervise: the lab's own
// backend images do) is not removed when Reconfigure replaces it: its
// program is killed, and the container stays parked, idle, for a later
// Reconfigure that wants the same image with the same environment, which
// then starts a fresh process in it instead of a new container. A duet
// swaps two backends between its environments every round; with parking,
// each environment starts two containers in all instead of two a round.

// backend is one backend container of the environment.
type backend struct {
	c     testcontainers.Container
	ref   string            // its image
	env   map[string]string // its whole environment: a parked one is reused only for the same
	alias string            // its network alias, the front proxy's upstream while it serves
	// control is the container port of its supervisor's control API, ""
	// when its image has none.
	control string
	image   Image // as recorded when it first started
}

// maxParked bounds the parked backends of an environment: a duet needs one
// (the other side's), and each costs only an idle supervisor.
const maxParked = 1

// backendAlias is the network alias of the environment's n-th backend.
// Each backend has its own: a parked one is still on the network.
func backendAlias(n int) string { return fmt.Sprintf("%s-%d", images.Backend, n) }

// backendEnvOf is the whole environment of a backend started with cfg:
// the harness's wiring with cfg.BackendEnv on top.
func backendEnvOf(cfg Config) map[string]string {
	envs := map[string]string{
		"BACKEND_ADDR":         fmt.Sprintf(":%d", cfg.BackendPort),
		"BACKEND_DATABASE_URL": fmt.Sprintf("postgres://%s:%s@toxiproxy:%d/%s?sslmode=disable", PostgresUser, PostgresPassword, proxyPostgresPort, PostgresDB),
		"BACKEND_REDIS_ADDR":   fmt.Sprintf("toxiproxy:%d", proxyRedisPort),
	}
	maps.Copy(envs, cfg.BackendEnv)
	return envs
}

// controlPort is the container port of the supervisor's control API in
// image ref ("" when the image has none).
func (e *Env) controlPort(ctx context.Context, ref string) (string, error) {
	e.mu.Lock()
	port, ok := e.controlPorts[ref]
	e.mu.Unlock()
	if ok {
		return port, nil
	}
	docker, err := images.NewDockerClient(ctx)
	if err != nil {
		return "", fmt.Errorf("env: backend (%s): %w", ref, err)
	}
	defer docker.Close()
	img, err := docker.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("env: backend (%s): %w", ref, err)
	}
	if img.Config != nil {
		port = img.Config.Labels[supervise.ControlPortLabel]
	}
	e.mu.Lock()
	e.controlPorts[ref] = port
	e.mu.Unlock()
	return port, nil
}

// supervisor is the client of b's supervisor (b.control must be set).
func (b *backend) supervisor(ctx context.Context) (supervise.Client, error) {
	ep, err := b.c.PortEndpoint(ctx, b.control, "http")
	if err != nil {
		return supervise.Client{}, fmt.Errorf("env: backend supervisor: %w", err)
	}
	return supervise.Client{URL: ep}, nil
}

// halt ends what b runs before the stores are reset: its program killed
// by its supervisor (parked is then true: the container can serve again),
// or, without one or when the supervisor does not answer, the container
// killed.
func (b *backend) halt(ctx context.Context) (parked bool, err error) {
	if b.control != "" {
		if sup, err := b.supervisor(ctx); err == nil {
			if _, err := sup.Stop(ctx); err == nil {
				return true, nil
			}
		}
	}
	if err := b.c.Stop(ctx, new(time.Duration)); err != nil { // SIGKILL: its state is reset anyway
		return false, fmt.Errorf("env: stop backend: %w", err)
	}
	return false, nil
}

// takeParked returns a parked backend of image ref with environment envs,
// removed from the parked ones, or nil.
func (e *Env) takeParked(ref string, envs map[string]string) *backend {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, b := range e.parked {
		if b.ref == ref && maps.Equal(b.env, envs) {
			e.parked = append(e.parked[:i], e.parked[i+1:]...)
			return b
		}
	}
	return nil
}

// park keeps a halted backend for a later Reconfigure and removes the
// oldest parked ones beyond maxParked.
func (e *Env) park(ctx context.Context, b *backend) error {
	e.mu.Lock()
	e.parked = append(e.parked, b)
	var evicted []*backend
	if n := len(e.parked) - maxParked; n > 0 {
		evicted = append(evicted, e.parked[:n]...)
		e.parked = append([]*backend(nil), e.parked[n:]...)
	}
	e.mu.Unlock()
	var err error
	for _, old := range evicted {
		if rerr := removeContainer(ctx, old.c); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// resume starts a fresh program in a parked backend and waits for its
// /healthz; it then serves.
func (e *Env) resume(ctx context.Context, cfg Config, b *backend) error {
	sup, err := b.supervisor(ctx)
	if err != nil {
		return err
	}
	if _, err := sup.Start(ctx); err != nil {
		return fmt.Errorf("env: backend (%s): restart in place: %w", b.ref, err)
	}
	ep, err := b.c.PortEndpoint(ctx, fmt.Sprintf("%d/tcp", cfg.BackendPort), "http")
	if err != nil {
		return fmt.Errorf("env: backend: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	if err := waitHealthz(wctx, ep, 20*time.Millisecond); err != nil {
		return fmt.Errorf("env: backend (%s) restarted in place, not healthy within %s: %w%s", b.ref, cfg.StartTimeout, err, logsOf(b.c, images.Backend))
	}
	e.serve(b, ep)
	return nil
}

// waitHealthz polls the backend at base every interval until its /healthz
// answers 200 or ctx ends.
func waitHealthz(ctx context.Context, base string, interval time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return poll(ctx, interval, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/healthz %s", resp.Status)
		}
		return nil
	})
}

// serve makes b the backend that serves, reachable at direct.
func (e *Env) serve(b *backend, direct string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.backend = b
	e.containers[images.Backend] = b.c
	e.BackendDirectURL = direct
	e.Images[images.Backend] = b.image
}

// pointFront makes the client_backend proxy's upstream the serving
// backend (toxiproxy drops the proxy's connections and listens again on
// the same port).
func (e *Env) pointFront(ctx context.Context, cfg Config, b *backend) error {
	upstream := fmt.Sprintf("%s:%d", b.alias, cfg.BackendPort)
	e.mu.Lock()
	same := e.frontUpstream == upstream
	e.mu.Unlock()
	if same {
		return nil
	}
	path := "/proxies/" + e.Proxies[LinkClientBackend]
	if err := e.toxiproxyAPI(ctx, http.MethodPatch, path, map[string]any{"upstream": upstream, "enabled": true}); err != nil {
		return fmt.Errorf("env: point %s at %s: %w", LinkClientBackend, upstream, err)
	}
	e.mu.Lock()
	e.frontUpstream = upstream
	e.mu.Unlock()
	return nil
}
