package backend

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestValidKey(t *testing.T) {
	for _, k := range []string{"k", "k0", "user:42", "a.b-c_d", strings.Repeat("x", 128)} {
		if !validKey(k) {
			t.Errorf("validKey(%q) = false", k)
		}
	}
	for _, k := range []string{"", "a b", "a/b", "k'", "é", "a\x00", strings.Repeat("x", 129)} {
		if validKey(k) {
			t.Errorf("validKey(%q) = true", k)
		}
	}
}

func TestBreaker(t *testing.T) {
	now := time.Unix(0, 0)
	b := newBreaker(2, time.Second)
	b.now = func() time.Time { return now }
	b.failure()
	if !b.allow() || !b.up() {
		t.Fatal("one failure below the threshold marked the store down")
	}
	b.failure()
	if b.allow() || b.up() {
		t.Fatal("threshold reached but calls still allowed")
	}
	now = now.Add(time.Second)
	if !b.allow() {
		t.Fatal("no probe after the cooldown")
	}
	if b.allow() {
		t.Fatal("a second probe in the same cooldown")
	}
	b.failure()
	now = now.Add(time.Second)
	if !b.allow() {
		t.Fatal("no probe after a failed probe's cooldown")
	}
	b.success()
	if !b.allow() || !b.up() {
		t.Fatal("a successful probe did not close the breaker")
	}
	var off *breaker
	off.failure()
	if !off.allow() || !newBreaker(0, time.Second).allow() {
		t.Fatal("a nil or zero-threshold breaker refused")
	}
}

func TestHybridClockStrictlyIncreases(t *testing.T) {
	c := newHybridClock()
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			last := int64(0)
			for range 1000 {
				v := c.next()
				if v <= last {
					t.Errorf("version %d after %d", v, last)
				}
				last = v
				mu.Lock()
				if seen[v] {
					t.Errorf("version %d handed out twice", v)
				}
				seen[v] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if v := c.next(); v < time.Now().Add(-time.Minute).UnixMicro() {
		t.Errorf("version %d is not near the clock", v)
	}
}

func TestRefreshEarly(t *testing.T) {
	now := time.Now()
	fresh := entry{found: true, expires: now.Add(time.Hour), cost: time.Millisecond}
	expiring := entry{found: true, expires: now, cost: time.Millisecond}
	for range 100 {
		if refreshEarly(fresh, now) {
			t.Fatal("refreshed an entry an hour from expiry")
		}
		if !refreshEarly(expiring, now) {
			t.Fatal("did not refresh an expiring entry")
		}
	}
	if refreshEarly(entry{found: true}, now) {
		t.Fatal("refreshed an entry without expiry")
	}
}

func TestRouteAndMethodLabels(t *testing.T) {
	for in, want := range map[string]string{"GET /items/{key}": "/items/{key}", "": "other", "/x": "/x"} {
		if got := routeLabel(in); got != want {
			t.Errorf("routeLabel(%q) = %q, want %q", in, got, want)
		}
	}
	if methodLabel("PROPFIND") != "other" || methodLabel("PUT") != "PUT" {
		t.Error("methodLabel does not bound its values")
	}
}

func TestClassifyErrors(t *testing.T) {
	refused := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	if err := classifyRedis("enqueue", refused); !isUnavailable(err) || mayHaveApplied(err) {
		t.Errorf("redis dial error: unavailable=%v mayHaveApplied=%v, want true false", isUnavailable(err), mayHaveApplied(err))
	}
	if err := classifyRedis("enqueue", io.EOF); !isUnavailable(err) || !mayHaveApplied(err) {
		t.Errorf("redis EOF after sending: unavailable=%v mayHaveApplied=%v, want true true", isUnavailable(err), mayHaveApplied(err))
	}
	if err := classifyPostgres("put", io.EOF, false); !isUnavailable(err) || mayHaveApplied(err) {
		t.Error("postgres error before a connection was acquired must be unavailable and not applied")
	}
	if err := classifyPostgres("put", io.EOF, true); !mayHaveApplied(err) {
		t.Error("postgres EOF mid-statement must be outcome-unknown")
	}
	if err := classifyPostgres("put", &pgconn.PgError{Code: "57P01"}, true); !isUnavailable(err) || mayHaveApplied(err) {
		t.Error("admin shutdown must be unavailable, not applied")
	}
	if err := classifyPostgres("put", &pgconn.PgError{Code: "23505"}, true); isUnavailable(err) {
		t.Error("a constraint violation is not unavailability")
	}
}

// TestWaitPrecisely: a planted delay below the runtime's millisecond
// timer tick must take about what was asked, not a tick (a timer of
// 191µs took 1.08 ms here); the median of many is judged, since a busy
// machine may delay any one of them. And it must not spin away a core
// while it waits: over 50 waits of 2 ms (all below the timer's part), the
// process's CPU time stays well below the time waited (the kernel counts
// it in ticks of a few milliseconds, hence the long total).
func TestWaitPrecisely(t *testing.T) {
	for _, d := range []time.Duration{191 * time.Microsecond, 573 * time.Microsecond, 3 * time.Millisecond} {
		took := make([]time.Duration, 41)
		for i := range took {
			start := time.Now()
			if !waitPrecisely(context.Background(), d) {
				t.Fatal("waitPrecisely gave up without a cancelled context")
			}
			took[i] = time.Since(start)
		}
		slices.Sort(took)
		// A thread woken from its sleep may wait for a core: 100µs of slack
		// on a busy machine, still far from a millisecond tick.
		if took[0] < d || took[20] > d+d/4+100*time.Microsecond {
			t.Errorf("wait of %v: fastest %v, median %v; want at least %v and a median within a quarter of it (+100µs)", d, took[0], took[20], d)
		}
	}
	cpu := cpuTime(t)
	for range 50 {
		waitPrecisely(context.Background(), timerBelow)
	}
	if cpu, waited := cpuTime(t)-cpu, 50*timerBelow; cpu > waited/4 {
		t.Errorf("50 waits of %v: the process spent %v of CPU in %v of waiting; a wait must not spin", timerBelow, cpu, waited)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if waitPrecisely(ctx, time.Second) {
		t.Error("a cancelled wait reported it had waited")
	}
}

// cpuTime is the CPU time (user and system) the test process has spent.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
