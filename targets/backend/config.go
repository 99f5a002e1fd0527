package backend

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Cache modes.
const (
	CacheNone         = "none"
	CacheAside        = "cache-aside"
	CacheWriteThrough = "write-through"
)

// Stampede protections for cache misses.
const (
	StampedeNone         = "none"
	StampedeSingleflight = "singleflight"
	StampedeEarlyRefresh = "early-refresh"
)

// Write modes.
const (
	WritesSync  = "sync"
	WritesQueue = "queue"
)

// Item stores: where GET and PUT /items read and write.
const (
	StorePostgres = "postgres"
	StoreRedis    = "redis"
)

// Redis persistence policies the backend asks of its Redis (redis_persistence).
const (
	PersistenceNone     = "none"     // appendonly no: a restart starts empty
	PersistenceEverysec = "everysec" // appendonly yes, appendfsync everysec
	PersistenceAlways   = "always"   // appendonly yes, appendfsync always
)

// Consistency modes.
const (
	ConsistencyCP = "cp"
	ConsistencyAP = "ap"
)

// EnvPrefix prefixes the environment variable of every setting:
// cache_ttl is read from BACKEND_CACHE_TTL.
const EnvPrefix = "BACKEND_"

// Config is the backend's whole configuration. Every field is a setting with
// a flag (--name) and an environment variable (BACKEND_NAME); flags win over
// the environment, which wins over the defaults.
type Config struct {
	Addr         string        // addr: listen address of the HTTP server
	DatabaseURL  string        // database_url: Postgres connection string (pgx; pool_max_conns=N is honoured)
	RedisAddr    string        // redis_addr: host:port of Redis; required by caches, the queue and ap
	Cache        string        // cache: none, cache-aside, write-through
	CacheTTL     time.Duration // cache_ttl: lifetime of a cache entry
	Stampede     string        // stampede: none, singleflight, early-refresh (needs a cache)
	Writes       string        // writes: sync, queue
	Consistency  string        // consistency: cp, ap
	RateLimit    float64       // rate_limit: item requests per second, 0 = off
	MaxInflight  int           // max_inflight: concurrent item requests, 0 = off
	DBTimeout    time.Duration // db_timeout: deadline of every Postgres call
	RedisTimeout time.Duration // redis_timeout: deadline of every Redis call
	MaxBody      int64         // max_body: largest accepted PUT body in bytes
	DBPool       int           // db_pool: Postgres connections at most, 0 = 16 (or pool_max_conns of database_url)
	Counters     string        // counters: how POST /counters/{key}/increment adds one: atomic, for-update, optimistic, rmw
	ETags        bool          // etags: item GETs send ETag and answer If-None-Match with 304 Not Modified
	MaxAge       time.Duration // max_age: Cache-Control: max-age of item GETs, 0 = no header
	// Store (store) is where items live: postgres (the default) or redis,
	// Redis as the primary store (sync writes, no cache, cp only).
	Store string
	// RedisPersistence (redis_persistence) is the persistence the backend
	// sets on its Redis on every connection: none, everysec or always;
	// empty leaves Redis as it is. The harness's Redis starts with its
	// append-only file on, so that one a kill fault restarts reloads it.
	RedisPersistence string
	// Auth (auth) is how item requests authenticate: none, hs256 or eddsa
	// (a signed JWT, verified locally) or session (an opaque token looked
	// up in Redis on every request). Tokens come from POST /auth/login.
	Auth string
	// AuthTTL (auth_ttl) is how long a token is valid.
	AuthTTL time.Duration
	// SynchronousCommit (synchronous_commit) is Postgres's setting for the
	// backend's sessions: on waits for the commit's WAL to be flushed
	// before acknowledging a write; off acknowledges first, and a crash of
	// Postgres loses the last fraction of a second of acknowledged writes.
	SynchronousCommit string
	// HandlerDelay (handler_delay) is a fixed service time added to every
	// GET of an item, 0 = off. A teaching knob: plant a known slowdown and
	// see how large it must be before a gate can tell (make calibrate).
	HandlerDelay time.Duration
	// DBHold (db_hold) makes every Postgres call hold its pooled
	// connection at least this long, 0 = off: a stand-in for a heavier
	// query, so that the backend's capacity is db_pool ÷ db_hold requests
	// per second, low enough for a laptop to overload on purpose.
	DBHold time.Duration

	// Settings beyond the contract's list; the defaults suit the lab.
	StartupTimeout   time.Duration // startup_timeout: how long Start retries Postgres
	BreakerThreshold int           // breaker_threshold: consecutive failures that mark a store down, 0 = no breaker
	BreakerCooldown  time.Duration // breaker_cooldown: how often a down store is probed
	QueueClaimIdle   time.Duration // queue_claim_idle: pending writes idle this long are claimed by the worker
	RedisPrefix      string        // redis_prefix: prefix of every Redis key the backend uses

	// QueuePollInterval is how often queue depth and lag are measured.
	// Not a setting: tests shorten it.
	QueuePollInterval time.Duration
}

