package faults

import (
	"context"
	"errors"
	"time"
)

// Processes crashes and restarts the lab's containers by role, for kill
// faults (env.Env implements it through the Docker API).
type Processes interface {
	// Kill sends SIGKILL to the container's main process, as a crash
	// would (nothing flushed, no shutdown), and returns once it stopped.
	Kill(ctx context.Context, role string) error
	// Restart starts the killed container again and returns once it
	// accepts connections.
	Restart(ctx context.Context, role string) error
}

// WithProcesses gives the schedule what kill faults act on; a schedule
// with a kill fault and no Processes is refused.
func WithProcesses(p Processes) Option { return func(s *Schedule) { s.processes = p } }

// containerActionTimeout bounds a kill or a restart: a restart waits for
// the store's crash recovery, seconds rather than a toxiproxy call's
// milliseconds.
const containerActionTimeout = time.Minute

var errNoProcesses = errors.New("kill faults need the lab's containers (faults.WithProcesses)")

func (s *Schedule) kill(ctx context.Context, role string) error {
	ctx, cancel := context.WithTimeout(ctx, containerActionTimeout)
	defer cancel()
	return s.processes.Kill(ctx, role)
}

func (s *Schedule) restart(ctx context.Context, role string) error {
	ctx, cancel := context.WithTimeout(ctx, containerActionTimeout)
	defer cancel()
	return s.processes.Restart(ctx, role)
}
