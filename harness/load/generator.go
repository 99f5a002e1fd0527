package load

import (
	"bytes"
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
	"github.com/loadlab/loadlab/harness/tokens"
)

// generator runs one stream: its pacer, attacker and targeter on the
// sending side, and its collector on the receiving side.
type generator struct {
	index  int
	stream Stream
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
	values *history.Values // a write's body is its own value, made from its sequence number
	header http.Header     // shared: vegeta copies it into each request

	keyMu sync.Mutex
	keys  *keyChooser

	// Live counters, read by the progress reporter.
	sent    atomic.Int64
	errors  atomic.Int64
	late    atomic.Int64
	retries atomic.Int64 // requests sent again by the retry policy
	// attempts counts the requests put on the wire per second of wall time
	// since t0, retries included: the load the target really got, which
	// a retry storm multiplies. The last slot collects those after the run.
	attempts []atomic.Int64
	t0       time.Time // set by the engine before the attack

	// validators is the stream's client cache of ETags (Stream.Conditional);
	// nil otherwise.
	validators *validators
	// bodyBytes holds each response's body size from the body's close
	// until record takes it, in a ring indexed by sequence number: far
	// fewer hits than its size are ever between the two.
	bodyBytes [bodyRing]struct{ seq, n atomic.Int64 }
	inFlight  atomic.Int64
	peak      atomic.Int64

	// Transport error classes by vegeta sequence number, noted by the
	// transport while the error still has its type and taken by the
	// collector: vegeta hands results over with the error as text.
	classes sync.Map // uint64 → ErrorClass

	// Owned by the collector goroutine until it returns.
	result  *StreamResult  // its seconds are the intended seconds of the hits
	ops     *history.Spool // one op per request, on disk as it grows
	maxLate time.Duration
	began   time.Time
	offset  time.Duration // began - T0
	ended   time.Duration // when the last result came in, since T0
}

func newGenerator(index int, st Stream, base string, cfg *config) (*generator, error) {
	var arrivals []PacerOption
	if st.Arrival == Poisson {
		// Not the key chooser's seed: arrivals and keys stay independent.
		arrivals = append(arrivals, WithPoisson(streamSeed(^cfg.seed, index)))
	}
	g := &generator{
		index:  index,
		stream: st,
		pacer:  NewPacer(st.Rate, st.Stages, cfg.duration, arrivals...),
		limit:  cfg.maxWorkers,
		method: strings.ToUpper(st.Method),
	}
	if g.method == "" {
		g.method = http.MethodGet
	}
	g.write = Stream{Method: g.method}.IsWrite()
	if st.Conditional && !g.write {
		g.validators = newValidators()
	}
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
	g.values = cfg.values
	// Reads keep just enough of a body to tell a value of the run from
	// anything longer; writes keep nothing.
	maxBody := int64(0)
	if g.write {
		g.header = http.Header{"Content-Type": {"application/octet-stream"}}
	} else {
		maxBody = int64(g.values.MaxLen()) + 1
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
	if st.Auth != nil {
		// Logins go straight to the target: they are not attempts of the
		// stream's requests. A retry is sent by the next client in turn.
		next = &tokens.Transport{Next: next, Pool: tokens.NewPool(next, base, st.Name, st.Auth.Clients)}
	}
	g.attempts = make([]atomic.Int64, int(math.Ceil(cfg.duration.Seconds()))+1)
	next = &attemptCounter{next: next, g: g}
	if st.Retry != nil && (st.Retry.Max > 0 || st.Retry.Timeout > 0) {
		next = newRetryingTransport(next, *st.Retry, &g.retries)
	}
	client.Transport = &countingTransport{next: next, g: g}
	g.attacker = vegeta.NewAttacker(
		vegeta.Client(&client), // first: it replaces the whole client
		vegeta.Timeout(cfg.timeout),
		vegeta.Redirects(vegeta.NoFollow),
		vegeta.Workers(uint64(min(10, g.limit))),
		vegeta.MaxWorkers(uint64(g.limit)),
		vegeta.MaxBody(maxBody),
	)

	g.result = NewStreamResult(index, st, int(math.Ceil(cfg.duration.Seconds())))
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
	t.Method, t.Header = g.method, g.header // a write's body is set by withValue
	if !g.hasKey {
		t.URL = g.prefix
		return nil
	}
	g.keyMu.Lock()
	k := g.keys.next()
	g.keyMu.Unlock()
	t.URL = g.prefix + "k" + strconv.FormatUint(uint64(k), 10) + g.suffix
	if g.validators != nil {
		t.Header = g.validators.conditionalHeader(t.URL)
	}
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
	if t.g.write {
		req = t.g.withValue(req)
	}
	t.g.enter()
	seq := req.Header.Get("X-Vegeta-Seq")
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.g.leave()
		t.g.noteError(req, seq, err)
		return nil, err
	}
	resp.Body = &countedBody{ReadCloser: resp.Body, g: t.g, req: req, seq: seq}
	return resp, nil
}

