package load

import (
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/scenarios"
)

// generator runs one stream: its pacer, attacker and targeter on the
// sending side, and its collector on the receiving side.
type generator struct {
	index  int
	stream scenarios.Stream
	write  bool
	pacer  *Pacer
	limit  int

	attacker  *vegeta.Attacker
	transport *http.Transport // the engine's own, closed at the end; nil with WithHTTPClient

	// Request shape. URLs are prefix + "k<index>" + suffix, or prefix alone
	// when the path has no {key}.
	method string
	prefix string
	suffix string
	hasKey bool
	body   []byte      // shared by all requests: bodies are only read
	header http.Header // shared: vegeta copies it into each request

	keyMu sync.Mutex
	keys  *keyChooser

	// Live counters, read by the progress reporter.
	sent     atomic.Int64
	errors   atomic.Int64
	late     atomic.Int64
	inFlight atomic.Int64
	peak     atomic.Int64

	// Owned by the collector goroutine until it returns.
	seconds []second
	ops     *history.Spool // one op per request, on disk as it grows
	maxLate time.Duration
	began   time.Time
	offset  time.Duration // began - T0
}

func newGenerator(index int, st scenarios.Stream, base string, cfg *config) (*generator, error) {
	g := &generator{
		index:  index,
		stream: st,
		pacer:  NewPacer(st.Rate, st.Stages, cfg.duration),
		limit:  cfg.maxWorkers,
		method: strings.ToUpper(st.Method),
	}
	if g.method == "" {
		g.method = http.MethodGet
	}
	g.write = scenarios.Stream{Method: g.method}.IsWrite()
	if st.MaxWorkers > 0 {
		g.limit = st.MaxWorkers
	}
	path := st.Path
	if path != "" && path[0] != '/' {
		path = "/" + path
	}
	before, after, found := strings.Cut(path, "{key}")
	g.prefix, g.suffix, g.hasKey = base+before, after, found

	keys, err := newKeyChooser(st.Keys, cfg.seed, index)
	if err != nil {
		return nil, err
	}
	g.keys = keys
	if g.write {
		size := st.BodySize
		if size <= 0 {
			size = defaultBodySize
		}
		g.body = make([]byte, size)
		const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
		for i := range g.body {
			g.body[i] = alphabet[keys.rng.Intn(len(alphabet))]
		}
		g.header = http.Header{"Content-Type": {"application/octet-stream"}}
	}

	var client http.Client
	if cfg.client != nil {
		client = *cfg.client
	} else {
		client, g.transport = newHTTPClient(g.limit, cfg.timeout)
	}
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	client.Transport = &countingTransport{next: next, g: g}
	g.attacker = vegeta.NewAttacker(
		vegeta.Client(&client), // first: it replaces the whole client
		vegeta.Timeout(cfg.timeout),
		vegeta.Redirects(vegeta.NoFollow),
		vegeta.Workers(uint64(min(10, g.limit))),
		vegeta.MaxWorkers(uint64(g.limit)),
		vegeta.MaxBody(0), // headers carry what the history needs
	)

	g.seconds = make([]second, int(math.Ceil(cfg.duration.Seconds())))
	g.ops = history.NewSpool("") // in os.TempDir(); last: nothing after it can fail
	if err := g.ops.Err(); err != nil {
		cfg.logger.Warn("load: op history kept in memory", "stream", st.Name, "err", err)
	}
	return g, nil
}

// target is the vegeta.Targeter: called by a worker for each hit, it picks
// the key and counts the request as sent.
func (g *generator) target(t *vegeta.Target) error {
	g.sent.Add(1)
	t.Method, t.Body, t.Header = g.method, g.body, g.header
	if !g.hasKey {
		t.URL = g.prefix
		return nil
	}
	g.keyMu.Lock()
	k := g.keys.next()
	g.keyMu.Unlock()
	t.URL = g.prefix + "k" + strconv.FormatUint(uint64(k), 10) + g.suffix
	return nil
}

// enter and leave count the requests in flight: each occupies one vegeta
// worker from its round trip until its body is closed.
func (g *generator) enter() {
	n := g.inFlight.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
}

func (g *generator) leave() { g.inFlight.Add(-1) }

// countingTransport counts a stream's requests in flight. Counting here
// rather than between targeter and collector keeps a worker that has just
// handed over one result and taken the next tick from being counted twice.
type countingTransport struct {
	next http.RoundTripper
	g    *generator
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.g.enter()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.g.leave()
		return nil, err
	}
	resp.Body = &countedBody{ReadCloser: resp.Body, g: t.g}
	return resp, nil
}

