package history

import (
	"context"
	"fmt"
	"time"
)

// Store reads the final state of the system under test: the version each
// key holds now, by key index. Keys it does not hold are at version 0.
type Store interface {
	Versions(ctx context.Context) (map[uint32]int64, error)
}

// AckedMax returns, per key, the highest version an acknowledged write gave
// it: what the store must eventually hold.
func AckedMax(ops []Op) map[uint32]int64 {
	acked := map[uint32]int64{}
	for i := range ops {
		op := &ops[i]
		if op.Write && op.Outcome == OK && op.Version > acked[op.Key] {
			acked[op.Key] = op.Version
		}
	}
	return acked
}

// Converged reports whether store holds every acknowledged write: each key
// at or above its highest acknowledged version. A higher version is fine:
// a write with an unknown outcome may have landed after it.
func Converged(acked, store map[uint32]int64) bool {
	for k, v := range acked {
		if store[k] < v {
			return false
		}
	}
	return true
}

// WaitConverged polls st every poll until it holds every acknowledged write
// and returns how long that took. Errors reading the store are tolerated
// (it may still be recovering from the fault) until ctx ends; the error
// then says how far it got. Nothing acknowledged means nothing to wait for:
// it returns 0 at once without reading the store.
func WaitConverged(ctx context.Context, st Store, acked map[uint32]int64, poll time.Duration) (time.Duration, error) {
	start := time.Now()
	if len(acked) == 0 {
		return 0, nil
	}
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	var lastErr error
	missing := -1
	for {
		store, err := st.Versions(ctx)
		switch {
		case err != nil:
			lastErr = err
		case Converged(acked, store):
			return time.Since(start), nil
		default:
			lastErr, missing = nil, behind(acked, store)
		}
		select {
		case <-ctx.Done():
			waited := time.Since(start)
			if lastErr != nil {
				return waited, fmt.Errorf("history: not converged after %s: %w (last read: %w)", waited.Round(time.Millisecond), ctx.Err(), lastErr)
			}
			if missing >= 0 {
				return waited, fmt.Errorf("history: not converged after %s: %d keys behind their acknowledged version: %w", waited.Round(time.Millisecond), missing, ctx.Err())
			}
			return waited, fmt.Errorf("history: not converged after %s: %w", waited.Round(time.Millisecond), ctx.Err())
		case <-ticker.C:
		}
	}
}

// behind counts the keys whose stored version is below the acknowledged one.
func behind(acked, store map[uint32]int64) int {
	n := 0
	for k, v := range acked {
		if store[k] < v {
			n++
		}
	}
	return n
}
