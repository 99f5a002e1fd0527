// Package backend is loadlab's sample target: a small items service over
// Postgres and Redis whose behaviour is chosen by configuration, so that one
// binary shows each caching, queueing and consistency trade-off under load
// and faults.
//
// A request goes through these stages:
//
//	HTTP ─▶ metrics ─▶ rate limit (429) ─▶ in-flight limit (503) ─▶ handler
//	GET  /items/{key}: cache (Redis) ─miss─▶ Postgres ─unreachable─▶ last-known copy (ap only)
//	PUT  /items/{key}: Postgres (writes=sync) or Redis stream (writes=queue) ─▶ cache update
//	worker: stream ─XREADGROUP─▶ idempotent upsert into Postgres ─▶ XACK+XDEL ─▶ cache update
//
// Every item carries a version. Versions of a key strictly increase in the
// order writes are acknowledged, and no cache or Postgres write ever replaces
// a newer version with an older one: cache entries are compared and set on
// version by a Lua script, and the worker's upsert only moves versions
// forward. Unreachable stores are detected by deadline'd calls and a small
// circuit breaker per store, so no request waits longer than its deadlines.
//
// Main runs the service as a process (cmd/backend); New, Start, Handler and
// Close run it in-process, which is how the tests drive it against real
// Postgres, Redis and toxiproxy containers. targets/README.md is the user
// documentation of the HTTP contract, the configuration and the behaviour of
// each mode on a database or Redis cut.
package backend
