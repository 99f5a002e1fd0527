package backend

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// lastKnownTTL is how long an ap-mode last-known copy survives without
// being refreshed: far longer than any cache entry or partition.
const lastKnownTTL = 24 * time.Hour

// minTombstoneTTL bounds how long an invalidation marker must outlive the
// slowest reader that could still try to populate an older version.
const minTombstoneTTL = 10 * time.Second

// versionedSetLua stores (version, data) under each key unless the key holds
// a newer version, or the same version with a value. An invalidation is a
// tombstone that carries the new version instead of deleting the entry:
// a reader that loaded an older row before the write committed and tries to
// populate afterwards is refused, because its version is lower. A value of
// the tombstone's version may replace it (the next reader's populate).
//
// Hash fields: v version, d data, t tombstone (0/1), e expiry (unix ms, for
// early refresh), c cost of the load that produced it (ms).
const versionedSetLua = `
local function vset(key, v, data, nowms, ttl, tomb, cost)
  local cur = redis.call('HGET', key, 'v')
  if cur then
    cur = tonumber(cur)
    if v < cur then return 0 end
    if v == cur and (tomb == '1' or redis.call('HGET', key, 't') ~= '1') then return 0 end
  end
  redis.call('HSET', key, 'v', string.format('%d', v), 'd', data, 't', tomb,
    'e', string.format('%d', nowms + tonumber(ttl)), 'c', cost)
  redis.call('PEXPIRE', key, ttl)
  return 1
end
`

// setScript: KEYS = entries; ARGV = version, data, now_ms, then per key:
// ttl_ms, tombstone, cost_ms. Returns how many keys were set.
var setScript = redis.NewScript(versionedSetLua + `
local v, data, nowms = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local n = 0
for i = 1, #KEYS do
  local a = 3 + (i - 1) * 3
  n = n + vset(KEYS[i], v, data, nowms, ARGV[a + 1], ARGV[a + 2], ARGV[a + 3])
end
return n
`)

// enqueueScript allocates the write's version and appends it to the stream
// in one atomic step, so stream order and version order agree per key, then
// updates the entries in KEYS[3..] like setScript.
// KEYS = counter, stream, entries...; ARGV = floor, item key, data, now_ms,
// counter_ttl_ms, then per entry: ttl_ms, tombstone, cost_ms. Returns the version.
var enqueueScript = redis.NewScript(versionedSetLua + `
local v = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if v < floor then
  v = floor
  redis.call('SET', KEYS[1], string.format('%d', v))
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('XADD', KEYS[2], '*', 'key', ARGV[2], 'version', string.format('%d', v), 'value', ARGV[3])
local nowms = tonumber(ARGV[4])
for i = 3, #KEYS do
  local a = 5 + (i - 3) * 3
  vset(KEYS[i], v, ARGV[3], nowms, ARGV[a + 1], ARGV[a + 2], ARGV[a + 3])
end
return v
`)

// redisStore is the Redis side: cache entries, last-known copies, version
// counters and the write stream, each call under a deadline and a breaker.
type redisStore struct {
	client  *redis.Client
	timeout time.Duration
	breaker *breaker
	errors  *prometheus.CounterVec // by op
	prefix  string

	// epoch names the current generation of cache entries. When a write
	// cannot update or invalidate its cache entry (Redis unreachable), the
	// epoch moves on and every older entry becomes unreachable, so no cache
	// hit can be older than an acknowledged write. It starts from the clock
	// so a restarted process never trusts entries of its predecessor.
	epoch atomic.Int64
}

func newRedisStore(cfg Config, errs *prometheus.CounterVec) *redisStore {
	var onConnect func(context.Context, *redis.Conn) error
	if args := persistenceArgs(cfg.RedisPersistence); args != nil {
		// On every connection, not once: a Redis that crashed and restarted
		// comes back with the policy it was started with.
		onConnect = func(ctx context.Context, cn *redis.Conn) error {
			if err := cn.Do(ctx, args...).Err(); err != nil {
				return fmt.Errorf("backend: redis_persistence=%s: %w", cfg.RedisPersistence, err)
			}
			return nil
		}
	}
	client := redis.NewClient(&redis.Options{
		OnConnect:             onConnect,
		Addr:                  cfg.RedisAddr,
		ContextTimeoutEnabled: true, // the per-call deadlines are the timeouts
		MaxRetries:            -1,   // a retried script could queue a write twice
		DialTimeout:           max(cfg.RedisTimeout, time.Second),
		DialerRetries:         1,
		ReadTimeout:           max(cfg.RedisTimeout, time.Second),
		WriteTimeout:          max(cfg.RedisTimeout, time.Second),
		DisableIdentity:       true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	})
	r := &redisStore{
		client:  client,
		timeout: cfg.RedisTimeout,
		breaker: newBreaker(cfg.BreakerThreshold, cfg.BreakerCooldown),
		errors:  errs,
		prefix:  cfg.RedisPrefix,
	}
	r.epoch.Store(time.Now().UnixNano())
	return r
}

