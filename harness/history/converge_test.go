package history

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAckedMaxAndConverged(t *testing.T) {
	ops := []Op{
		w(1, 1, 0, 1), w(1, 3, 2, 3), w(1, 2, 4, 5),
		with(w(1, 9, 6, 7), func(o *Op) { o.Outcome = Unknown }),
		with(w(2, 5, 6, 7), func(o *Op) { o.Outcome = Fail }),
		r(3, 4, 0, 1),
		w(4, 1, 0, 1),
	}
	acked := AckedMax(ops)
	if want := map[uint32]int64{1: 3, 4: 1}; !maps.Equal(acked, want) {
		t.Fatalf("AckedMax %v, want %v", acked, want)
	}
	for _, tc := range []struct {
		store map[uint32]int64
		want  bool
	}{
		{map[uint32]int64{1: 3, 4: 1}, true},
		{map[uint32]int64{1: 9, 4: 2, 7: 1}, true}, // ahead (unknown writes landed) is fine
		{map[uint32]int64{1: 2, 4: 1}, false},
		{map[uint32]int64{1: 3}, false}, // k4 missing
		{nil, false},
	} {
		if got := Converged(acked, tc.store); got != tc.want {
			t.Errorf("Converged(%v) = %v", tc.store, got)
		}
	}
	if !Converged(nil, nil) {
		t.Error("nothing acked is converged")
	}
}

// memStore is an in-memory Store whose state a test advances, as a queue
// worker applying writes after a heal would.
type memStore struct {
	mu       sync.Mutex
	versions map[uint32]int64
	reads    int
	fail     error
	onRead   func(reads int, versions map[uint32]int64) // runs under mu
}

func (s *memStore) Versions(ctx context.Context) (map[uint32]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.onRead != nil {
		s.onRead(s.reads, s.versions)
	}
	if s.fail != nil {
		return nil, s.fail
	}
	return maps.Clone(s.versions), nil
}

func TestWaitConvergedPollsUntilTheStoreCatchesUp(t *testing.T) {
	st := &memStore{versions: map[uint32]int64{1: 1}}
	st.onRead = func(reads int, v map[uint32]int64) {
		if reads == 4 { // the queue drains on the fourth poll
			v[1], v[2] = 3, 1
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := WaitConverged(ctx, st, map[uint32]int64{1: 3, 2: 1}, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if st.reads != 4 || d < 25*time.Millisecond || d > 2*time.Second {
		t.Errorf("converged after %d reads in %s", st.reads, d)
	}
}

func TestWaitConvergedToleratesErrorsThenTimesOut(t *testing.T) {
	st := &memStore{versions: map[uint32]int64{1: 1}, fail: errors.New("connection refused")}
	st.onRead = func(reads int, v map[uint32]int64) {
		if reads == 3 {
			st.fail = nil // the store is back, but behind forever
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	d, err := WaitConverged(ctx, st, map[uint32]int64{1: 2, 2: 1}, 10*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "2 keys behind") {
		t.Errorf("error %v", err)
	}
	if d < 100*time.Millisecond {
		t.Errorf("gave up after %s", d)
	}

	st = &memStore{fail: errors.New("connection refused")}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := WaitConverged(ctx, st, map[uint32]int64{1: 1}, 10*time.Millisecond); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %v, want the last read's", err)
	}
}

func TestWaitConvergedWithNothingAcked(t *testing.T) {
	st := &memStore{fail: errors.New("never read")}
	d, err := WaitConverged(context.Background(), st, nil, time.Second)
	if err != nil || d != 0 || st.reads != 0 {
		t.Errorf("d %s err %v reads %d", d, err, st.reads)
	}
}
