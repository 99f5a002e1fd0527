package backend

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// TestParseConfigPrecedence: defaults < BACKEND_* environment < flags.
func TestParseConfigPrecedence(t *testing.T) {
	cfg, err := ParseConfig([]string{"--cache_ttl", "5s", "--writes=queue"}, envOf(map[string]string{
		"BACKEND_DATABASE_URL":  "postgres://u:p@db/x",
		"BACKEND_REDIS_ADDR":    "redis:6379",
		"BACKEND_CACHE":         "cache-aside",
		"BACKEND_CACHE_TTL":     "1m",
		"BACKEND_RATE_LIMIT":    "250.5",
		"BACKEND_MAX_INFLIGHT":  "64",
		"BACKEND_DB_TIMEOUT":    "250ms",
		"BACKEND_MAX_BODY":      "1024",
		"BACKEND_CONSISTENCY":   "ap",
		"BACKEND_STAMPEDE":      "singleflight",
		"BACKEND_REDIS_TIMEOUT": "100ms",
		"BACKEND_DB_POOL":       "4",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.DatabaseURL, want.RedisAddr = "postgres://u:p@db/x", "redis:6379"
	want.Cache, want.CacheTTL, want.Writes, want.Consistency, want.Stampede = CacheAside, 5*time.Second, WritesQueue, ConsistencyAP, StampedeSingleflight
	want.RateLimit, want.MaxInflight, want.DBTimeout, want.RedisTimeout, want.MaxBody = 250.5, 64, 250*time.Millisecond, 100*time.Millisecond, 1024
	want.DBPool = 4
	if cfg != want {
		t.Errorf("config:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestConfigDefaults(t *testing.T) {
	c := DefaultConfig()
	if c.Addr != ":8080" || c.Cache != CacheNone || c.CacheTTL != 30*time.Second || c.Stampede != StampedeNone ||
		c.Writes != WritesSync || c.Consistency != ConsistencyCP || c.RateLimit != 0 || c.MaxInflight != 0 ||
		c.DBTimeout != 500*time.Millisecond || c.RedisTimeout != 200*time.Millisecond || c.MaxBody != 65536 {
		t.Errorf("defaults differ from docs/CONTRACTS.md: %+v", c)
	}
}

func TestSettingNamesCoverContract(t *testing.T) {
	names := SettingNames()
	for _, n := range strings.Split("addr database_url redis_addr cache cache_ttl stampede writes consistency rate_limit max_inflight db_timeout redis_timeout max_body", " ") {
		if !slices.Contains(names, n) {
			t.Errorf("setting %s missing", n)
		}
	}
}

func TestConfigRejects(t *testing.T) {
	base := map[string]string{"BACKEND_DATABASE_URL": "postgres://db/x", "BACKEND_REDIS_ADDR": "r:6379"}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--cache", "lru"}, "cache"},
		{nil, []string{"--writes", "async"}, "writes"},
		{nil, []string{"--consistency", "ca"}, "consistency"},
		{nil, []string{"--stampede", "lock"}, "stampede"},
		{nil, []string{"--stampede", "singleflight"}, "needs a cache"},
		{nil, []string{"--db_timeout", "0s"}, "db_timeout"},
		{nil, []string{"--db_timeout", "soon"}, "db_timeout"},
		{nil, []string{"--rate_limit", "-1"}, "rate_limit"},
		{nil, []string{"--max_inflight", "-2"}, "max_inflight"},
		{nil, []string{"--max_body", "0"}, "max_body"},
		{nil, []string{"--db_pool", "-1"}, "db_pool"},
		{nil, []string{"--handler_delay", "-1ms"}, "handler_delay"},
		{nil, []string{"--db_hold", "-1ms"}, "db_hold"},
		{nil, []string{"--store", "sqlite"}, "store"},
		{nil, []string{"--auth", "basic"}, "auth"},
		{nil, []string{"--auth_ttl", "0s"}, "auth_ttl"},
		{map[string]string{"BACKEND_REDIS_ADDR": ""}, []string{"--auth", "session"}, "redis_addr"},
		{nil, []string{"--redis_persistence", "rdb"}, "redis_persistence"},
		{nil, []string{"--store", "redis", "--cache", "cache-aside"}, "store=redis"},
		{nil, []string{"--store", "redis", "--writes", "queue"}, "store=redis"},
		{nil, []string{"--store", "redis", "--consistency", "ap"}, "store=redis"},
		{map[string]string{"BACKEND_REDIS_ADDR": ""}, []string{"--store", "redis"}, "redis_addr"},
		{map[string]string{"BACKEND_REDIS_ADDR": ""}, []string{"--redis_persistence", "always"}, "redis_addr"},
		{nil, []string{"--nosuch", "1"}, "nosuch"},
		{nil, []string{"extra"}, "unexpected"},
		{map[string]string{"BACKEND_CACHE_TTL": "forever"}, nil, "BACKEND_CACHE_TTL"},
		{map[string]string{"BACKEND_DATABASE_URL": ""}, nil, "database_url"},
		{map[string]string{"BACKEND_REDIS_ADDR": ""}, []string{"--cache", "cache-aside"}, "redis_addr"},
		{map[string]string{"BACKEND_REDIS_ADDR": ""}, []string{"--writes", "queue"}, "redis_addr"},
		{map[string]string{"BACKEND_REDIS_ADDR": ""}, []string{"--consistency", "ap"}, "redis_addr"},
	} {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range c.env {
			env[k] = v
		}
		_, err := ParseConfig(c.args, envOf(env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("env %v args %v: error %v, want one mentioning %q", c.env, c.args, err, c.want)
		}
	}
}
