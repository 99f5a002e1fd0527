package backend

import (
	"context"
	"runtime"
	"time"
)

// serviceTime spends the configured handler_delay, the planted fixed cost of
// a GET; it returns false when ctx ends first.
func (s *Server) serviceTime(ctx context.Context) bool {
	if s.cfg.HandlerDelay <= 0 {
		return true
	}
	return waitPrecisely(ctx, s.cfg.HandlerDelay)
}

const (
	// timerBelow is how much of a wait is not left to a Go timer: the
	// runtime's timers wake on millisecond ticks here (a 191µs timer took
	// 1.08 ms on this lab's machine), so a planted 10 % of a 2 ms p50 would
	// really be 55 %, and a gate's calibration would claim a sensitivity it
	// lacks.
	timerBelow = 2 * time.Millisecond
	// spinBelow is how much is spun at the end, rather than slept: a sleeping
	// thread wakes 50–100µs late here (the kernel's timer slack, then a free
	// core), later on a busy machine.
	spinBelow = 100 * time.Microsecond
)

// waitPrecisely waits d to within microseconds without spending a core on
// it: a Go timer for all but the last timerBelow, then a sleep of the
// thread (sleepThread) for all but the last spinBelow, then a spin that
// yields the processor between looks at the clock. It returns false when
// ctx ends first (it is looked at between the steps: the sleep is short).
//
// The wait must not spin for long: a spin of the whole last 2 ms kept a
// core busy for every GET, which on a 2-core machine slowed the other side
// of a duet as well, and kept the head's scheduler awake so that the rest of
// its request ran faster: planted delays of 0.80–0.94 ms added 0.21–0.61
// ms to the p50 a duet measured (docs/PERFORMANCE.md, "Calibration of the
// gate").
func waitPrecisely(ctx context.Context, d time.Duration) bool {
	deadline := time.Now().Add(d)
	if coarse := d - timerBelow; coarse > 0 {
		t := time.NewTimer(coarse)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
	if ctx.Err() != nil {
		return false
	}
	if fine := time.Until(deadline) - spinBelow; fine > 0 {
		sleepThread(fine)
	}
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return false
		}
		runtime.Gosched()
	}
	return true
}
