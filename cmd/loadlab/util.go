package main

import "strings"

func cutEq(kv string) (string, string, bool) {
	k, v, ok := strings.Cut(kv, "=")
	return strings.TrimSpace(k), strings.TrimSpace(v), ok && strings.TrimSpace(k) != ""
}

// backendEnvName maps a backend setting (cache_ttl) to its variable (BACKEND_CACHE_TTL).
func backendEnvName(key string) string {
	return "BACKEND_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}
