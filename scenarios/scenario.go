// Package scenarios holds the scenario model, its strict YAML parser and the
// catalogue of scenario files embedded in the binary.
//
// A scenario says what load to send (streams), what to break and when
// (faults), which configurations of the target to compare (variants) and
// what must hold (checks). The harness runs it; this package only describes
// it and rejects bad input with errors that name file, line and field.
package scenarios

import (
	"slices"
	"time"
)

// Scenario is a parsed and validated scenario file.
type Scenario struct {
	Name        string
	Description string
	Teaches     string // one paragraph: what the scenario teaches
	File        string // path or "catalogue/NAME.yaml"
	Source      []byte // the file's text

	Duration time.Duration // load duration of each variant
	Settle   time.Duration // after the load, before the history checks (default 5s)
	Seed     int64
	Timeout  time.Duration // per-request timeout of the load generator (default 2s)
	// FreshEnv (environment: fresh) gives every variant an environment of
	// its own. By default (environment: reuse) the variants share one:
	// between them the stores are emptied, the toxics removed and only the
	// backend restarts, with the next variant's settings.
	FreshEnv bool

	Target   Target
	Load     []Stream
	Faults   []Fault
	Variants []Variant // at least one; a file without variants gets {Name: "default"}
	Checks   []Check
}

// Values of a scenario's environment field.
const (
	EnvironmentReuse = "reuse"
	EnvironmentFresh = "fresh"
)

// Target is the system under test. The zero value is the sample backend.
type Target struct {
	Image string            // empty: the sample backend image
	Port  int               // container port of the items API (default 8080)
	Env   map[string]string // extra environment for every variant
}

// Stream is one load stream: a vegeta attack with an open-model pacer.
type Stream struct {
	Name       string
	Method     string // GET, PUT or POST (an increment: POST /counters/{key}/increment)
	Path       string // with {key}, e.g. /items/{key}
	Rate       Rate   // constant rate; with Stages, the starting rate
	Stages     []Stage
	Arrival    string // ArrivalEven (default) or ArrivalPoisson
	Keys       Keys
	BodySize   int    // bytes of generated value for writes (default 64)
	MaxWorkers int    // 0: the engine's default
	Retry      *Retry // the client's retry policy; nil: no retries
	// Conditional makes a GET stream a caching client: it keeps each
	// URL's ETag and sends If-None-Match, taking a 304 as its copy.
	Conditional bool
	// Auth makes the stream's requests carry bearer tokens, one per
	// simulated client, from the target's POST /auth/login; nil: none.
	Auth *Auth
	Line int // line of the stream in the file, for error messages
}

// Authenticates reports whether a stream sends bearer tokens: the target
// then wants one on the harness's own requests too (seed, final reads).
func (s *Scenario) Authenticates() bool {
	return slices.ContainsFunc(s.Load, func(st Stream) bool { return st.Auth != nil })
}

// Auth is a stream's authentication: Clients simulated clients, taken in
// turn, each with a token of its own, refreshed at half its life and after
// a 401.
type Auth struct {
	Clients int
}

// Retry is a stream's client-side retry policy: a request answered with
// one of the On statuses is sent again, at most Max more times, after
// Backoff, doubled at each retry with full jitter (0: at once). The
// request's latency and outcome are those of the whole exchange.
type Retry struct {
	Max     int
	On      []int         // statuses retried; RetryOnTimeout and RetryOnError stand for transport failures
	Backoff time.Duration // first wait; 0: retry at once
	Timeout time.Duration // per attempt; 0: only the stream's timeout bounds the whole exchange
	Budget  float64       // retries at most this share of requests (a token bucket); 0: no budget
}

// Transport failures a retry policy may name in its on list.
const (
	RetryOnTimeout = -1 // the attempt timed out
	RetryOnError   = -2 // any other transport error (refused, reset, ...)
)

// IsIncrement reports whether the stream's requests are increments (POST):
// each acknowledged one must add exactly one to its key's counter.
func (s Stream) IsIncrement() bool { return s.Method == "POST" }

// Arrival processes of a stream.
const (
	ArrivalEven    = "even"    // evenly spaced hits
	ArrivalPoisson = "poisson" // a Poisson process at the rate, seeded by the scenario's seed
)

// IsWrite reports whether the stream's requests are writes.
func (s Stream) IsWrite() bool { return s.Method == "PUT" || s.Method == "POST" }

