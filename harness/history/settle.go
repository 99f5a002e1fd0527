package history

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Reader reads what keys hold now. It returns the states of the keys it
// could read; keys it could not read are missing from the map, and the
// error says why.
type Reader interface {
	Read(ctx context.Context, keys []uint32) (map[uint32]State, error)
}

// Settlement is what Settle saw.
type Settlement struct {
	Final     Final         // the state read at the end, for Check
	Converged bool          // every key held a state its acknowledged writes allow
	Took      time.Duration // until it converged (or gave up)
	Behind    int           // keys that had not converged at the end
	Err       error         // why it did not converge
}

// SettleOption configures Settle.
type SettleOption func(*settleConfig)

type settleConfig struct {
	poll, quiet time.Duration
	seeded      uint32
	finalWithin time.Duration
}

// WithPoll sets how often Settle reads the keys still behind (default 200ms).
func WithPoll(d time.Duration) SettleOption { return func(c *settleConfig) { c.poll = d } }

// WithQuiet sets how long the store must not have changed before the end
// of settle for keys still behind to count as lost rather than unconverged
// (default 1s).
func WithQuiet(d time.Duration) SettleOption { return func(c *settleConfig) { c.quiet = d } }

// WithSeeded says keys below n were seeded (see WithSeededKeys).
func WithSeeded(n int) SettleOption {
	return func(c *settleConfig) { c.seeded = uint32(max(0, min(n, math.MaxUint32))) }
}

// Settle waits, until ctx ends, for every key an acknowledged write touched
// to hold a state those writes allow (the value of a write no acknowledged
// write certainly followed), reading the keys still behind every poll and,
// once none is, every key again to confirm: that read is the final state.
// If ctx ends first, it reads every key once more, under a fresh deadline
// of its own so that an interrupted run still gets its verdict. It notes
// whether the store was still changing in the last quiet period: keys
// behind then are unconverged, not lost.
func Settle(ctx context.Context, rd Reader, ops []Op, opts ...SettleOption) Settlement {
	cfg := settleConfig{poll: 200 * time.Millisecond, quiet: time.Second, finalWithin: 15 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	start := time.Now()
	exp := expectations(ops, cfg.seeded)
	keys := make([]uint32, 0, len(exp.latest))
	for k := range exp.latest {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	var s Settlement
	seen := map[uint32]State{}
	lastChange := start
	note := func(states map[uint32]State) {
		for k, st := range states {
			if old, ok := seen[k]; ok && old.Value != st.Value { // versions are hints
				lastChange = time.Now()
			}
			seen[k] = st
		}
	}
	states, converged, lastErr := pollSettled(ctx, rd, ops, exp, keys, cfg.poll, note)
	s.Converged = converged
	s.Took = time.Since(start)

	var ferr error
	if !s.Converged {
		// The final state, under a deadline of its own.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.finalWithin)
		states, ferr = rd.Read(fctx, keys)
		cancel()
		note(states)
	}
	s.Final = Final{States: states, Moving: !s.Converged && time.Since(lastChange) < cfg.quiet}
	for _, k := range keys {
		if st, ok := states[k]; !ok || !exp.settled(ops, k, st) {
			s.Behind++
		}
	}
	if !s.Converged {
		s.Err = fmt.Errorf("history: not converged after %s: %d of %d keys behind their acknowledged writes: %w",
			s.Took.Round(time.Millisecond), s.Behind, len(keys), errors.Join(context.Cause(ctx), lastErr))
	}
	if ferr != nil {
		s.Err = errors.Join(s.Err, fmt.Errorf("history: final state: %w", ferr))
	}
	return s
}

// expected is, per key touched by an acknowledged write, the latest
// invocation of one: a state is settled when it holds the value of a write
// that may have taken effect after that.
type expected struct {
	x      *index
	latest map[uint32]int64
}

func expectations(ops []Op, seeded uint32) expected {
	e := expected{x: &index{seeded: seeded}, latest: map[uint32]int64{}}
	for i := range ops {
		op := &ops[i]
		if !op.Write {
			continue
		}
		e.x.add(op, int32(i))
		if op.Outcome == OK {
			if l, ok := e.latest[op.Key]; !ok || op.InvokeNs > l {
				e.latest[op.Key] = op.InvokeNs
			}
		}
	}
	return e
}

// settled says st is a final state key's acknowledged writes allow. An
// answer the target itself labels stale does not count: it says it is not
// its store's (an AP side copy may hold queued writes its store never got),
// so settle waits on. The label can only make it wait longer.
func (e expected) settled(ops []Op, key uint32, st State) bool {
	if st.Source == SourceStale {
		return false
	}
	wc, _, reason := e.x.resolve(ops, st.Value, key, math.MaxInt64)
	return reason == "" && e.latest[key] <= wc
}

// WaitHolds polls rd until every key of want holds its value, or ctx ends.
func WaitHolds(ctx context.Context, rd Reader, want map[uint32]Value, poll time.Duration) error {
	pending := make([]uint32, 0, len(want))
	for k := range want {
		pending = append(pending, k)
	}
	slices.Sort(pending)
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		states, err := rd.Read(ctx, pending)
		pending = slices.DeleteFunc(pending, func(k uint32) bool {
			st, ok := states[k]
			return ok && st.Value == want[k]
		})
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("history: %d of %d keys do not hold their value: %w", len(pending), len(want), errors.Join(ctx.Err(), err))
		case <-ticker.C:
		}
	}
}

// pollSettled polls the keys still behind until none is, then confirms
// with a read of every key: a target's API need not be monotonic while it
// drains (a read served from a side copy may show a queued write the store
// has not applied yet), so only a full read that finds every key settled
// ends the wait, and it is the final state. It returns the last states read,
// whether they settled, and the last read error; ctx bounds the wait.
func pollSettled(ctx context.Context, rd Reader, ops []Op, exp expected, keys []uint32, poll time.Duration, note func(map[uint32]State)) (map[uint32]State, bool, error) {
	pending := slices.Clone(keys)
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		states, err := rd.Read(ctx, pending)
		note(states)
		full := len(pending) == len(keys)
		pending = slices.DeleteFunc(pending, func(k uint32) bool {
			st, ok := states[k]
			return ok && exp.settled(ops, k, st)
		})
		switch {
		case len(pending) == 0 && full:
			return states, true, err
		case len(pending) == 0:
			pending = slices.Clone(keys)
			continue
		}
		select {
		case <-ctx.Done():
			return states, false, err
		case <-ticker.C:
		}
	}
}
