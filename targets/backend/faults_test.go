package backend

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/env"
)

// within is how long a request may take while a store is cut: its deadline
// plus slack for a loaded machine.
func within(cfg Config) time.Duration { return cfg.DBTimeout + cfg.RedisTimeout + time.Second }

// TestCPRefusesDuringDBCut: in cp, while backend->postgres is cut, misses
// and writes fail fast with 5xx, a cache hit is still the newest
// acknowledged version, no read is ever stale, and everything heals.
func TestCPRefusesDuringDBCut(t *testing.T) {
	for _, kind := range []string{"down", "timeout"} {
		t.Run(kind, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) { c.Cache = CacheAside })
			cached, uncached := ts.key("cached"), ts.key("uncached")
			v1 := ts.put(cached, "v1")
			if r := ts.get(cached); r.code != http.StatusOK || r.version != v1.version {
				t.Fatalf("GET before the cut: %d version %d, want 200 version %d", r.code, r.version, v1.version)
			}
			ts.put(uncached, "u1")

			heal := ts.lab.cut(t, env.LinkBackendPostgres, kind)
			for i := range 5 {
				r := ts.get(uncached)
				if r.code != http.StatusServiceUnavailable || r.source == SourceStale {
					t.Fatalf("GET miss %d during the cut: %d X-Source %q, want 503 and never stale", i, r.code, r.source)
				}
				if r.took > within(ts.s.cfg) {
					t.Errorf("GET miss %d took %s, more than its deadline allows", i, r.took)
				}
			}
			if r := ts.get(cached); r.code != http.StatusOK || r.source != SourceCache || r.version != v1.version {
				t.Errorf("GET hit during the cut: %d X-Source %q version %d, want a consistent cache hit of version %d", r.code, r.source, r.version, v1.version)
			}
			for i := range 4 {
				r := ts.put(cached, fmt.Sprintf("during-%d", i))
				if r.code/100 != 5 {
					t.Fatalf("PUT %d during the cut: %d, want 5xx", i, r.code)
				}
				if kind == "down" && r.code != http.StatusServiceUnavailable {
					t.Errorf("PUT %d with Postgres refusing connections: %d, want 503 (nothing can have been applied)", i, r.code)
				}
				if r.took > within(ts.s.cfg) {
					t.Errorf("PUT %d took %s, more than its deadline allows", i, r.took)
				}
			}
			heal()

			var healed response
			eventually(t, 10*time.Second, "writes succeed after the heal", func() (bool, string) {
				healed = ts.put(cached, "after")
				return healed.code == http.StatusOK, healed.body
			})
			if r := ts.get(cached); r.code != http.StatusOK || r.version != healed.version || r.body != "after" {
				t.Fatalf("GET after the heal: %d %q version %d, want after version %d", r.code, r.body, r.version, healed.version)
			}
			if got := value(t, ts.s.metrics.staleReads); got != 0 {
				t.Errorf("stale reads in cp = %v, want 0", got)
			}
		})
	}
}

// TestAPQueueDuringDBCut: in ap with queued writes, a Postgres cut does not
// stop writes (202), the queue grows, reads answer the last known value
// marked stale, and after the heal the queue drains and Postgres holds every
// acknowledged write.
func TestAPQueueDuringDBCut(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Consistency, c.Writes = ConsistencyAP, WritesQueue })
	keys := []string{ts.key("a"), ts.key("b"), ts.key("c")}
	for _, k := range keys {
		ts.put(k, "before")
	}
	waitDrained(t, ts)

	heal := ts.lab.cut(t, env.LinkBackendPostgres, "down")
	latest := map[string]response{}
	for i := range 24 {
		k := keys[i%len(keys)]
		v := fmt.Sprintf("w%d", i)
		r := ts.put(k, v)
		if r.code != http.StatusAccepted || r.source != SourceQueue {
			t.Fatalf("PUT %d during the cut: %d X-Source %q (%s), want 202 queue", i, r.code, r.source, r.body)
		}
		r.body = v
		latest[k] = r
	}
	eventually(t, 5*time.Second, "queue depth and lag grow", func() (bool, string) {
		d, lag := value(t, ts.s.metrics.queueDepth), value(t, ts.s.metrics.queueLag)
		return d >= 24 && lag > 0, fmt.Sprintf("depth %v lag %v", d, lag)
	})
	for _, k := range keys {
		r := ts.get(k)
		if r.code != http.StatusOK || r.source != SourceStale || r.version != latest[k].version || r.body != latest[k].body {
			t.Errorf("GET %s during the cut: %d X-Source %q %q version %d, want stale %q version %d",
				k, r.code, r.source, r.body, r.version, latest[k].body, latest[k].version)
		}
	}
	if r := ts.get(ts.key("never-written")); r.code != http.StatusServiceUnavailable {
		t.Errorf("GET of a key with no last-known copy during the cut: %d, want 503", r.code)
	}
	if got := value(t, ts.s.metrics.staleReads); got != float64(len(keys)) {
		t.Errorf("stale reads = %v, want %d", got, len(keys))
	}
	heal()

	waitDrained(t, ts)
	for _, k := range keys {
		it, ok := ts.lab.stored(t, k)
		if !ok || it.Version != latest[k].version || string(it.Value) != latest[k].body {
			t.Errorf("postgres %s after the heal: %q version %d, want %q version %d", k, it.Value, it.Version, latest[k].body, latest[k].version)
		}
		if r := ts.get(k); r.source != SourceDB || r.version != latest[k].version {
			t.Errorf("GET %s after the heal: X-Source %q version %d, want db version %d", k, r.source, r.version, latest[k].version)
		}
	}
}

// waitDrained waits until the worker has applied everything queued.
func waitDrained(t *testing.T, ts *testServer) {
	t.Helper()
	eventually(t, 15*time.Second, "queue drains", func() (bool, string) {
		n, err := ts.lab.rdb.XLen(t.Context(), ts.s.StreamKey()).Result()
		return err == nil && n == 0 && value(t, ts.s.metrics.queueDepth) == 0, fmt.Sprintf("xlen %d err %v", n, err)
	})
}

// TestAPSyncFallsBackToQueue: in ap with sync writes, writes go to the
// queue while Postgres is unreachable, also when the link black-holes
// (timeout toxic), and converge after the heal.
func TestAPSyncFallsBackToQueue(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Consistency, c.Cache = ConsistencyAP, CacheAside })
	k := ts.key("k")
	before := ts.put(k, "before")
	if before.code != http.StatusOK || before.source != SourceDB {
		t.Fatalf("PUT before the cut: %d %q", before.code, before.source)
	}
	heal := ts.lab.cut(t, env.LinkBackendPostgres, "timeout")
	var last response
	for i := range 5 {
		last = ts.put(k, fmt.Sprintf("during-%d", i))
		if last.code != http.StatusAccepted || last.source != SourceQueue || last.version <= before.version {
			t.Fatalf("PUT %d during the cut: %d X-Source %q version %d, want 202 queue above %d", i, last.code, last.source, last.version, before.version)
		}
		if last.took > within(ts.s.cfg) {
			t.Errorf("PUT %d took %s", i, last.took)
		}
	}
	if r := ts.get(k); r.code != http.StatusOK || r.source != SourceStale || r.body != "during-4" || r.version != last.version {
		t.Errorf("GET during the cut: %d X-Source %q %q version %d, want stale during-4 version %d", r.code, r.source, r.body, r.version, last.version)
	}
	heal()
	waitDrained(t, ts)
	if it, _ := ts.lab.stored(t, k); it.Version != last.version || string(it.Value) != "during-4" {
		t.Errorf("postgres after the heal: %q version %d, want during-4 version %d", it.Value, it.Version, last.version)
	}
	eventually(t, 5*time.Second, "sync writes resume", func() (bool, string) {
		r := ts.put(k, "after")
		return r.code == http.StatusOK && r.source == SourceDB && r.version > last.version, fmt.Sprint(r.code, r.source, r.version)
	})
}

