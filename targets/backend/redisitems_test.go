package backend

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestRedisAsPrimaryStore: with store=redis, items live in Redis alone
// (versions 1, 2, 3..., nothing in Postgres), the backend sets its
// persistence policy on Redis, and a cut Redis is an outage, not a
// fallback.
func TestRedisAsPrimaryStore(t *testing.T) {
	for _, policy := range []struct{ name, appendonly, appendfsync string }{
		{PersistenceAlways, "yes", "always"},
		{PersistenceNone, "no", "everysec"},
	} {
		t.Run(policy.name, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) {
				c.Store = StoreRedis
				c.RedisPersistence = policy.name
			})
			l := ts.lab
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			t.Cleanup(func() { // the shared lab's Redis back as the harness starts it
				l.rdb.Do(context.Background(), "CONFIG", "SET", "appendonly", "yes", "appendfsync", "everysec")
			})

			k := ts.key("k")
			for i, v := range []string{"first", "second"} {
				if r := ts.put(k, v); r.code != http.StatusOK || r.version != int64(i+1) {
					t.Fatalf("PUT %s: %d version %d, want 200 version %d: %s", v, r.code, r.version, i+1, r.body)
				}
			}
			if r := ts.get(k); r.code != http.StatusOK || r.body != "second" || r.version != 2 {
				t.Fatalf("GET: %d %q version %d, want 200 \"second\" version 2", r.code, r.body, r.version)
			}
			if _, found := l.stored(t, k); found {
				t.Error("the item is in Postgres; store=redis keeps it in Redis only")
			}
			h, err := l.rdb.HGetAll(ctx, ts.s.redis.itemKey(k)).Result()
			if err != nil || h["v"] != "2" || h["d"] != "second" {
				t.Errorf("Redis holds %v (%v), want v=2 d=second", h, err)
			}
			got, err := l.rdb.ConfigGet(ctx, "append*").Result()
			if err != nil || got["appendonly"] != policy.appendonly || got["appendfsync"] != policy.appendfsync {
				t.Errorf("Redis persistence %v (%v), want appendonly %s appendfsync %s", got, err, policy.appendonly, policy.appendfsync)
			}

			heal := l.cut(t, "backend->redis", "down")
			defer heal()
			if r := ts.get(k); r.code != http.StatusServiceUnavailable {
				t.Errorf("GET with Redis cut: %d, want 503: %s", r.code, r.body)
			}
			if r := ts.put(k, "third"); r.code/100 != 5 {
				t.Errorf("PUT with Redis cut: %d, want a 5xx: %s", r.code, r.body)
			}
		})
	}
}
