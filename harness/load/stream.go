package load

import (
	"strings"
	"time"
)

// Stream is one load stream as the engine needs it: the harness translates
// a scenario's stream into this, so the engine knows nothing of scenario
// files.
type Stream struct {
	Name       string
	Method     string  // GET (default), PUT, POST, ...
	Path       string  // with {key}, e.g. /items/{key}
	Rate       float64 // hits per second; with Stages, the starting rate
	Stages     []Stage
	Arrival    Arrival
	Keys       Keys
	BodySize   int    // bytes of generated value for writes (default 64)
	MaxWorkers int    // 0: the engine's default
	Retry      *Retry // nil: a request is sent once
	// Conditional makes a read stream revalidate: it keeps the ETag and
	// value of each URL's last 200, sends If-None-Match with it, and takes
	// a 304 as that value, served again (validators.go).
	Conditional bool
	// Auth makes requests carry bearer tokens, one per simulated client,
	// from the target's POST /auth/login (harness/tokens); nil: none.
	Auth *Auth
}

// Auth is a stream's authentication: Clients clients take turns, each
// with a token of its own.
type Auth struct {
	Clients int
}

// Stage ramps linearly from the previous rate to Target over Duration; a
// zero Duration is a step.
type Stage struct {
	Duration time.Duration
	Target   float64 // hits per second
}

// Arrival is how hits are spread in time at a given rate.
type Arrival uint8

const (
	// Even spaces hits evenly: hit n is due when the integral of the rate
	// reaches n+½.
	Even Arrival = iota
	// Poisson makes arrivals a (non-homogeneous) Poisson process driven by
	// the run's seed: the same seed gives the same arrival times. Evenly
	// spaced arrivals understate queueing; random ones show the bursts a
	// real population of clients sends.
	Poisson
)

// Keys chooses the key of each request, driven by the run's seed.
type Keys struct {
	Count        int     // keys are "k0".."k{Count-1}" (default 1000)
	Distribution string  // uniform (default), zipf, hot
	ZipfS        float64 // zipf exponent s > 1 (default 1.1)
	HotFraction  float64 // hot: share of requests going to the hot keys (default 0.9)
	HotKeys      int     // hot: how many hot keys (default 1)
}

// IsIncrement reports whether the stream's requests are counter
// increments (POST): not idempotent, checked by counting (history.CheckIncrements).
func (s Stream) IsIncrement() bool { return strings.ToUpper(s.Method) == "POST" }

// IsWrite reports whether the stream's requests are writes.
func (s Stream) IsWrite() bool {
	m := strings.ToUpper(s.Method)
	return m == "PUT" || m == "POST"
}
