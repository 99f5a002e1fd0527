package backend

import (
	"sync/atomic"
	"time"
)

// hybridClock hands out versions for the modes in which a write may be
// queued. A version is the larger of "microseconds since the Unix epoch" and
// "the previous version plus one", so it strictly increases within the
// process, and it stays above the versions already stored wherever they were
// allocated: Postgres takes GREATEST(items.version+1, floor), the queue's
// script takes max(counter+1, floor). Because every path starts from the same
// clock, a write acknowledged after another completed always gets the higher
// version, whether either went to Postgres or to the queue.
//
// Time is measured on the monotonic clock from the process start, so a step
// of the wall clock while running cannot make versions go back. Versions stay
// below 2^53 (exact in Redis' Lua numbers) until the year 2255.
type hybridClock struct {
	start      time.Time
	startMicro int64
	last       atomic.Int64
}

func newHybridClock() *hybridClock {
	now := time.Now()
	return &hybridClock{start: now, startMicro: now.UnixMicro()}
}

// next returns a version greater than every one it returned before.
func (c *hybridClock) next() int64 {
	now := c.startMicro + time.Since(c.start).Microseconds()
	for {
		last := c.last.Load()
		v := max(now, last+1)
		if c.last.CompareAndSwap(last, v) {
			return v
		}
	}
}