func (r *redisStore) cacheKey(epoch int64, key string) string {
	return r.prefix + ":c:" + strconv.FormatInt(epoch, 36) + ":" + key
}
func (r *redisStore) lastKey(key string) string    { return r.prefix + ":l:" + key }
func (r *redisStore) counterKey(key string) string { return r.prefix + ":v:" + key }
func (r *redisStore) streamKey() string            { return r.prefix + ":writes" }

// bumpEpoch abandons every cache entry written so far.
func (r *redisStore) bumpEpoch() { r.epoch.Add(1) }

// call runs fn under the store's deadline (plus extra, for blocking
// commands) through the breaker, and classifies its error.
func (r *redisStore) call(ctx context.Context, op string, extra time.Duration, fn func(ctx context.Context) error) error {
	if !r.breaker.allow() {
		r.errors.WithLabelValues(op).Inc()
		return &unavailableError{store: "redis", op: op, err: errMarkedDown}
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout+extra)
	defer cancel()
	err := fn(cctx)
	if err == nil || errors.Is(err, redis.Nil) {
		r.breaker.success()
		return err
	}
	err = classifyRedis(op, err)
	if ctx.Err() != nil {
		return err
	}
	r.errors.WithLabelValues(op).Inc()
	if isUnavailable(err) {
		r.breaker.failure()
	} else {
		r.breaker.success()
	}
	return err
}

// entry is a cache entry or last-known copy as read from Redis.
type entry struct {
	found   bool
	tomb    bool // an invalidation marker: the key has a newer version than any cached value
	item    Item
	expires time.Time     // when the entry's TTL ends (cache entries)
	cost    time.Duration // how long the load that produced it took
}

// get reads one entry.
func (r *redisStore) get(ctx context.Context, op, rkey string) (entry, error) {
	var vals []any
	err := r.call(ctx, op, 0, func(ctx context.Context) error {
		var err error
		vals, err = r.client.HMGet(ctx, rkey, "v", "d", "t", "e", "c").Result()
		return err
	})
	if err != nil {
		return entry{}, err
	}
	version, ok := vals[0].(string)
	if !ok {
		return entry{}, nil
	}
	var e entry
	e.found = true
	if e.item.Version, err = strconv.ParseInt(version, 10, 64); err != nil {
		return entry{}, fmt.Errorf("backend: entry %s: version %q: %w", rkey, version, err)
	}
	data, _ := vals[1].(string)
	e.item.Value = []byte(data)
	e.tomb = vals[2] == "1"
	if s, ok := vals[3].(string); ok {
		ms, _ := strconv.ParseInt(s, 10, 64)
		e.expires = time.UnixMilli(ms)
	}
	if s, ok := vals[4].(string); ok {
		ms, _ := strconv.ParseFloat(s, 64)
		e.cost = time.Duration(ms * float64(time.Millisecond))
	}
	return e, nil
}

// target is one entry a versioned set writes.
type target struct {
	rkey string
	ttl  time.Duration
	tomb bool
	cost time.Duration
}

func appendTargetArgs(args []any, ts []target) []any {
	for _, t := range ts {
		tomb := "0"
		if t.tomb {
			tomb = "1"
		}
		args = append(args, max(t.ttl.Milliseconds(), 1), tomb,
			strconv.FormatFloat(float64(t.cost)/float64(time.Millisecond), 'f', 3, 64))
	}
	return args
}

// set writes (version, data) to every target that does not hold a newer version.
func (r *redisStore) set(ctx context.Context, op string, it Item, ts []target) error {
	if len(ts) == 0 {
		return nil
	}
	keys := make([]string, len(ts))
	for i, t := range ts {
		keys[i] = t.rkey
	}
	args := appendTargetArgs([]any{it.Version, it.Value, time.Now().UnixMilli()}, ts)
	return r.call(ctx, op, 0, func(ctx context.Context) error {
		return setScript.Run(ctx, r.client, keys, args...).Err()
	})
}

// warm loads the scripts and opens a first connection, so that the first
// requests do not pay for them under their short deadlines. Best effort:
// Redis may well be down at start.
func (r *redisStore) warm(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, max(2*time.Second, r.timeout))
	defer cancel()
	for _, s := range []*redis.Script{setScript, enqueueScript, putItemScript} {
		if err := s.Load(ctx, r.client).Err(); err != nil {
			return fmt.Errorf("backend: redis: loading scripts: %w", err)
		}
	}
	return nil
}

func (r *redisStore) close() error { return r.client.Close() }