// countedBody ends its request's count on the first Close.
type countedBody struct {
	io.ReadCloser
	g      *generator
	closed atomic.Bool
}

func (b *countedBody) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.g.leave()
	}
	return b.ReadCloser.Close()
}

// collect consumes the attack's results until vegeta closes the channel,
// which it does after its last worker has returned.
func (g *generator) collect(results <-chan *vegeta.Result, t0 time.Time) {
	for r := range results {
		if g.began.IsZero() {
			// Pace ran before the first hit, so the start is known by now.
			g.began, _ = g.pacer.Began()
			g.offset = g.began.Sub(t0)
		}
		g.record(r)
	}
}

func (g *generator) record(r *vegeta.Result) {
	intended := g.pacer.HitTime(r.Seq)
	sentAt := r.Timestamp.Sub(g.began)
	lateBy := sentAt - intended
	late := lateBy > lateThreshold
	if late {
		g.late.Add(1)
	}
	g.maxLate = max(g.maxLate, lateBy)

	code := r.Code
	class := errNone
	var version int64
	src := history.SourceNone
	if code == 0 {
		if class = classifyError(r.Error); class == errNone {
			class = errOther
		}
	} else {
		// Received header names are canonical, so index the map directly.
		if v := r.Headers["X-Version"]; len(v) > 0 {
			version, _ = strconv.ParseInt(strings.TrimSpace(v[0]), 10, 64)
		}
		if v := r.Headers["X-Source"]; len(v) > 0 {
			src = history.ParseSource(strings.TrimSpace(v[0]))
		}
	}
	success := isSuccess(g.write, code)
	if !success {
		g.errors.Add(1)
	}

	// Bucket by when the request really left: that is when it met the
	// target and whatever fault was active, even if it left late.
	invoke := g.offset + sentAt
	sec := min(max(int(invoke/time.Second), 0), len(g.seconds)-1)
	if sec >= 0 {
		g.seconds[sec].record(code, class, src, success, late, sentAt+r.Latency-intended)
	}

	g.ops.Append(history.Op{
		InvokeNs:   int64(invoke),
		CompleteNs: int64(invoke + r.Latency),
		Version:    version,
		Key:        g.keyOf(r.URL),
		Code:       code,
		Stream:     uint8(g.index),
		Write:      g.write,
		Outcome:    outcome(g.write, code, class),
		Source:     src,
	})
}

// keyOf recovers the key index from a URL the targeter built.
func (g *generator) keyOf(u string) uint32 {
	if !g.hasKey || len(u) <= len(g.prefix)+1 {
		return 0
	}
	var k uint32
	for _, c := range []byte(u[len(g.prefix)+1:]) {
		if c < '0' || c > '9' {
			break
		}
		k = k*10 + uint32(c-'0')
	}
	return k
}

// finish computes the stream's health and trims its seconds to the run's
// length. Call it after collect has returned.
func (g *generator) finish(ran time.Duration, nsec int) *StreamResult {
	nsec = min(nsec, len(g.seconds))
	if nsec > 0 {
		// A hit dispatched while the run was being stopped can land just
		// past the last second; fold it in rather than lose it.
		for i := nsec; i < len(g.seconds); i++ {
			g.seconds[nsec-1].absorb(&g.seconds[i])
		}
	}
	sr := &StreamResult{Index: g.index, Stream: g.stream, seconds: g.seconds[:nsec:nsec]}
	h := &sr.Health
	h.Sent = int64(g.ops.Len())
	// A hit dispatched while the run was being stopped was scheduled too.
	upTo := ran - g.offset // the attack started offset after T0
	if ran >= g.pacer.Duration() {
		upTo = g.pacer.Duration() // ran to the end of its own schedule
	}
	h.Intended = max(g.pacer.Scheduled(upTo), h.Sent)
	h.LateSends = g.late.Load()
	h.MaxLate = max(g.maxLate, 0)
	h.WorkerLimit = g.limit
	h.PeakWorkers = int(g.peak.Load())
	h.CapHit = h.PeakWorkers >= g.limit
	unsent := h.Intended - h.Sent
	h.Saturated = h.CapHit || h.LateSends*100 > h.Sent || unsent*100 > h.Intended
	return sr
}