// DefaultConfig returns the defaults of every setting.
func DefaultConfig() Config {
	return Config{
		Addr:              ":8080",
		Cache:             CacheNone,
		CacheTTL:          30 * time.Second,
		Stampede:          StampedeNone,
		Writes:            WritesSync,
		Consistency:       ConsistencyCP,
		Counters:          CountersAtomic,
		Store:             StorePostgres,
		Auth:              AuthNone,
		AuthTTL:           5 * time.Minute,
		SynchronousCommit: "on",
		DBTimeout:         500 * time.Millisecond,
		RedisTimeout:      200 * time.Millisecond,
		MaxBody:           64 << 10,
		StartupTimeout:    60 * time.Second,
		BreakerThreshold:  3,
		BreakerCooldown:   time.Second,
		QueueClaimIdle:    5 * time.Second,
		RedisPrefix:       "loadlab",
		QueuePollInterval: 500 * time.Millisecond,
	}
}

// setting binds one configuration name to a Config field.
type setting struct {
	name  string
	usage string
	value flag.Value
}

func (c *Config) settings() []setting {
	return []setting{
		{"addr", "listen address", (*stringValue)(&c.Addr)},
		{"database_url", "Postgres connection string", (*stringValue)(&c.DatabaseURL)},
		{"redis_addr", "Redis host:port (needed by caches, writes=queue and consistency=ap)", (*stringValue)(&c.RedisAddr)},
		{"cache", "none | cache-aside | write-through", (*stringValue)(&c.Cache)},
		{"cache_ttl", "lifetime of a cache entry", (*durationValue)(&c.CacheTTL)},
		{"stampede", "none | singleflight | early-refresh", (*stringValue)(&c.Stampede)},
		{"writes", "sync | queue", (*stringValue)(&c.Writes)},
		{"consistency", "cp | ap", (*stringValue)(&c.Consistency)},
		{"rate_limit", "item requests per second, 0 = off", (*floatValue)(&c.RateLimit)},
		{"max_inflight", "concurrent item requests, 0 = off", (*intValue)(&c.MaxInflight)},
		{"db_timeout", "deadline of every Postgres call", (*durationValue)(&c.DBTimeout)},
		{"redis_timeout", "deadline of every Redis call", (*durationValue)(&c.RedisTimeout)},
		{"max_body", "largest PUT body in bytes", (*int64Value)(&c.MaxBody)},
		{"db_pool", "Postgres connections at most, 0 = 16 or pool_max_conns of database_url", (*intValue)(&c.DBPool)},
		{"counters", "atomic | for-update | optimistic | rmw: how a counter increment adds one", (*stringValue)(&c.Counters)},
		{"etags", "true: item GETs send ETag and answer If-None-Match with 304", (*boolValue)(&c.ETags)},
		{"store", "postgres | redis: where items live (redis: Redis as the primary store)", (*stringValue)(&c.Store)},
		{"redis_persistence", "none | everysec | always: the append-only-file policy set on Redis at every connection, empty = leave it", (*stringValue)(&c.RedisPersistence)},
		{"auth", "none | hs256 | eddsa | session: how item requests authenticate (bearer tokens from POST /auth/login)", (*stringValue)(&c.Auth)},
		{"auth_ttl", "how long a token is valid", (*durationValue)(&c.AuthTTL)},
		{"synchronous_commit", "on | off: Postgres's synchronous_commit for the backend's sessions", (*stringValue)(&c.SynchronousCommit)},
		{"max_age", "Cache-Control max-age of item GETs (whole seconds), 0 = no header", (*durationValue)(&c.MaxAge)},
		{"handler_delay", "fixed service time added to every item GET, 0 = off (a planted slowdown)", (*durationValue)(&c.HandlerDelay)},
		{"db_hold", "every Postgres call holds its connection at least this long, 0 = off (capacity = db_pool ÷ db_hold)", (*durationValue)(&c.DBHold)},
		{"startup_timeout", "how long to retry Postgres at start", (*durationValue)(&c.StartupTimeout)},
		{"breaker_threshold", "consecutive failures that mark a store down, 0 = off", (*intValue)(&c.BreakerThreshold)},
		{"breaker_cooldown", "how often a store marked down is probed", (*durationValue)(&c.BreakerCooldown)},
		{"queue_claim_idle", "claim queued writes pending this long on another consumer", (*durationValue)(&c.QueueClaimIdle)},
		{"redis_prefix", "prefix of every Redis key", (*stringValue)(&c.RedisPrefix)},
	}
}

