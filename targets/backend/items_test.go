package backend

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// modes is every combination the round-trip test covers.
var modes = []struct {
	name                                 string
	cache, stampede, writes, consistency string
}{
	{"cp-none-sync", CacheNone, StampedeNone, WritesSync, ConsistencyCP},
	{"cp-aside-sync", CacheAside, StampedeNone, WritesSync, ConsistencyCP},
	{"cp-aside-singleflight", CacheAside, StampedeSingleflight, WritesSync, ConsistencyCP},
	{"cp-aside-early", CacheAside, StampedeEarlyRefresh, WritesSync, ConsistencyCP},
	{"cp-through-sync", CacheWriteThrough, StampedeNone, WritesSync, ConsistencyCP},
	{"cp-none-queue", CacheNone, StampedeNone, WritesQueue, ConsistencyCP},
	{"cp-through-queue", CacheWriteThrough, StampedeNone, WritesQueue, ConsistencyCP},
	{"ap-none-sync", CacheNone, StampedeNone, WritesSync, ConsistencyAP},
	{"ap-aside-queue", CacheAside, StampedeNone, WritesQueue, ConsistencyAP},
	{"ap-through-queue", CacheWriteThrough, StampedeSingleflight, WritesQueue, ConsistencyAP},
}

// TestItemsRoundTrip writes and reads keys in every mode and checks codes,
// versions, sources and what Postgres ends up holding.
func TestItemsRoundTrip(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) {
				c.Cache, c.Stampede, c.Writes, c.Consistency = m.cache, m.stampede, m.writes, m.consistency
			})
			k := ts.key("a")
			if r := ts.get(k); r.code != http.StatusNotFound || r.header.Get("X-Version") != "0" {
				t.Fatalf("GET unwritten key: %d X-Version %q, want 404 and 0", r.code, r.header.Get("X-Version"))
			}
			wantCode, wantSource := http.StatusOK, SourceDB
			if m.writes == WritesQueue {
				wantCode, wantSource = http.StatusAccepted, SourceQueue
			}
			var last int64
			for i, v := range []string{"one", "two", "three"} {
				r := ts.put(k, v)
				if r.code != wantCode || r.source != wantSource {
					t.Fatalf("PUT %d: %d X-Source %q (%s), want %d %q", i, r.code, r.source, r.body, wantCode, wantSource)
				}
				if r.version <= last {
					t.Fatalf("PUT %d: version %d after %d: versions must increase", i, r.version, last)
				}
				last = r.version
			}
			if m.writes == WritesSync && m.consistency == ConsistencyCP && last != 3 {
				t.Errorf("cp+sync versions: last is %d, want 3 (1, 2, 3)", last)
			}
			// Queued writes converge; then reads see the last one.
			eventually(t, 5*time.Second, "postgres holds the last write", func() (bool, string) {
				it, ok := ts.lab.stored(t, k)
				return ok && it.Version == last && string(it.Value) == "three", string(it.Value)
			})
			for i := range 2 {
				r := ts.get(k)
				if r.code != http.StatusOK || r.body != "three" || r.version != last {
					t.Fatalf("GET %d: %d %q version %d, want 200 three version %d", i, r.code, r.body, r.version, last)
				}
				if m.cache == CacheNone && r.source != SourceDB {
					t.Errorf("GET %d without cache: X-Source %q, want db", i, r.source)
				}
				if m.cache != CacheNone && i == 1 && r.source != SourceCache {
					t.Errorf("second GET with cache %s: X-Source %q, want cache", m.cache, r.source)
				}
			}
			if m.cache != CacheNone {
				if hits := value(t, ts.s.metrics.cacheHits); hits < 1 {
					t.Errorf("cache hits = %v, want >= 1", hits)
				}
			}
			if m.writes == WritesQueue {
				eventually(t, 3*time.Second, "queue depth back to 0", func() (bool, string) {
					d := value(t, ts.s.metrics.queueDepth)
					return d == 0, strings.TrimSpace(strings.Repeat("x", int(d)))
				})
				if got := value(t, ts.s.metrics.writesAccepted.WithLabelValues(WritesQueue)); got != 3 {
					t.Errorf("writes accepted (queue) = %v, want 3", got)
				}
			}
			if got := value(t, ts.s.metrics.writesApplied); got != 3 {
				t.Errorf("writes applied = %v, want 3", got)
			}
		})
	}
}

// TestHandlerDelay plants a fixed service time on GETs: every GET takes at
// least that long (a timer never fires early), whatever the machine's load.
func TestHandlerDelay(t *testing.T) {
	const delay = 30 * time.Millisecond
	ts := newTestServer(t, func(c *Config) { c.HandlerDelay = delay })
	k := ts.key("slow")
	if r := ts.put(k, "v"); r.code != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.code, r.body)
	}
	for range 5 {
		if r := ts.get(k); r.code != http.StatusOK || r.took < delay {
			t.Errorf("GET with handler_delay %s: %d in %s, want 200 in at least the delay", delay, r.code, r.took)
		}
	}
}
