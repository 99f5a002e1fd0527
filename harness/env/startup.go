package env

import (
	"context"
	"fmt"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// Startup is where a container's start-up time went.
type Startup struct {
	Create time.Duration // until the daemon created it (image present)
	Start  time.Duration // from created to running
	Ready  time.Duration // from running to its wait strategy passing
}

func (s Startup) String() string {
	return fmt.Sprintf("create %s, start %s, ready %s",
		s.Create.Round(time.Millisecond), s.Start.Round(time.Millisecond), s.Ready.Round(time.Millisecond))
}

// timeStartup records, through testcontainers' lifecycle hooks, how long
// a role's container took to be created, to start and to become ready
// (Env.Startups; logged at debug level).
func (e *Env) timeStartup(role string) testcontainers.CustomizeRequestOption {
	var begin, created, starting, started time.Time
	mark := func(t *time.Time) testcontainers.ContainerHook {
		return func(context.Context, testcontainers.Container) error { *t = time.Now(); return nil }
	}
	return testcontainers.WithAdditionalLifecycleHooks(testcontainers.ContainerLifecycleHooks{
		PreCreates: []testcontainers.ContainerRequestHook{func(context.Context, testcontainers.ContainerRequest) error {
			begin = time.Now()
			return nil
		}},
		PostCreates: []testcontainers.ContainerHook{mark(&created)},
		PreStarts:   []testcontainers.ContainerHook{mark(&starting)},
		// Ours run before testcontainers' own post-start hooks, which
		// include the wait for readiness.
		PostStarts: []testcontainers.ContainerHook{mark(&started)},
		PostReadies: []testcontainers.ContainerHook{func(context.Context, testcontainers.Container) error {
			s := Startup{Create: created.Sub(begin), Start: started.Sub(starting), Ready: time.Since(started)}
			e.mu.Lock()
			e.Startups[role] = s
			e.mu.Unlock()
			e.log.Debug("env: started", "role", role, "create", s.Create.Round(time.Millisecond),
				"start", s.Start.Round(time.Millisecond), "ready", s.Ready.Round(time.Millisecond))
			return nil
		}},
	})
}
