package backend

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// updatedAt reads a key's updated_at, which changes whenever a write takes
// effect: an unchanged value proves a redelivery had no effect.
func (l *lab) updatedAt(t *testing.T, key string) time.Time {
	t.Helper()
	var at time.Time
	if err := l.pg.QueryRow(t.Context(), "SELECT updated_at FROM items WHERE key = $1", key).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}

// TestRedeliveredWriteAppliesOnce adds an already applied write to the
// stream again (what a lost XACK or a crash before it causes) and an older
// one: neither changes Postgres.
func TestRedeliveredWriteAppliesOnce(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Writes = WritesQueue })
	k := ts.key("k")
	first := ts.put(k, "first")
	second := ts.put(k, "second")
	waitDrained(t, ts)
	at := ts.lab.updatedAt(t, k)
	applied := value(t, ts.s.metrics.writesApplied)

	for _, w := range []response{second, first} { // the same version, then an older one
		body := map[int64]string{first.version: "first", second.version: "second"}[w.version]
		err := ts.lab.rdb.XAdd(t.Context(), &redis.XAddArgs{
			Stream: ts.s.StreamKey(),
			Values: []any{"key", k, "version", strconv.FormatInt(w.version, 10), "value", body},
		}).Err()
		if err != nil {
			t.Fatal(err)
		}
	}
	waitDrained(t, ts)
	if it, _ := ts.lab.stored(t, k); it.Version != second.version || string(it.Value) != "second" {
		t.Fatalf("after redelivery: %q version %d, want second version %d", it.Value, it.Version, second.version)
	}
	if got := ts.lab.updatedAt(t, k); !got.Equal(at) {
		t.Errorf("updated_at moved from %s to %s: a redelivered write took effect again", at, got)
	}
	if got := value(t, ts.s.metrics.writesApplied); got != applied {
		t.Errorf("writes applied went from %v to %v on redelivery", applied, got)
	}
	// Apply, as exported for tests and tools, agrees.
	ok, err := ts.s.Apply(t.Context(), QueuedWrite{Key: k, Version: second.version, Value: []byte("second")})
	if err != nil || ok {
		t.Errorf("Apply of an applied write: applied=%v err=%v, want false, nil", ok, err)
	}
}

// TestWorkerClaimsStalePending leaves a write pending on a consumer that
// "crashed" after reading it; the worker claims it after queue_claim_idle
// and applies it.
func TestWorkerClaimsStalePending(t *testing.T) {
	l := getLab(t)
	prefix := fmt.Sprintf("claim-%d", time.Now().UnixNano())
	cfg := l.testConfig(prefix)
	cfg.Writes = WritesQueue
	cfg.QueueClaimIdle = 300 * time.Millisecond
	k := prefix + ".k"
	stream := cfg.RedisPrefix + ":writes"
	ctx := t.Context()
	if err := l.rdb.XGroupCreateMkStream(ctx, stream, StreamGroup, "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := l.rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"key", k, "version", "7", "value", "orphan"}}).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := l.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: StreamGroup, Consumer: "crashed", Streams: []string{stream, ">"}, Count: 10, Block: -1}).Result()
	if err != nil || len(got) != 1 || len(got[0].Messages) != 1 {
		t.Fatalf("reading as the crashing consumer: %v %v", got, err)
	}
	ts := startTestServer(t, l, cfg, prefix)
	eventually(t, 10*time.Second, "the orphaned write is applied", func() (bool, string) {
		it, ok := l.stored(t, k)
		return ok && it.Version == 7 && string(it.Value) == "orphan", fmt.Sprint(it.Version)
	})
	waitDrained(t, ts)
	pending, err := l.rdb.XPending(ctx, stream, StreamGroup).Result()
	if err != nil || pending.Count != 0 {
		t.Errorf("pending after the claim: %+v %v, want none", pending, err)
	}
}

// TestConcurrentWritersKeepHighestVersion: writers racing on one key get
// distinct versions, and the store (and cache) end at the highest one
// acknowledged, with its value.
func TestConcurrentWritersKeepHighestVersion(t *testing.T) {
	for _, m := range []struct{ name, cache, writes, consistency string }{
		{"cp-aside-sync", CacheAside, WritesSync, ConsistencyCP},
		{"cp-through-queue", CacheWriteThrough, WritesQueue, ConsistencyCP},
		{"ap-through-sync", CacheWriteThrough, WritesSync, ConsistencyAP},
	} {
		t.Run(m.name, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) { c.Cache, c.Writes, c.Consistency = m.cache, m.writes, m.consistency })
			k := ts.key("hot")
			const writers, each = 6, 15
			acks := make(chan response, writers*each)
			done := make(chan struct{})
			for g := range writers {
				go func() {
					defer func() { done <- struct{}{} }()
					for i := range each {
						v := fmt.Sprintf("g%d-%d", g, i)
						if r := ts.put(k, v); r.code/100 == 2 {
							r.body = v
							acks <- r
						}
						if i%3 == 0 {
							ts.get(k) // populate races with invalidation
						}
					}
				}()
			}
			for range writers {
				<-done
			}
			close(acks)
			var highest response
			versions := map[int64]bool{}
			for r := range acks {
				if versions[r.version] {
					t.Errorf("version %d acknowledged twice", r.version)
				}
				versions[r.version] = true
				if r.version > highest.version {
					highest = r
				}
			}
			if len(versions) != writers*each {
				t.Fatalf("%d writes acknowledged, want %d", len(versions), writers*each)
			}
			waitDrained(t, ts)
			if it, _ := ts.lab.stored(t, k); it.Version != highest.version || string(it.Value) != highest.body {
				t.Errorf("postgres: %q version %d, want %q version %d", it.Value, it.Version, highest.body, highest.version)
			}
			for range 2 {
				if r := ts.get(k); r.version != highest.version || r.body != highest.body {
					t.Errorf("GET (%s): %q version %d, want %q version %d", r.source, r.body, r.version, highest.body, highest.version)
				}
			}
		})
	}
}

// TestLatePopulateCannotOverwriteNewerVersion plays the read-populate vs
// invalidate race by hand: a reader that loaded version 1 before a write
// committed version 2 populates after the write's invalidation. The cache
// must refuse it.
func TestLatePopulateCannotOverwriteNewerVersion(t *testing.T) {
	for _, cache := range []string{CacheAside, CacheWriteThrough} {
		t.Run(cache, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) { c.Cache = cache })
			k := ts.key("k")
			v1 := ts.put(k, "one")
			epoch := ts.s.redis.epoch.Load() // the slow reader read the epoch and then version 1
			v2 := ts.put(k, "two")
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			late := []target{{rkey: ts.s.redis.cacheKey(epoch, k), ttl: time.Minute}}
			if err := ts.s.redis.set(ctx, "cache_set", Item{Value: []byte("one"), Version: v1.version}, late); err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				if r := ts.get(k); r.code != http.StatusOK || r.version != v2.version || r.body != "two" {
					t.Fatalf("GET %d: %d %q version %d (%s), want two version %d", i, r.code, r.body, r.version, r.source, v2.version)
				}
			}
		})
	}
}
