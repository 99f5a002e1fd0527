package scenarios

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// BackendSetting is one setting of the sample backend that a variant may
// choose (docs/CONTRACTS.md, "Backend configuration").
type BackendSetting struct {
	Name   string
	Values []string // the allowed values of an enum; nil for others
	Kind   string   // enum, duration, int
	Min    int64    // for int settings
}

// sampleBackendSettings mirrors the sample backend's configuration. The
// wiring settings (addr, database_url, redis_addr) are the harness's.
var sampleBackendSettings = []BackendSetting{
	{Name: "cache", Kind: "enum", Values: []string{"none", "cache-aside", "write-through"}},
	{Name: "cache_ttl", Kind: "duration"},
	{Name: "stampede", Kind: "enum", Values: []string{"none", "singleflight", "early-refresh"}},
	{Name: "writes", Kind: "enum", Values: []string{"sync", "queue"}},
	{Name: "consistency", Kind: "enum", Values: []string{"cp", "ap"}},
	{Name: "rate_limit", Kind: "int", Min: 0},
	{Name: "max_inflight", Kind: "int", Min: 0},
	{Name: "db_timeout", Kind: "duration"},
	{Name: "redis_timeout", Kind: "duration"},
	{Name: "max_body", Kind: "int", Min: 1},
	{Name: "db_pool", Kind: "int", Min: 0},
	{Name: "handler_delay", Kind: "duration"},
	{Name: "db_hold", Kind: "duration"},
	{Name: "counters", Kind: "enum", Values: []string{"atomic", "for-update", "optimistic", "rmw"}},
	{Name: "etags", Kind: "enum", Values: []string{"true", "false"}},
	{Name: "max_age", Kind: "duration"},
	{Name: "synchronous_commit", Kind: "enum", Values: []string{"on", "off"}},
	{Name: "store", Kind: "enum", Values: []string{"postgres", "redis"}},
	{Name: "redis_persistence", Kind: "enum", Values: []string{"none", "everysec", "always"}},
	{Name: "auth", Kind: "enum", Values: []string{"none", "hs256", "eddsa", "session"}},
	{Name: "auth_ttl", Kind: "duration"},
	{Name: "startup_timeout", Kind: "duration"},
	{Name: "breaker_threshold", Kind: "int", Min: 0},
	{Name: "breaker_cooldown", Kind: "duration"},
	{Name: "queue_claim_idle", Kind: "duration"},
}

// harnessSettings are set by the harness for every variant.
var harnessSettings = []string{"addr", "database_url", "redis_addr"}

// SampleBackendSettings returns the settings a variant may give the
// sample backend.
func SampleBackendSettings() []BackendSetting {
	out := make([]BackendSetting, len(sampleBackendSettings))
	for i, s := range sampleBackendSettings {
		s.Values = append([]string(nil), s.Values...)
		out[i] = s
	}
	return out
}

func sampleBackendSettingNames() []string {
	names := make([]string, len(sampleBackendSettings))
	for i, s := range sampleBackendSettings {
		names[i] = s.Name
	}
	return names
}

// settingKey is what a custom image's setting may be called: it becomes
// the environment variable BACKEND_<KEY>.
var settingKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// checkBackendKey says what is wrong with a setting name, or "".
func checkBackendKey(key string, sample bool) string {
	if slices.Contains(harnessSettings, key) {
		return fmt.Sprintf("%q is set by the harness, not by a scenario", key)
	}
	if !sample {
		if !settingKey.MatchString(key) {
			return fmt.Sprintf("setting %q must be lower case letters, digits and _ (it becomes BACKEND_%s)", key, strings.ToUpper(key))
		}
		return ""
	}
	for _, s := range sampleBackendSettings {
		if s.Name == key {
			return ""
		}
	}
	return unknownKey(key, sampleBackendSettingNames()) + " for the sample backend"
}

// checkBackendValue says what is wrong with a value of a sample-backend
// setting, or "".
func checkBackendValue(key, value string) string {
	for _, s := range sampleBackendSettings {
		if s.Name != key {
			continue
		}
		switch s.Kind {
		case "enum":
			if !slices.Contains(s.Values, value) {
				return fmt.Sprintf("%q is not one of %s", value, strings.Join(s.Values, ", "))
			}
		case "duration":
			d, err := time.ParseDuration(value)
			switch {
			case err != nil:
				return fmt.Sprintf("%q is not a duration (%s)", value, durationHint)
			case d <= 0:
				return fmt.Sprintf("must be positive, got %s", value)
			case d > maxDuration:
				return fmt.Sprintf("%s is too long (at most %s)", value, formatDuration(maxDuration))
			}
		case "int":
			n, err := strconv.ParseInt(value, 10, 64)
			switch {
			case err != nil:
				return fmt.Sprintf("%q is not a whole number", value)
			case n < s.Min && s.Min == 0:
				return fmt.Sprintf("must not be negative, got %d", n)
			case n < s.Min:
				return fmt.Sprintf("must be at least %d, got %d", s.Min, n)
			case n > 1<<31-1:
				return fmt.Sprintf("%d is too large", n)
			}
		}
	}
	return ""
}

// CheckBackendSetting says what is wrong with a setting given to a target
// outside a scenario file (loadlab up --set), or "": for the sample
// backend, an unknown name (with a "did you mean") or a value it refuses;
// for another image, a name that cannot become an environment variable.
func CheckBackendSetting(key, value string, sample bool) string {
	if msg := checkBackendKey(key, sample); msg != "" || !sample {
		return msg
	}
	return checkBackendValue(key, value)
}
