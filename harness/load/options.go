package load

import (
	"github.com/loadlab/loadlab/harness/history"
	"log/slog"
	"net/http"
	"time"
)

// Defaults of a run.
const (
	DefaultTimeout    = 2 * time.Second // per request
	DefaultMaxWorkers = 2000            // per stream, unless the stream sets its own
)

// Option configures a Run.
type Option func(*config)

type config struct {
	duration    time.Duration
	seed        int64
	timeout     time.Duration
	maxWorkers  int
	progress    func(Progress)
	client      *http.Client
	logger      *slog.Logger
	allowRemote bool
	onStart     func(time.Time)
	startAt     time.Time
	values      *history.Values
}

func defaultConfig() config {
	return config{
		timeout:    DefaultTimeout,
		maxWorkers: DefaultMaxWorkers,
		logger:     slog.Default(),
	}
}

// WithDuration sets how long every stream sends load. Required.
func WithDuration(d time.Duration) Option { return func(c *config) { c.duration = d } }

// WithSeed seeds the key choice and generated bodies; the same seed gives
// the same sequence of keys per stream.
func WithSeed(seed int64) Option { return func(c *config) { c.seed = seed } }

// WithTimeout sets the per-request timeout (default 2s). It also bounds how
// long a cancelled run waits for its in-flight requests.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithMaxWorkers caps the concurrent requests of each stream that does not
// set its own cap (default 2000). Hitting the cap is reported as saturation.
func WithMaxWorkers(n int) Option { return func(c *config) { c.maxWorkers = n } }

// WithProgress registers fn, called about once per second while the load
// runs and once more at the end. It runs on its own goroutine and must not
// block for long.
func WithProgress(fn func(Progress)) Option { return func(c *config) { c.progress = fn } }

// WithHTTPClient replaces the engine's HTTP/1.1 keep-alive client. Its
// Timeout is overridden by WithTimeout; its connections are not closed by
// the engine. Without it, each stream gets its own transport whose idle
// pool is sized to the stream's worker cap.
func WithHTTPClient(c *http.Client) Option { return func(cfg *config) { cfg.client = c } }

// WithLogger sets the logger for start, stop and saturation messages.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithAllowRemote lets Run send load to a host that is not loopback. By
// default only 127.0.0.0/8, ::1 and localhost are accepted, so that a typo
// in a scenario cannot aim load at somebody else's machine.
func WithAllowRemote() Option { return func(c *config) { c.allowRemote = true } }

// WithOnStart registers fn, called once with T0 just before the first
// stream starts, so that a fault schedule can share the load's clock. It
// runs on Run's goroutine and must return quickly.
func WithOnStart(fn func(t0 time.Time)) Option { return func(c *config) { c.onStart = fn } }

// WithStartAt holds the load until at, so that two runs given the same
// instant start together to within a timer's wake-up rather than each
// whenever its own set-up finished (the duet's sides). An instant already
// past starts the load at once; T0 is always when it really started.
func WithStartAt(at time.Time) Option { return func(c *config) { c.startAt = at } }

// WithValues sets the codec of the values writes send and reads return,
// shared with whoever seeds the keys and reads the final state. Without
// it, Run makes one with a fresh nonce.
func WithValues(v *history.Values) Option { return func(c *config) { c.values = v } }

// Progress is a snapshot of a running load, summed over all streams.
type Progress struct {
	Elapsed     time.Duration // since T0
	Sent        int64         // requests handed to the transport so far
	Errors      int64         // completed requests that did not succeed
	CurrentRate float64       // requests sent per second over the last interval
	LateSends   int64         // requests sent more than lateThreshold (10 ms) after their intended time
}