// Rate is Freq requests per Per, e.g. 500/s or 30/m.
type Rate struct {
	Freq int
	Per  time.Duration
}

// PerSecond returns the rate in requests per second.
func (r Rate) PerSecond() float64 {
	if r.Per <= 0 {
		return 0
	}
	return float64(r.Freq) / r.Per.Seconds()
}

// Stage ramps linearly from the previous rate to Target over Duration.
type Stage struct {
	Duration time.Duration
	Target   Rate
}

// Keys chooses the key of each request, driven by the scenario's seed.
type Keys struct {
	Count        int     // keys are "k0".."k{Count-1}" (default 1000)
	Distribution string  // uniform (default), zipf, hot
	ZipfS        float64 // zipf exponent s > 1 (default 1.1)
	HotFraction  float64 // hot: share of requests going to the hot keys (default 0.9)
	HotKeys      int     // hot: how many hot keys (default 1)
}

// Fault is one toxic on one link, from At for For.
type Fault struct {
	Name  string
	Link  string // backend->postgres, backend->redis, client->backend
	At    time.Duration
	For   time.Duration
	Toxic Toxic
	// Kill names a container of the lab (KillTargets) to crash instead:
	// SIGKILL at At, started again For later. Link and Toxic are then
	// empty.
	Kill string
	// Revoke (RevokeToken) makes the fault a logout instead: at At a probe
	// client logs in and out, and for For the lab keeps trying its token,
	// timing how long the target still takes it (the revocation lag).
	Revoke string
	Line   int
}

// RevokeToken is the one value of a revoke fault.
const RevokeToken = "token"

// KillTargets are the containers a kill fault can crash.
var KillTargets = []string{"postgres", "redis", "backend"}

// Where is what the fault acts on: its link, or the container it kills.
func (f Fault) Where() string {
	if f.Kill != "" {
		return f.Kill
	}
	if f.Revoke != "" {
		return "revoke " + f.Revoke
	}
	return f.Link
}

// Links are the proxied links of the lab.
var Links = []string{"client->backend", "backend->postgres", "backend->redis"}

// Toxic is a toxiproxy toxic, or "down" (the proxy disabled).
type Toxic struct {
	Type       string           // latency, bandwidth, timeout, down, reset_peer, slow_close, slicer, limit_data
	Stream     string           // upstream or downstream (default downstream; ignored for down)
	Toxicity   float64          // 0 < t <= 1 (default 1)
	Attributes map[string]int64 // latency, jitter, rate, timeout, delay, average_size, size_variation, bytes
}

// Variant is one configuration of the target; each runs in a fresh environment.
type Variant struct {
	Name    string
	Backend map[string]string // target settings, passed as environment (BACKEND_<KEY>)
	Client  string            // proxy (default): load goes through client->backend; direct: around toxiproxy
	// Retry gives streams (by name) this variant's client retry policy,
	// in place of theirs: variants that differ in how the client retries.
	Retry map[string]*Retry
	Line  int
}

// StreamsFor returns the load streams as variant v runs them: with v's
// retry policies in place of the streams' own.
func (s *Scenario) StreamsFor(v Variant) []Stream {
	if len(v.Retry) == 0 {
		return s.Load
	}
	out := slices.Clone(s.Load)
	for i := range out {
		if r, ok := v.Retry[out[i].Name]; ok {
			out[i].Retry = r
		}
	}
	return out
}

// Check is one expectation about a run: a threshold, e.g. {variant: ap,
// phase: during db-partition, expect: "success_ratio >= 0.99"}, or a
// comparison with another variant or phase, e.g. {expect: "singleflight
// db_reads_per_second during slow-db <= 0.3 × none db_reads_per_second"}.
type Check struct {
	Variant string  // empty: every variant
	Stream  string  // empty: all streams together (history and scraped metrics ignore it)
	Phase   string  // whole (default), "before F", "during F", "after F"
	Expect  string  // as written
	Metric  string  // what the left side measures; see ParseMetric
	Op      string  // <, <=, >, >=, ==, !=
	Value   float64 // a threshold; with Versus, the offset added to Factor × the other side. In the metric's unit: ms for latencies, seconds for convergence
	Versus  *Operand
	Factor  float64 // with Versus: what the other side is multiplied by
	File    string
	Line    int
}

// Operand is the other side of a relative check.
type Operand struct {
	Variant string // empty: the variant of the left side
	Phase   string
	Metric  string
}
