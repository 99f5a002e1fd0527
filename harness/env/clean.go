package env

import (
	"context"
	"errors"
	"fmt"
	cerrdefs "github.com/containerd/errdefs"
	"strings"
	"sync"
	"time"

	"github.com/loadlab/loadlab/harness/images"
	"github.com/moby/moby/client"
)

// Clean removes the lab's containers and networks. With all false it only
// removes what it can prove is orphaned: its owner (labels loadlab.host,
// loadlab.boot, loadlab.pidns, loadlab.pid, loadlab.start) ran on this
// kernel, in this pid namespace, and the pid is gone or now belongs to a
// process started at another time. A lab of another CI job on a shared
// daemon (another pid namespace or machine), a live run, or a container
// without those labels (a test's own, an older loadlab's) is left alone.
func Clean(ctx context.Context, all bool) (containers, networks int, err error) {
	docker, err := images.NewDockerClient(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("env: clean: %w", err)
	}
	defer docker.Close()
	keep := func(labels map[string]string) bool { return !all && !orphaned(labels) }
	return removeLabelled(ctx, docker, []string{LabelLab + "=true"}, keep)
}

// sweepUntilQuiet force-removes every container and network carrying all
// of labels (k=v), and keeps sweeping every 250ms until nothing new has
// turned up for quiet (0: sweep once).
func sweepUntilQuiet(ctx context.Context, quiet time.Duration, labels ...string) error {
	docker, err := images.NewDockerClient(ctx)
	if err != nil {
		return fmt.Errorf("env: sweep: %w", err)
	}
	defer docker.Close()
	none := func(map[string]string) bool { return false }
	lastFound := time.Now()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		c, n, err := removeLabelled(ctx, docker, labels, none)
		if err != nil {
			return err
		}
		if c+n > 0 {
			lastFound = time.Now()
		}
		if time.Since(lastFound) >= quiet {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("env: sweep: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func removeLabelled(ctx context.Context, docker *client.Client, labels []string, keep func(map[string]string) bool) (nc, nn int, err error) {
	f := make(client.Filters).Add("label", labels...)
	ctrs, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return 0, 0, fmt.Errorf("env: list containers: %w", err)
	}
	var errs []error
	for _, c := range ctrs.Items {
		if keep(c.Labels) {
			continue
		}
		if _, err := docker.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isGone(err) {
			errs = append(errs, fmt.Errorf("env: remove container %.12s: %w", c.ID, err))
			continue
		}
		nc++
	}
	nets, err := docker.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nc, 0, errors.Join(append(errs, fmt.Errorf("env: list networks: %w", err))...)
	}
	for _, n := range nets.Items {
		if keep(n.Labels) {
			continue
		}
		if _, err := docker.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !isGone(err) {
			errs = append(errs, fmt.Errorf("env: remove network %s: %w", n.Name, err))
			continue
		}
		nn++
	}
	return nc, nn, errors.Join(errs...)
}

func isGone(err error) bool {
	return err != nil && (cerrdefs.IsNotFound(err) || strings.Contains(err.Error(), "No such container") || strings.Contains(err.Error(), "is already in progress"))
}

// The environments this process has up, for an emergency teardown when the
// user insists (a second Ctrl-C) and the normal path cannot finish.
var (
	liveMu sync.Mutex
	live   = map[*Env]bool{}
)

func register(e *Env)   { liveMu.Lock(); live[e] = true; liveMu.Unlock() }
func unregister(e *Env) { liveMu.Lock(); delete(live, e); liveMu.Unlock() }

// createsQuiet is how long a sweep after an abandoned start must find
// nothing new before it stops: a create cancelled on our side may still
// complete in the daemon, and does so well within this.
const createsQuiet = 1500 * time.Millisecond

// Emergency removes, within timeout, everything of every environment this
// process still has up. It is for the forced-exit path; normal code calls
// Down. It sweeps by this process's pid label until the daemon has been
// quiet for createsQuiet: a second Ctrl-C during a start lands while
// creates are in flight, and a container the daemon finishes creating
// after a single sweep would outlive the process (seen in
// cmd/loadlab's TestSecondSignalForcesExit).
func Emergency(timeout time.Duration) error {
	liveMu.Lock()
	n := len(live)
	liveMu.Unlock()
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return sweepUntilQuiet(ctx, createsQuiet, self().selector()...)
}