// attemptCounter counts every request that goes on the wire in the second
// of wall time it leaves, below the retry policy so that each retry counts.
type attemptCounter struct {
	next http.RoundTripper
	g    *generator
}

func (t *attemptCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	s := min(max(secondOf(time.Since(t.g.t0)), 0), len(t.g.attempts)-1)
	t.g.attempts[s].Add(1)
	return t.next.RoundTrip(req)
}

// withValue gives a write its own value, made from the sequence number
// vegeta gave the hit (and sent as X-Vegeta-Seq), so that record finds the
// value from the result alone. The targeter cannot: it runs before vegeta
// hands it the number.
func (g *generator) withValue(req *http.Request) *http.Request {
	seq, err := strconv.ParseUint(req.Header.Get("X-Vegeta-Seq"), 10, 64)
	if err != nil {
		return req
	}
	body := g.values.Body(history.WriteValue(uint8(g.index), seq))
	r := req.Clone(req.Context())
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return r
}

// ValueSizes is the body size of each write stream by stream index (0 for
// reads), for history.NewValues.
func ValueSizes(streams []Stream) []int {
	sizes := make([]int, len(streams))
	for i, st := range streams {
		if st.IsWrite() {
			sizes[i] = st.BodySize
			if sizes[i] <= 0 {
				sizes[i] = defaultBodySize
			}
		}
	}
	return sizes
}

// noteError keeps the class of a request's transport error for the
// collector. seq is the request's X-Vegeta-Seq header. The request's own
// deadline comes first: the client's timeout cancels the request, and the
// transport may then report a plain "request canceled".
func (g *generator) noteError(req *http.Request, seq string, err error) {
	n, perr := strconv.ParseUint(seq, 10, 64)
	if perr != nil {
		return
	}
	class := classifyError(err)
	if deadline, ok := req.Context().Deadline(); ok && !time.Now().Before(deadline) {
		class = ErrTimeout
	}
	g.classes.LoadOrStore(n, class)
}

// errorClass takes the class noted for hit seq; an error that never
// reached the transport (a bad request) is ErrOther.
func (g *generator) errorClass(seq uint64) ErrorClass {
	if c, ok := g.classes.LoadAndDelete(seq); ok {
		return c.(ErrorClass)
	}
	return ErrOther
}

// countedBody ends its request's count on the first Close and notes an
// error met while reading the body (a timeout or reset mid-response).
type countedBody struct {
	io.ReadCloser
	g      *generator
	req    *http.Request
	seq    string
	n      int64 // body bytes read
	closed atomic.Bool
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF {
		b.g.noteError(b.req, b.seq, err)
	}
	return n, err
}

func (b *countedBody) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		if seq, err := strconv.ParseUint(b.seq, 10, 64); err == nil {
			b.g.putBodyBytes(seq, b.n)
		}
		b.g.leave()
	}
	return b.ReadCloser.Close()
}

// bodyRing is the size of the ring of body sizes (a power of two).
const bodyRing = 1 << 14

// putBodyBytes keeps the body size of hit seq's response for record.
func (g *generator) putBodyBytes(seq uint64, n int64) {
	slot := &g.bodyBytes[seq%bodyRing]
	slot.n.Store(n)
	slot.seq.Store(int64(seq) + 1) // after n: a reader that sees seq sees its n
}

// takeBodyBytes returns the body size of hit seq's response (0 without a
// response).
func (g *generator) takeBodyBytes(seq uint64) int64 {
	slot := &g.bodyBytes[seq%bodyRing]
	if slot.seq.Load() != int64(seq)+1 {
		return 0
	}
	return slot.n.Load()
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
	g.ended = time.Since(t0)
}