// SettingNames lists every configuration name, as used in flags, in
// BACKEND_<NAME> environment variables and in scenario variants.
func SettingNames() []string {
	var c Config
	var names []string
	for _, s := range c.settings() {
		names = append(names, s.name)
	}
	return names
}

// ParseConfig reads the configuration from the environment (through
// lookupEnv, e.g. os.LookupEnv) and then from command-line flags, and
// validates it. Usage goes to usage on -h.
func ParseConfig(args []string, lookupEnv func(string) (string, bool), usage io.Writer) (Config, error) {
	cfg := DefaultConfig()
	settings := cfg.settings()
	for _, s := range settings {
		env := EnvPrefix + strings.ToUpper(s.name)
		if v, ok := lookupEnv(env); ok {
			if err := s.value.Set(v); err != nil {
				return cfg, fmt.Errorf("backend: %s=%q: %w", env, v, err)
			}
		}
	}
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	fs.SetOutput(usage)
	for _, s := range settings {
		fs.Var(s.value, s.name, s.usage+" (env "+EnvPrefix+strings.ToUpper(s.name)+")")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, fmt.Errorf("backend: %w", err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("backend: unexpected arguments %q", fs.Args())
	}
	return cfg, cfg.Validate()
}

// Validate reports the first setting that is out of range or inconsistent
// with another.
func (c Config) Validate() error {
	oneOf := func(name, v string, allowed ...string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("backend: %s=%q: want one of %s", name, v, strings.Join(allowed, ", "))
	}
	positive := func(name string, d time.Duration) error {
		if d <= 0 {
			return fmt.Errorf("backend: %s=%s: must be positive", name, d)
		}
		return nil
	}
	for _, err := range []error{
		oneOf("cache", c.Cache, CacheNone, CacheAside, CacheWriteThrough),
		oneOf("stampede", c.Stampede, StampedeNone, StampedeSingleflight, StampedeEarlyRefresh),
		oneOf("writes", c.Writes, WritesSync, WritesQueue),
		oneOf("consistency", c.Consistency, ConsistencyCP, ConsistencyAP),
		oneOf("counters", c.Counters, CountersAtomic, CountersForUpdate, CountersOptimistic, CountersRMW),
		oneOf("synchronous_commit", c.SynchronousCommit, "on", "off"),
		oneOf("store", c.Store, StorePostgres, StoreRedis),
		oneOf("auth", c.Auth, AuthNone, AuthHS256, AuthEdDSA, AuthSession),
		positive("auth_ttl", c.AuthTTL),
		oneOf("redis_persistence", c.RedisPersistence, "", PersistenceNone, PersistenceEverysec, PersistenceAlways),
		positive("cache_ttl", c.CacheTTL),
		positive("db_timeout", c.DBTimeout),
		positive("redis_timeout", c.RedisTimeout),
		positive("startup_timeout", c.StartupTimeout),
		positive("breaker_cooldown", c.BreakerCooldown),
		positive("queue_claim_idle", c.QueueClaimIdle),
	} {
		if err != nil {
			return err
		}
	}
	switch {
	case c.DatabaseURL == "":
		return errors.New("backend: database_url is required")
	case c.RateLimit < 0 || math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0):
		return fmt.Errorf("backend: rate_limit=%v: must be >= 0", c.RateLimit)
	case c.MaxInflight < 0:
		return fmt.Errorf("backend: max_inflight=%d: must be >= 0", c.MaxInflight)
	case c.DBPool < 0 || c.DBPool > math.MaxInt32:
		return fmt.Errorf("backend: db_pool=%d: must be between 0 and %d", c.DBPool, math.MaxInt32)
	case c.MaxAge < 0:
		return fmt.Errorf("backend: max_age=%s: must be >= 0", c.MaxAge)
	case c.HandlerDelay < 0:
		return fmt.Errorf("backend: handler_delay=%s: must be >= 0", c.HandlerDelay)
	case c.DBHold < 0:
		return fmt.Errorf("backend: db_hold=%s: must be >= 0", c.DBHold)
	case c.MaxBody <= 0:
		return fmt.Errorf("backend: max_body=%d: must be positive", c.MaxBody)
	case c.BreakerThreshold < 0:
		return fmt.Errorf("backend: breaker_threshold=%d: must be >= 0", c.BreakerThreshold)
	case c.Stampede != StampedeNone && c.Cache == CacheNone:
		return fmt.Errorf("backend: stampede=%s needs a cache (cache=cache-aside or write-through)", c.Stampede)
	case c.RedisAddr == "" && c.Cache != CacheNone:
		return fmt.Errorf("backend: cache=%s needs redis_addr", c.Cache)
	case c.RedisAddr == "" && c.Writes == WritesQueue:
		return errors.New("backend: writes=queue needs redis_addr")
	case c.RedisAddr == "" && c.Consistency == ConsistencyAP:
		return errors.New("backend: consistency=ap needs redis_addr (last-known copies and the fallback queue live there)")
	case c.RedisAddr == "" && c.Auth == AuthSession:
		return errors.New("backend: auth=session needs redis_addr (sessions live there)")
	case c.RedisAddr == "" && c.Store == StoreRedis:
		return errors.New("backend: store=redis needs redis_addr")
	case c.RedisAddr == "" && c.RedisPersistence != "":
		return fmt.Errorf("backend: redis_persistence=%s needs redis_addr", c.RedisPersistence)
	case c.Store == StoreRedis && (c.Cache != CacheNone || c.Writes != WritesSync || c.Consistency != ConsistencyCP):
		return errors.New("backend: store=redis serves items from Redis itself: it needs cache=none, writes=sync and consistency=cp")
	case c.RedisPrefix == "":
		return errors.New("backend: redis_prefix must not be empty")
	}
	return nil
}

// usesQueue reports whether writes may go through the Redis stream, so that
// the worker must run and versions must come from the hybrid clock.
func (c Config) usesQueue() bool {
	return c.Writes == WritesQueue || c.Consistency == ConsistencyAP
}

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string { return time.Duration(*v).String() }

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return err
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }

type int64Value int64

func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*v = int64Value(n)
	return nil
}
func (v *int64Value) String() string { return strconv.FormatInt(int64(*v), 10) }

type floatValue float64

func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	*v = floatValue(f)
	return nil
}
func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }

type boolValue bool

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }
