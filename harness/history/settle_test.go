package history

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"
)

// memReader is a store whose state a test changes over time.
type memReader struct {
	mu     sync.Mutex
	states map[uint32]State
	fail   map[uint32]bool
	step   func(m *memReader) // called before each read
}

func (m *memReader) Read(ctx context.Context, keys []uint32) (map[uint32]State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.step != nil {
		m.step(m)
	}
	out := map[uint32]State{}
	var err error
	for _, k := range keys {
		if m.fail[k] {
			err = errors.New("503")
			continue
		}
		out[k] = m.states[k]
	}
	return out, err
}

func TestSettleConverges(t *testing.T) {
	ops := []Op{w(1, 0, 0, 10), w(1, 1, 20, 30), w(2, 2, 0, 10)}
	reads := 0
	m := &memReader{states: map[uint32]State{1: {Value: WriteValue(1, 0)}, 2: {Value: WriteValue(1, 2)}}, step: func(m *memReader) {
		if reads++; reads == 3 {
			m.states[1] = State{Value: WriteValue(1, 1)} // the queue drained
		}
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s := Settle(ctx, m, ops, WithPoll(5*time.Millisecond))
	if !s.Converged || s.Err != nil || s.Behind != 0 || reads < 4 || s.Final.Moving {
		t.Fatalf("%+v (reads %d)", s, reads)
	}
	if h := Check(ops, s.Final); h.LostWrites+h.UnconvergedKeys != 0 {
		t.Errorf("%+v", h)
	}
}

// TestSettleTellsSlowFromLost: a store still changing when settle ends
// leaves its keys unconverged; a store that stopped leaves them lost.
func TestSettleTellsSlowFromLost(t *testing.T) {
	ops := []Op{w(1, 0, 0, 10), w(1, 1, 20, 30), w(1, 2, 40, 50), w(2, 3, 0, 10)}
	run := func(step func(*memReader)) (Settlement, int64, int64) {
		m := &memReader{states: map[uint32]State{1: {Value: SeedValue(1)}, 2: {}}, step: step}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		s := Settle(ctx, m, ops, WithPoll(10*time.Millisecond), WithQuiet(200*time.Millisecond), WithSeeded(3))
		h := Check(ops, s.Final, WithSeededKeys(3))
		return s, h.LostWrites, h.UnconvergedKeys
	}
	n := 0
	slow := func(m *memReader) { // applies one write of k1 every 100ms; k2 never
		if n++; n%10 == 0 && n/10 <= 2 {
			m.states[1] = State{Value: WriteValue(1, uint64(n/10-1))}
		}
	}
	s, lost, unconverged := run(slow)
	if s.Converged || !s.Final.Moving || lost != 0 || unconverged != 2 || s.Err == nil {
		t.Errorf("slow: %+v lost %d unconverged %d", s, lost, unconverged)
	}
	s, lost, unconverged = run(nil)
	if s.Converged || s.Final.Moving || lost != 4 || unconverged != 0 {
		t.Errorf("stopped: %+v lost %d unconverged %d", s, lost, unconverged)
	}
}

// TestSettleWaitsOutStaleAnswers: an answer the target labels stale is not
// its store's, whatever value it carries.
func TestSettleWaitsOutStaleAnswers(t *testing.T) {
	ops := []Op{w(1, 0, 0, 10)}
	m := &memReader{states: map[uint32]State{1: {Value: WriteValue(1, 0), Source: SourceStale}}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if s := Settle(ctx, m, ops, WithPoll(5*time.Millisecond)); s.Converged || s.Behind != 1 {
		t.Errorf("%+v", s)
	}
}

func TestSettleUnreadableKeysAreUnconverged(t *testing.T) {
	ops := []Op{w(1, 0, 0, 10)}
	m := &memReader{states: map[uint32]State{}, fail: map[uint32]bool{1: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s := Settle(ctx, m, ops, WithPoll(5*time.Millisecond))
	h := Check(ops, s.Final)
	if s.Converged || s.Err == nil || h.UnconvergedKeys != 1 || h.LostWrites != 0 {
		t.Errorf("%+v %+v", s, h)
	}
}

func TestWaitHolds(t *testing.T) {
	m := &memReader{states: map[uint32]State{1: {Value: SeedValue(1)}}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	want := map[uint32]Value{1: SeedValue(1), 2: SeedValue(2)}
	if err := WaitHolds(ctx, m, want, 5*time.Millisecond); err == nil {
		t.Error("k2 never held its seed")
	}
	m.states[2] = State{Value: SeedValue(2)}
	if err := WaitHolds(context.Background(), m, maps.Clone(want), 5*time.Millisecond); err != nil {
		t.Error(err)
	}
}

// TestSettleConfirmsWithAFullRead: an API that shows a queued write from a
// side copy, then the store's older value, has not converged until a read
// of every key finds them all settled.
func TestSettleConfirmsWithAFullRead(t *testing.T) {
	ops := []Op{w(1, 0, 0, 10), w(1, 1, 20, 30), w(2, 2, 0, 10)}
	reads := 0
	m := &memReader{states: map[uint32]State{1: {Value: WriteValue(1, 0)}, 2: {Value: WriteValue(1, 2)}}, step: func(m *memReader) {
		switch reads++; reads {
		case 2: // the side copy: looks settled
			m.states[1] = State{Value: WriteValue(1, 1)}
		case 3: // the store, still behind
			m.states[1] = State{Value: WriteValue(1, 0)}
		case 5: // applied
			m.states[1] = State{Value: WriteValue(1, 1)}
		}
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s := Settle(ctx, m, ops, WithPoll(5*time.Millisecond))
	if !s.Converged || reads < 6 || s.Final.States[1].Value != WriteValue(1, 1) {
		t.Fatalf("%+v after %d reads", s, reads)
	}
}
