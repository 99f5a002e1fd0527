//go:build race

package perf

// raceEnabled: the race detector slows everything several times over, so
// latency bounds mean nothing under it.
const raceEnabled = true
