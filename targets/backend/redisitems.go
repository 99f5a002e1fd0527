package backend

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// itemStore is where items live: Postgres (pgStore, the default) or Redis
// itself (store=redis).
type itemStore interface {
	// get reads one item; found is false when the key was never written.
	get(ctx context.Context, key string) (it Item, found bool, err error)
	// put writes synchronously and returns the version the write got, at
	// least floor.
	put(ctx context.Context, key string, value []byte, floor int64) (version int64, err error)
}

// putItemScript numbers an item's versions 1, 2, 3... (never below the
// floor) and stores the value with its version in one step.
// KEYS = item; ARGV = data, floor. Returns the version.
var putItemScript = redis.NewScript(`
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
local floor = tonumber(ARGV[2])
if v < floor then
  v = floor
end
redis.call('HSET', KEYS[1], 'v', string.format('%d', v), 'd', ARGV[1])
return v
`)

// redisItems keeps items in Redis hashes (v version, d data), with no
// expiry: Redis as the primary store, as durable as its persistence.
type redisItems struct{ r *redisStore }

func (r *redisStore) itemKey(key string) string { return r.prefix + ":i:" + key }

func (s redisItems) get(ctx context.Context, key string) (Item, bool, error) {
	var vals []any
	err := s.r.call(ctx, "item_get", 0, func(ctx context.Context) error {
		var err error
		vals, err = s.r.client.HMGet(ctx, s.r.itemKey(key), "v", "d").Result()
		return err
	})
	if err != nil {
		return Item{}, false, err
	}
	version, ok := vals[0].(string)
	if !ok {
		return Item{}, false, nil
	}
	v, err := strconv.ParseInt(version, 10, 64)
	if err != nil {
		return Item{}, false, fmt.Errorf("backend: item %s: version %q: %w", key, version, err)
	}
	data, _ := vals[1].(string)
	return Item{Value: []byte(data), Version: v}, true, nil
}

func (s redisItems) put(ctx context.Context, key string, value []byte, floor int64) (int64, error) {
	var v int64
	err := s.r.call(ctx, "item_put", 0, func(ctx context.Context) error {
		var err error
		v, err = putItemScript.Run(ctx, s.r.client, []string{s.r.itemKey(key)}, value, floor).Int64()
		return err
	})
	return v, err
}

// persistenceArgs is the CONFIG SET that gives Redis a redis_persistence
// policy; nil for an empty one.
func persistenceArgs(policy string) []any {
	switch policy {
	case PersistenceNone:
		return []any{"CONFIG", "SET", "appendonly", "no"}
	case PersistenceEverysec, PersistenceAlways:
		return []any{"CONFIG", "SET", "appendonly", "yes", "appendfsync", policy}
	}
	return nil
}
