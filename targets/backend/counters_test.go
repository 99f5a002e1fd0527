package backend

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCounterModesUnderContention races 16 clients incrementing one counter
// 20 times each in every mode, and compares the acknowledged increments
// with the value Postgres holds at the end (read directly, not through the
// API). The planted failure: rmw must lose some acknowledged increments.
// The null cases: atomic, for-update and optimistic (whose clients retry a
// 412 as the lesson's load does) must lose none.
func TestCounterModesUnderContention(t *testing.T) {
	for _, mode := range []string{CountersAtomic, CountersForUpdate, CountersOptimistic, CountersRMW} {
		t.Run(mode, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) { c.Counters = mode; c.DBPool = 32 })
			key := ts.key("hits")
			const clients, each = 16, 20
			var acked, conflicts, failed atomic.Int64
			var wg sync.WaitGroup
			for range clients {
				wg.Go(func() {
					for range each {
						for attempt := 0; ; attempt++ {
							r := ts.do(http.MethodPost, "/counters/"+key+"/increment", nil)
							if r.code == http.StatusPreconditionFailed && attempt < 100 {
								conflicts.Add(1)
								continue // the optimistic client's retry
							}
							if r.code == http.StatusOK {
								acked.Add(1)
							} else {
								failed.Add(1)
							}
							break
						}
					}
				})
			}
			wg.Wait()
			final := ts.lab.storedCounter(t, key)
			lost := acked.Load() - final
			t.Logf("%s: %d acknowledged, %d failed, %d conflicts retried, final value %d: %d lost", mode, acked.Load(), failed.Load(), conflicts.Load(), final, lost)
			if failed.Load() > 0 {
				t.Errorf("%d increments failed outright", failed.Load())
			}
			switch {
			case mode == CountersRMW && lost <= 0:
				t.Errorf("rmw lost no increment in %d racing ones: the planted race did not show", acked.Load())
			case mode != CountersRMW && lost != 0:
				t.Errorf("%s: %d acknowledged increments, final value %d", mode, acked.Load(), final)
			}
			if mode == CountersOptimistic && conflicts.Load() == 0 {
				t.Errorf("optimistic: no 412 in %d racing increments: the race was not exercised", acked.Load())
			}
		})
	}
}

// TestCounterIfMatch: an increment that names a version other than the
// counter's gets 412 and changes nothing; naming the current version
// (the ETag of a GET) succeeds.
func TestCounterIfMatch(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Counters = CountersOptimistic })
	key := ts.key("c")
	path := "/counters/" + key
	if r := ts.do(http.MethodPost, path+"/increment", nil); r.code != http.StatusOK {
		t.Fatalf("first increment: %d %s", r.code, r.body)
	}
	got := ts.do(http.MethodGet, path, nil)
	if got.code != http.StatusOK || got.header.Get("ETag") != `"1"` {
		t.Fatalf("GET: %d, ETag %q; want 200 and \"1\"", got.code, got.header.Get("ETag"))
	}
	stale := ts.doWith(http.MethodPost, path+"/increment", http.Header{"If-Match": {`"0"`}})
	if stale.code != http.StatusPreconditionFailed {
		t.Errorf("If-Match \"0\" on version 1: %d, want 412", stale.code)
	}
	current := ts.doWith(http.MethodPost, path+"/increment", http.Header{"If-Match": {got.header.Get("ETag")}})
	if current.code != http.StatusOK || current.header.Get("ETag") != `"2"` {
		t.Errorf("If-Match \"1\" on version 1: %d, ETag %q; want 200 and \"2\"", current.code, current.header.Get("ETag"))
	}
	if v := ts.lab.storedCounter(t, key); v != 2 {
		t.Errorf("stored value %d, want 2", v)
	}
}

// storedCounter reads a counter straight from Postgres.
func (l *lab) storedCounter(tb testing.TB, key string) int64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var v int64
	if err := l.pg.QueryRow(ctx, `SELECT value FROM counters WHERE key = $1`, key).Scan(&v); err != nil {
		tb.Fatalf("counter %s: %v", key, err)
	}
	return v
}