func (g *generator) record(r *vegeta.Result) {
	intended := g.pacer.HitTime(r.Seq)
	sentAt := r.Timestamp.Sub(g.began)
	lateBy := sentAt - intended
	if lateBy > lateThreshold {
		g.late.Add(1)
	}
	g.maxLate = max(g.maxLate, lateBy)

	x := Sample{Code: r.Code, Late: lateBy, Latency: sentAt + r.Latency - intended, BodyBytes: g.takeBodyBytes(r.Seq)}
	version := history.NoVersion
	value := history.NoValue
	if g.write {
		value = history.WriteValue(uint8(g.index), r.Seq)
	}
	if x.Code == 0 {
		x.Class = g.errorClass(r.Seq)
	} else {
		// Received header names are canonical, so index the map directly.
		// Versions and sources are hints: the checker trusts values.
		if v := r.Headers["X-Version"]; len(v) > 0 {
			version = history.ParseVersion(v[0])
		}
		if v := r.Headers["X-Source"]; len(v) > 0 {
			x.Source = history.ParseSource(strings.TrimSpace(v[0]))
		}
		if !g.write && x.Code == 200 {
			value = g.values.Parse(r.Body)
		}
	}
	x.Success = isSuccess(g.write, x.Code)
	revalidated := false
	if g.validators != nil {
		// A 304 is the value this client holds for the ETag it sent;
		// without one held (it cannot be matched) it is a failed read.
		value, revalidated = g.validators.record(r.URL, x.Code, r.Headers.Get("ETag"), value)
		x.Success = x.Success || revalidated
	}
	if !x.Success {
		g.errors.Add(1)
	}
	// Charge the request to the second it was intended for: a backlog
	// built up during a fault belongs to the fault, however late it left.
	g.result.Record(secondOf(g.offset+intended), x)

	// The op keeps when the request really left: the history checks order
	// operations by what the store could have seen.
	invoke := g.offset + sentAt
	g.ops.Append(history.Op{
		InvokeNs:   int64(invoke),
		CompleteNs: int64(invoke + r.Latency),
		Version:    version,
		Value:      value,
		Key:        g.keyOf(r.URL),
		Code:       x.Code,
		Stream:     uint8(g.index),
		Write:      g.write,
		Outcome:    opOutcome(g.write, x.Code, x.Class, revalidated),
		Source:     x.Source,
	})
}

// secondOf is the second since T0 that holds offset.
func secondOf(offset time.Duration) int { return int(offset / time.Second) }

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

// finish computes the stream's health, records the hits that were due but
// never sent, and trims its seconds to the run's length. Call it after
// collect has returned.
func (g *generator) finish(ran time.Duration, nsec int) *StreamResult {
	sr := g.result
	h := &sr.Health
	h.Sent = int64(g.ops.Len())
	// A hit dispatched while the run was being stopped was scheduled too.
	upTo := ran - g.offset // the attack started offset after T0
	if ran >= g.pacer.Duration() {
		upTo = g.pacer.Duration() // ran to the end of its own schedule
	}
	h.Intended = max(g.pacer.Scheduled(upTo), h.Sent)
	h.Unsent = h.Intended - h.Sent
	// vegeta numbers hits in order, so the unsent ones are the last. Each
	// waited at least until the stream gave up: that is its latency.
	for seq := uint64(h.Sent); seq < uint64(h.Intended); seq++ {
		intended := g.offset + g.pacer.HitTime(seq)
		sr.Record(secondOf(intended), Sample{Unsent: true, Latency: max(ran, g.ended) - intended})
	}
	sr.trim(nsec)
	h.LateSends = g.late.Load()
	h.Retries = g.retries.Load()
	// Attempts after the run (retries of hits still in flight when it
	// stopped) are dropped, as the flow drops answers after it: folded
	// into the last second they would draw a storm that never happened.
	sr.attempts = make([]int64, sr.Seconds())
	for s := range min(len(g.attempts), len(sr.attempts)) {
		sr.attempts[s] = g.attempts[s].Load()
	}
	h.MaxLate = max(g.maxLate, 0)
	h.WorkerLimit = g.limit
	h.PeakWorkers = int(g.peak.Load())
	h.CapHit = h.PeakWorkers >= g.limit
	h.Saturated = h.CapHit || h.LateSends*100 > h.Sent || h.Unsent*100 > h.Intended
	return sr
}
