package faults

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// errNoAnswer marks a control-plane call that did not answer in time. Its
// outcome is unknown: the server may still apply it after we gave up.
var errNoAnswer = errors.New("no answer from toxiproxy")

// call runs fn, which cannot be cancelled, and waits for it at most until
// ctx's deadline or timeout, whichever is first. If we stop waiting, fn keeps
// running on its goroutine until the client's own HTTP timeout ends it; its
// result is then dropped.
func call(ctx context.Context, timeout time.Duration, fn func() error) error {
	_, err := callValue(ctx, timeout, func() (struct{}, error) { return struct{}{}, fn() })
	return err
}

// callValue is call for a function with a result. The result travels over a
// channel, never through a shared variable, so an abandoned call cannot race
// with its caller.
func callValue[T any](ctx context.Context, timeout time.Duration, fn func() (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned fn must not block forever
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("%w within %s: %w", errNoAnswer, timeout, context.Cause(ctx))
	}
}

// sleepUntil waits until the wall clock reaches at, or ctx ends. It reports
// whether the time was reached.
func sleepUntil(ctx context.Context, at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
