package backend

import (
	"sync"
	"time"
)

// breaker marks a store down after threshold consecutive failures. While it
// is down, calls fail at once instead of each waiting for its deadline, and
// one call per cooldown goes through as a probe; the first success closes
// it. A nil breaker, or one with threshold 0, always allows.
type breaker struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time

	mu       sync.Mutex
	failures int
	probeAt  time.Time // while down: when the next probe may go
}

func newBreaker(threshold int, cooldown time.Duration) *breaker {
	return &breaker{threshold: threshold, cooldown: cooldown, now: time.Now}
}

// allow reports whether a call may go to the store now.
func (b *breaker) allow() bool {
	if b == nil || b.threshold <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.threshold {
		return true
	}
	now := b.now()
	if now.Before(b.probeAt) {
		return false
	}
	b.probeAt = now.Add(b.cooldown) // this call is the probe; the next waits a cooldown
	return true
}

// up reports whether the store is believed reachable.
func (b *breaker) up() bool {
	if b == nil || b.threshold <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failures < b.threshold
}

func (b *breaker) success() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.failures = 0
	b.mu.Unlock()
}

func (b *breaker) failure() {
	if b == nil || b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	b.failures++
	if b.failures == b.threshold {
		b.probeAt = b.now().Add(b.cooldown)
	}
	b.mu.Unlock()
}