// TestRedisCut checks what each mode does while backend->redis is down, as
// targets/README.md documents, and that nothing stale is served after.
func TestRedisCut(t *testing.T) {
	cases := []struct {
		name                       string
		cache, writes, consistency string
		putCode                    int // during the cut
		putSource                  string
		putCodeAfter               int
	}{
		{"cp-aside-sync", CacheAside, WritesSync, ConsistencyCP, http.StatusOK, SourceDB, http.StatusOK},
		{"cp-through-sync", CacheWriteThrough, WritesSync, ConsistencyCP, http.StatusOK, SourceDB, http.StatusOK},
		{"cp-through-queue", CacheWriteThrough, WritesQueue, ConsistencyCP, http.StatusServiceUnavailable, "", http.StatusAccepted},
		{"ap-aside-queue", CacheAside, WritesQueue, ConsistencyAP, http.StatusOK, SourceDB, http.StatusAccepted},
		{"ap-none-sync", CacheNone, WritesSync, ConsistencyAP, http.StatusOK, SourceDB, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts := newTestServer(t, func(cfg *Config) { cfg.Cache, cfg.Writes, cfg.Consistency = c.cache, c.writes, c.consistency })
			k := ts.key("k")
			first := ts.put(k, "v1")
			waitDrained(t, ts)
			ts.get(k) // populates the cache
			if r := ts.get(k); c.cache != CacheNone && r.source != SourceCache {
				t.Fatalf("GET before the cut: X-Source %q, want cache", r.source)
			}

			heal := ts.lab.cut(t, env.LinkBackendRedis, "down")
			r := ts.put(k, "v2")
			for i := 0; c.putCode == http.StatusServiceUnavailable && r.code/100 == 5 && r.code != c.putCode && i < 3; i++ {
				// A command sent on a pooled connection the cut has just
				// closed has an unknown outcome (500/504); once the pool
				// knows, writes are refused (503).
				r = ts.put(k, "v2")
			}
			if r.code != c.putCode || r.source != c.putSource {
				t.Fatalf("PUT during the Redis cut: %d X-Source %q (%s), want %d %q", r.code, r.source, r.body, c.putCode, c.putSource)
			}
			want := first
			want.body = "v1"
			if r.code == http.StatusOK {
				want, want.body = r, "v2"
			}
			for i := range 3 {
				g := ts.get(k)
				if g.code != http.StatusOK || g.source != SourceDB || g.version != want.version || g.body != want.body {
					t.Fatalf("GET %d during the Redis cut: %d X-Source %q %q version %d, want db %q version %d",
						i, g.code, g.source, g.body, g.version, want.body, want.version)
				}
				if g.took > within(ts.s.cfg) {
					t.Errorf("GET %d took %s", i, g.took)
				}
			}
			heal()

			// The entry cached before the cut must never come back.
			eventually(t, 5*time.Second, "reads use the cache again", func() (bool, string) {
				g := ts.get(k)
				if g.version != want.version || g.body != want.body {
					t.Fatalf("GET after the heal: %q version %d, want %q version %d (stale cache entry)", g.body, g.version, want.body, want.version)
				}
				return c.cache == CacheNone || g.source == SourceCache, g.source
			})
			eventually(t, 5*time.Second, "writes use their normal path again", func() (bool, string) {
				r := ts.put(k, "v3")
				return r.code == c.putCodeAfter, fmt.Sprint(r.code, " ", r.body)
			})
			waitDrained(t, ts)
		})
	}
}

// TestAPWritesAcrossAPartitionConverge writes to a few keys from several
// goroutines while Postgres is cut and healed under them, so that some
// writes go straight to Postgres and some through the queue; afterwards
// every key holds its highest acknowledged version.
func TestAPWritesAcrossAPartitionConverge(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Consistency, c.Cache = ConsistencyAP, CacheWriteThrough })
	keys := []string{ts.key("a"), ts.key("b")}
	acks := make(chan response, 1000)
	stop := make(chan struct{})
	done := make(chan struct{})
	for g := range 3 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 300; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := keys[(g+i)%len(keys)]
				v := fmt.Sprintf("g%d-%d", g, i)
				r := ts.put(k, v)
				if r.code/100 == 2 {
					r.body = k + "=" + v
					acks <- r
				}
				time.Sleep(5 * time.Millisecond) // pace the writers
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // let writes go to Postgres first
	heal := ts.lab.cut(t, env.LinkBackendPostgres, "down")
	time.Sleep(700 * time.Millisecond) // writes during the cut go to the queue
	heal()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	for range 3 {
		<-done
	}
	close(acks)
	highest := map[string]response{}
	seen := map[string]map[int64]bool{}
	sources := map[string]int{}
	for r := range acks {
		k, _, _ := strings.Cut(r.body, "=")
		if seen[k] == nil {
			seen[k] = map[int64]bool{}
		}
		if seen[k][r.version] {
			t.Errorf("%s: version %d acknowledged twice", k, r.version)
		}
		seen[k][r.version] = true
		sources[r.source]++
		if r.version > highest[k].version {
			highest[k] = r
		}
	}
	if sources[SourceDB] == 0 || sources[SourceQueue] == 0 {
		t.Fatalf("acknowledged writes by source %v: want both db and queue", sources)
	}
	waitDrained(t, ts)
	for _, k := range keys {
		it, _ := ts.lab.stored(t, k)
		_, want, _ := strings.Cut(highest[k].body, "=")
		if it.Version != highest[k].version || string(it.Value) != want {
			t.Errorf("postgres %s: %q version %d, want the highest acknowledged %q version %d", k, it.Value, it.Version, want, highest[k].version)
		}
		if r := ts.get(k); r.version != highest[k].version {
			t.Errorf("GET %s: version %d, want %d", k, r.version, highest[k].version)
		}
	}
	t.Logf("acknowledged writes by source: %v", sources)
}
