package load

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/history"
)

// keyServer counts requests per key and answers with handle (200 when nil).
type keyServer struct {
	*httptest.Server
	mu     sync.Mutex
	byKey  map[string]int
	handle func(w http.ResponseWriter, r *http.Request, key string)
}

func newKeyServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, key string)) *keyServer {
	t.Helper()
	ks := &keyServer{byKey: map[string]int{}, handle: handle}
	ks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.URL.Path, "/items/")
		ks.mu.Lock()
		ks.byKey[key]++
		ks.mu.Unlock()
		if ks.handle == nil {
			w.Header().Set("X-Version", "1")
			w.Header().Set("X-Source", "db")
			return
		}
		ks.handle(w, r, key)
	}))
	t.Cleanup(ks.Close)
	return ks
}

func (ks *keyServer) total() int {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	n := 0
	for _, c := range ks.byKey {
		n += c
	}
	return n
}

// wait blocks for d or until the request is cancelled; handlers use it to
// play a slow target without outliving the test server.
func wait(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

func reads(rate int) Stream {
	return Stream{Name: "reads", Method: "GET", Path: "/items/{key}", Rate: perSecond(rate), Keys: Keys{Count: 100}}
}

func writes(rate int) Stream {
	return Stream{Name: "writes", Method: "PUT", Path: "/items/{key}", Rate: perSecond(rate), Keys: Keys{Count: 100}}
}

func run(t *testing.T, base string, streams []Stream, opts ...Option) *Result {
	t.Helper()
	res, err := Run(context.Background(), base, streams, append([]Option{WithLogger(discardLogger())}, opts...)...)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// whole summarises every second of a stream.
func whole(sr *StreamResult) Summary { return sr.Summary(0, sr.Seconds()) }

// rateTolerance is the accepted error of a sent count against its schedule.
func rateTolerance() float64 {
	if raceEnabled {
		return 0.2
	}
	return 0.03
}

// checkSent checks a stream sent its schedule. A machine shared with other
// test runs can stall the whole process for hundreds of milliseconds; the
// engine then runs out of time with hits unsent, and that is acceptable
// only if it says so. It reports whether the run was clean enough for
// per-second checks.
func checkSent(t *testing.T, h Health, want int64) (clean bool) {
	t.Helper()
	if h.Intended != want {
		t.Errorf("intended %d, want %d", h.Intended, want)
	}
	if within(float64(h.Sent), float64(want), rateTolerance()) {
		return h.MaxLate < 100*time.Millisecond
	}
	if h.Saturated && h.MaxLate >= 100*time.Millisecond && float64(h.Sent) >= 0.8*float64(want) {
		t.Logf("the machine stalled the generator for %v: %d of %d sent, reported as saturated", h.MaxLate, h.Sent, want)
		return false
	}
	t.Errorf("sent %d, want %d ±%.0f%% (health %+v)", h.Sent, want, rateTolerance()*100, h)
	return false
}

func within(got, want, tolerance float64) bool {
	return got >= want*(1-tolerance) && got <= want*(1+tolerance)
}

func TestRunConstantRate(t *testing.T) {
	srv := newKeyServer(t, nil)
	res := run(t, srv.URL, []Stream{reads(200)}, WithDuration(3*time.Second), WithSeed(1))

	h := res.ByStream[0].Health
	t.Logf("health: %+v", h)
	clean := checkSent(t, h, 600)
	if got := srv.total(); int64(got) != h.Sent {
		t.Errorf("server saw %d requests, generator sent %d", got, h.Sent)
	}
	if len(res.Ops) != int(h.Sent) {
		t.Errorf("%d ops for %d requests", len(res.Ops), h.Sent)
	}
	// Late sends are not asserted: on a shared 2-core machine the OS alone
	// delays a good share of wake-ups by over 1 ms, and a stall of the whole
	// process shows up as a burst of late sends. The cap must not be hit.
	if h.CapHit {
		t.Errorf("a 200/s stream against a trivial server hit the worker cap: %+v", h)
	}
	sr := res.ByStream[0]
	if sr.Seconds() != 3 {
		t.Fatalf("%d buckets, want 3", sr.Seconds())
	}
	for i := range sr.Seconds() {
		// Seconds count requests by when they were intended, so each
		// holds its schedule's share however the machine stalls.
		b := sr.Second(i)
		if clean && !within(float64(b.Requests), 200, 0.02) {
			t.Errorf("second %d: %d requests, want 200", i, b.Requests)
		}
		if b.Successes != b.Requests || b.Codes[200] != b.Requests || b.Sources[history.SourceDB] != b.Requests {
			t.Errorf("second %d: %+v, want every request a 200 from db", i, b)
		}
	}
	if ps := whole(sr); ps.Requests != h.Sent || ps.Successes != ps.Requests || ps.Success.Count != ps.Requests || ps.Failure.Count != 0 {
		t.Errorf("whole: %+v, want %d successes", ps, h.Sent)
	}
}

// TestRunRamp: 50/s → 250/s over 2 s then a 1 s hold sends the integral,
// 550, in one attack; each second gets its share of the ramp.
func TestRunRamp(t *testing.T) {
	srv := newKeyServer(t, nil)
	s := reads(50)
	s.Stages = []Stage{{Duration: 2 * time.Second, Target: perSecond(250)}}
	res := run(t, srv.URL, []Stream{s}, WithDuration(3*time.Second))

	h := res.ByStream[0].Health
	t.Logf("health: %+v", h)
	clean := checkSent(t, h, 550)
	for i, want := range []float64{100, 200, 250} {
		if got := res.ByStream[0].Second(i).Requests; clean && !within(float64(got), want, 0.02) {
			t.Errorf("second %d: %d requests, want %.0f", i, got, want)
		}
	}
}

// TestRunKeys checks the keys on the wire: the server sees exactly the keys
// the ops record, a hot distribution concentrates, and a seed reproduces.
// The first run sends about 5000 requests, more than one chunk of the op
// history's spool, so the ops also make the round trip through its file.
func TestRunKeys(t *testing.T) {
	srv := newKeyServer(t, nil)
	s := reads(2500)
	s.Keys = Keys{Count: 50, Distribution: "hot", HotFraction: 0.9, HotKeys: 1}
	res := run(t, srv.URL, []Stream{s}, WithDuration(2*time.Second), WithSeed(7))
	if len(res.Ops) != int(res.ByStream[0].Health.Sent) {
		t.Errorf("%d ops for %d requests", len(res.Ops), res.ByStream[0].Health.Sent)
	}

	// A request that failed in the transport (a dial timeout on a machine
	// starved of CPU) may or may not have reached the server.
	fromOps, failed := map[string]int{}, map[string]int{}
	for _, op := range res.Ops {
		fromOps[history.KeyName(op.Key)]++
		if op.Code == 0 {
			failed[history.KeyName(op.Key)]++
		}
	}
	srv.mu.Lock()
	onWire := srv.byKey
	srv.mu.Unlock()
	for k, n := range onWire {
		if n > fromOps[k] || n < fromOps[k]-failed[k] {
			t.Errorf("key %s: server saw %d, ops record %d (%d failed in the transport)", k, n, fromOps[k], failed[k])
		}
	}
	if share := float64(fromOps["k0"]) / float64(len(res.Ops)); share < 0.82 || share > 0.97 {
		t.Errorf("hot key share %.2f, want about 0.9", share)
	}

	// The targeter draws keys in sequence, so a run sends a prefix of its
	// stream's key sequence: of two runs with one seed, the keys of the
	// shorter are among those of the longer (usually both send all).
	keyCounts := func(r *Result) map[uint32]int {
		m := map[uint32]int{}
		for _, op := range r.Ops {
			m[op.Key]++
		}
		return m
	}
	contained := func(a, b *Result) bool {
		if len(a.Ops) > len(b.Ops) {
			a, b = b, a
		}
		ca, cb := keyCounts(a), keyCounts(b)
		for k, n := range ca {
			if cb[k] < n {
				return false
			}
		}
		return true
	}
	s.Keys = Keys{Count: 1000, Distribution: "zipf"}
	own := &http.Client{Transport: &http.Transport{}}
	defer own.CloseIdleConnections()
	a := run(t, srv.URL, []Stream{s}, WithDuration(500*time.Millisecond), WithSeed(7), WithHTTPClient(own))
	b := run(t, srv.URL, []Stream{s}, WithDuration(500*time.Millisecond), WithSeed(7))
	c := run(t, srv.URL, []Stream{s}, WithDuration(500*time.Millisecond), WithSeed(8))
	if !contained(a, b) {
		t.Error("the same seed sent different keys")
	}
	if contained(a, c) {
		t.Error("another seed sent the same keys")
	}
}

func TestRunSlowHandler(t *testing.T) {
	srv := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, _ string) { wait(r, 50*time.Millisecond) })
	res := run(t, srv.URL, []Stream{reads(100)}, WithDuration(2*time.Second))
	ps := whole(res.ByStream[0])
	t.Logf("latency %+v, health %+v", ps.Success, res.ByStream[0].Health)
	if ps.Success.P50 < 50*time.Millisecond || ps.Success.P50 > 80*time.Millisecond {
		t.Errorf("p50 %v, want about 50 ms", ps.Success.P50)
	}
	// Measured from the intended send time, no answer can be faster than
	// the handler: a start time read late would make some (seen: most).
	if fastest := ps.Spectrum[0]; fastest.Percent != 0 || fastest.Latency < 50*time.Millisecond {
		t.Errorf("fastest answer %v (at %g %%), below the handler's 50 ms", fastest.Latency, fastest.Percent)
	}
	if h := res.ByStream[0].Health; h.CapHit || h.PeakWorkers < 4 || h.PeakWorkers > 30 || !within(float64(h.Sent), float64(h.Intended), rateTolerance()) {
		t.Errorf("health %+v: want about 5 concurrent requests (100/s × 50 ms), all sent", h)
	}
}

// TestRunSaturation: a target that takes 100 ms against 4 workers serves
// 40/s; asked for 100/s, the generator must say it fell behind, and latency
// measured from the intended send time must grow with the backlog.
func TestRunSaturation(t *testing.T) {
	srv := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, _ string) { wait(r, 100*time.Millisecond) })
	s := reads(100)
	s.MaxWorkers = 4
	res := run(t, srv.URL, []Stream{s}, WithDuration(2*time.Second), WithLogger(discardLogger()))

	h := res.ByStream[0].Health
	t.Logf("health %+v", h)
	if !h.Saturated || !h.CapHit || h.PeakWorkers != 4 || h.WorkerLimit != 4 {
		t.Errorf("health %+v: want saturated at the cap of 4", h)
	}
	if h.LateSends < h.Sent/2 || h.MaxLate < 500*time.Millisecond {
		t.Errorf("late sends %d of %d, max late %v: want most sends late by up to about a second", h.LateSends, h.Sent, h.MaxLate)
	}
	if h.Intended != 200 || h.Sent > 100 || h.Unsent != h.Intended-h.Sent {
		t.Errorf("intended %d sent %d unsent %d: want 200 scheduled, far fewer sent, the rest unsent", h.Intended, h.Sent, h.Unsent)
	}
	// The backlog grows through the first second; the hits never sent wait,
	// by the engine's account, until the end of the run.
	sr := res.ByStream[0]
	first := sr.Second(0).Success
	t.Logf("first second %+v, whole %+v", first, whole(sr))
	if first.P50 < 100*time.Millisecond || first.Max < first.P50+300*time.Millisecond {
		t.Errorf("latency %+v: want latency from the intended time to grow with the backlog", first)
	}
	if last := sr.Second(1); last.Unsent == 0 || last.Failure.Count != last.Unsent || last.Failure.Max < 900*time.Millisecond {
		t.Errorf("last second %+v: want its hits unsent, each waiting until the end", last)
	}
	if ps := whole(sr); ps.Late != h.LateSends || ps.Unsent != h.Unsent || ps.Requests != h.Intended {
		t.Errorf("whole %+v does not match health %+v", ps, h)
	}
}

func TestRunOutcomesFromHeaders(t *testing.T) {
	type answer struct {
		code    int
		version string
		source  string
		drop    bool // hang up without a response
	}
	answers := map[string]map[string]answer{
		"PUT": {
			"k0": {code: 200, version: "7", source: "db"},
			"k1": {code: 202, version: "3", source: "queue"},
			"k2": {code: 503},
			"k3": {code: 429},
			"k4": {code: 500},
			"k5": {drop: true},
			"k6": {code: 400},
			"k7": {code: 502},
		},
		"GET": {
			"k0": {code: 200, version: "5", source: "cache"},
			"k1": {code: 200, version: "4", source: "stale"},
			"k2": {code: 404, version: "0"},
			"k3": {code: 503},
			"k4": {code: 500},
			"k5": {drop: true},
			"k6": {code: 200, version: "9", source: "db"},
			"k7": {code: 429},
		},
	}
	srv := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, key string) {
		a := answers[r.Method][key]
		if a.drop {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		if a.version != "" {
			w.Header().Set("X-Version", a.version)
		}
		if a.source != "" {
			w.Header().Set("X-Source", a.source)
		}
		w.WriteHeader(a.code)
	})
	keys := Keys{Count: 8}
	w, r := writes(100), reads(100)
	w.Keys, r.Keys = keys, keys
	res := run(t, srv.URL, []Stream{r, w}, WithDuration(time.Second))

	want := map[bool]map[string]history.Outcome{
		true: {"k0": history.OK, "k1": history.OK, "k2": history.Fail, "k3": history.Fail,
			"k4": history.Unknown, "k5": history.Unknown, "k6": history.Fail, "k7": history.Unknown},
		false: {"k0": history.OK, "k1": history.OK, "k2": history.OK, "k3": history.Fail,
			"k4": history.Fail, "k5": history.Fail, "k6": history.OK, "k7": history.Fail},
	}
	if len(res.Ops) < 100 {
		t.Fatalf("%d ops, want about 200", len(res.Ops))
	}
	for _, op := range res.Ops {
		key := history.KeyName(op.Key)
		method := map[bool]string{true: "PUT", false: "GET"}[op.Write]
		a := answers[method][key]
		if op.Write != (op.Stream == 1) {
			t.Fatalf("op %+v: stream and write disagree", op)
		}
		if got, w := op.Outcome, want[op.Write][key]; got != w {
			t.Errorf("%s %s (code %d): outcome %v, want %v", method, key, op.Code, got, w)
		}
		if a.drop {
			if op.Code != 0 {
				t.Errorf("%s %s: code %d for a dropped connection, want 0", method, key, op.Code)
			}
			continue
		}
		v := history.ParseVersion(a.version) // a hint: absent is NoVersion
		if int(op.Code) != a.code || op.Version != v || op.Source.String() != a.source {
			t.Errorf("%s %s: op code %d version %d source %q, want %d %d %q", method, key, op.Code, op.Version, op.Source, a.code, v, a.source)
		}
		if op.CompleteNs < op.InvokeNs || op.InvokeNs < 0 {
			t.Errorf("op times %d..%d", op.InvokeNs, op.CompleteNs)
		}
	}
	for i, sr := range res.ByStream {
		var codes, errs, sources, successes, requests int64
		for sec := range sr.Seconds() {
			b := sr.Second(sec)
			requests += b.Requests
			successes += b.Successes
			for _, n := range b.Codes {
				codes += n
			}
			for _, n := range b.Errors {
				errs += n
			}
			for _, n := range b.Sources {
				sources += n
			}
			if n := b.Errors[ErrEOF] + b.Errors[ErrReset]; n != b.Codes[0] {
				t.Errorf("stream %d second %d: %d transport errors, %d hang-ups classified (%v)", i, sec, b.Codes[0], n, b.Errors)
			}
		}
		if codes != requests || errs == 0 || sources == 0 || successes == 0 || successes == requests {
			t.Errorf("stream %s: requests %d codes %d errors %d sources %d successes %d", sr.Stream.Name, requests, codes, errs, sources, successes)
		}
	}
}

func TestRunTimeoutAndRefused(t *testing.T) {
	slow := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, _ string) { wait(r, time.Second) })
	res := run(t, slow.URL, []Stream{writes(20)}, WithDuration(500*time.Millisecond), WithTimeout(100*time.Millisecond))
	if len(res.Ops) == 0 {
		t.Fatal("no ops")
	}
	for _, op := range res.Ops {
		if op.Code != 0 || op.Outcome != history.Unknown {
			t.Fatalf("timed-out write %+v: want code 0, outcome unknown", op)
		}
	}
	if b := res.ByStream[0].Second(0); b.Errors[ErrTimeout] != b.Requests || b.Successes != 0 {
		t.Errorf("bucket %+v: want every request a timeout", b)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	res = run(t, closed, []Stream{writes(20), reads(20)}, WithDuration(500*time.Millisecond))
	if len(res.Ops) == 0 {
		t.Fatal("no ops")
	}
	for _, op := range res.Ops {
		if op.Code != 0 || op.Outcome != history.Fail {
			t.Fatalf("refused op %+v: want code 0, outcome fail", op)
		}
	}
	if b := res.ByStream[0].Second(0); b.Errors[ErrRefused] != b.Requests {
		t.Errorf("bucket %+v: want every request refused", b)
	}
}

// TestRunCancel: cancelling stops every stream promptly, including one
// whose next hit is a minute away, and returns what was measured.
func TestRunCancel(t *testing.T) {
	srv := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, _ string) { wait(r, 20*time.Millisecond) })
	before := runtime.NumGoroutine()
	slow := reads(0)
	slow.Name, slow.Rate = "slow", 1.0/60

	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, srv.URL, []Stream{reads(100), slow}, WithDuration(30*time.Second))
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
	if res == nil {
		t.Fatal("no partial result")
	}
	if took > 2500*time.Millisecond {
		t.Errorf("Run returned %v after start, want promptly after the 700 ms cancel", took)
	}
	if d := res.Duration; d < 650*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("duration run %v, want about 700 ms", d)
	}
	h := res.ByStream[0].Health
	t.Logf("took %v, health %+v", took, h)
	if h.Sent < 40 || h.Sent > h.Intended || !within(float64(h.Intended), res.Duration.Seconds()*100, 0.05) {
		t.Errorf("sent %d intended %d in %v, want about 70 and all scheduled before the cancel", h.Sent, h.Intended, res.Duration)
	}
	if sr := res.ByStream[0]; sr.Seconds() != 1 || whole(sr).Requests != h.Intended {
		t.Errorf("partial result: %d seconds, %d requests, want 1 and %d", sr.Seconds(), whole(sr).Requests, h.Intended)
	}

	srv.Close()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling under a deadline for goroutines to exit
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after the run, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestRunProgress(t *testing.T) {
	srv := newKeyServer(t, nil)
	var mu sync.Mutex
	var seen []Progress
	var started time.Time
	res := run(t, srv.URL, []Stream{reads(100), writes(50)}, WithDuration(2500*time.Millisecond),
		WithOnStart(func(t0 time.Time) { started = t0 }),
		WithProgress(func(p Progress) {
			mu.Lock()
			seen = append(seen, p)
			mu.Unlock()
		}))
	if !started.Equal(res.T0) {
		t.Errorf("OnStart got %v, result T0 %v", started, res.T0)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("progress: %+v", seen)
	if len(seen) < 3 {
		t.Fatalf("%d progress calls in 2.5 s, want 2 ticks and a final one", len(seen))
	}
	if !within(seen[0].CurrentRate, 150, 0.3) || seen[0].Elapsed < 900*time.Millisecond {
		t.Errorf("first progress %+v: want about 150 req/s after about 1 s", seen[0])
	}
	if last := seen[len(seen)-1]; last.Sent != int64(len(res.Ops)) || last.Errors != 0 {
		t.Errorf("final progress %+v, want %d sent, no errors", last, len(res.Ops))
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	ok := []Stream{reads(10)}
	bad := reads(10)
	bad.Keys.Distribution = "pareto"
	for name, c := range map[string]struct {
		base    string
		streams []Stream
		opts    []Option
	}{
		"no duration":  {"http://127.0.0.1:1", ok, nil},
		"remote host":  {"http://192.0.2.1:80", ok, []Option{WithDuration(time.Second)}},
		"no scheme":    {"127.0.0.1:80", ok, []Option{WithDuration(time.Second)}},
		"distribution": {"http://127.0.0.1:1", []Stream{bad}, []Option{WithDuration(time.Second)}},
		"zero workers": {"http://127.0.0.1:1", ok, []Option{WithDuration(time.Second), WithMaxWorkers(0)}},
	} {
		res, err := Run(ctx, c.base, c.streams, c.opts...)
		if err == nil || res != nil {
			t.Errorf("%s: Run = %v, %v; want an error and no result", name, res, err)
		} else if !strings.HasPrefix(err.Error(), "load: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
}

// TestRunChargesTheIntendedSecond: a fault from 1 s to 2 s holds every
// request until it heals; with one worker, the hits intended during the
// fault leave after it. They belong to the fault's second, as wrk2 and
// HdrHistogram count an open model, and their lateness shows beside them.
func TestRunChargesTheIntendedSecond(t *testing.T) {
	var t0 atomic.Pointer[time.Time]
	srv := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		start := t0.Load()
		if since := time.Since(*start); since >= time.Second && since < 2*time.Second {
			wait(r, 2*time.Second-since)
		}
	})
	s := reads(20)
	s.MaxWorkers = 1
	res := run(t, srv.URL, []Stream{s}, WithDuration(3*time.Second), WithOnStart(func(at time.Time) { t0.Store(&at) }))
	sr := res.ByStream[0]
	if h := sr.Health; h.Sent != 60 {
		t.Skipf("the machine stalled the run: %+v", h)
	}
	sentAfter := 0
	for _, op := range res.Ops {
		if op.InvokeNs >= int64(2*time.Second) {
			sentAfter++
		}
	}
	during, after := sr.Second(1), sr.Second(2)
	t.Logf("during %+v\nafter %+v\n%d requests left after the heal", during, after, sentAfter)
	if during.Requests != 20 || after.Requests != 20 {
		t.Errorf("second 1 holds %d requests, second 2 %d: want each its 20 intended ones", during.Requests, after.Requests)
	}
	if sentAfter < 20+15 || during.Late < 15 || during.MaxLate < 800*time.Millisecond {
		t.Errorf("%d requests left after the heal, %d of the fault's late by up to %v: want the fault's backlog sent after it", sentAfter, during.Late, during.MaxLate)
	}
	if during.Success.Max < 900*time.Millisecond {
		t.Errorf("fault second latency %+v: want the wait for the heal in it", during.Success)
	}
}

// TestRunCountsUnsentHits: a target too slow for its one worker leaves
// hits unsent at the end; each is a failed request of its intended second,
// with a latency of at least the time from its intended send to the end.
func TestRunCountsUnsentHits(t *testing.T) {
	srv := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, _ string) { wait(r, 400*time.Millisecond) })
	s := reads(20)
	s.MaxWorkers = 1
	res := run(t, srv.URL, []Stream{s}, WithDuration(time.Second))
	h := res.ByStream[0].Health
	sum := whole(res.ByStream[0])
	t.Logf("health %+v\nwhole %+v", h, sum)
	if h.Unsent < 10 || h.Unsent != h.Intended-h.Sent || !h.Saturated {
		t.Errorf("health %+v: want most of the 20 hits unsent and the generator saturated", h)
	}
	if sum.Unsent != h.Unsent || sum.Requests != h.Intended || sum.Successes != h.Sent || sum.Failure.Count != h.Unsent {
		t.Errorf("summary %+v: want the unsent hits counted as failed requests", sum)
	}
	if sum.Failure.Max < 900*time.Millisecond {
		t.Errorf("unsent latency %+v: the first unsent hit was due near the start of a 1 s run", sum.Failure)
	}
}

// TestRunPoissonArrivals: Poisson arrivals keep the mean rate, vary the
// gaps, and repeat with the seed.
func TestRunPoissonArrivals(t *testing.T) {
	p := NewPacer(200, nil, 10*time.Second, WithPoisson(1))
	q := NewPacer(200, nil, 10*time.Second, WithPoisson(1))
	n := p.Scheduled(10 * time.Second)
	if !within(float64(n), 2000, 0.1) {
		t.Errorf("%d hits in 10 s at 200/s", n)
	}
	var short int
	for i := range uint64(n - 1) {
		gap := p.HitTime(i+1) - p.HitTime(i)
		if gap < 0 || p.HitTime(i) != q.HitTime(i) {
			t.Fatalf("hit %d: %v then %v, or another schedule with the same seed", i, p.HitTime(i), p.HitTime(i+1))
		}
		if gap < 5*time.Millisecond/2 {
			short++
		}
	}
	// Exponential gaps of mean 5 ms: P(gap < 2.5 ms) = 1 − e^(−½) ≈ 0.39.
	if share := float64(short) / float64(n); share < 0.33 || share > 0.45 {
		t.Errorf("%.2f of the gaps under half the mean, want about 0.39", share)
	}
	if r := NewPacer(200, nil, 10*time.Second, WithPoisson(2)); r.HitTime(5) == p.HitTime(5) {
		t.Error("another seed gave the same schedule")
	}
}

// TestRunFastFailuresLeaveSuccessLatency: during the second second the
// target fails three requests in four at once with a 503. The successes'
// latency of that second stays what it was; the failures' sits beside it.
// (Medians, not p99s: a loaded machine's jitter owns the tail of 50
// requests.)
func TestRunFastFailuresLeaveSuccessLatency(t *testing.T) {
	var t0 atomic.Pointer[time.Time]
	var n atomic.Int64
	srv := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		if since := time.Since(*t0.Load()); since >= time.Second && since < 2*time.Second && n.Add(1)%4 != 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		wait(r, 60*time.Millisecond)
	})
	res := run(t, srv.URL, []Stream{reads(200)}, WithDuration(2*time.Second), WithOnStart(func(at time.Time) { t0.Store(&at) }))
	before, during := res.ByStream[0].Second(0), res.ByStream[0].Second(1)
	t.Logf("before %+v\nduring %+v\nfailures %+v", before.Success, during.Success, during.Failure)
	if during.Codes[503] < 100 || during.Success.Count < 20 {
		t.Fatalf("during: codes %v: want mostly fast 503s and some successes", during.Codes)
	}
	if r := float64(during.Success.P50) / float64(before.Success.P50); r < 0.7 || r > 1.5 {
		t.Errorf("success p50 %v during the 503s, %v before: want it unaffected", during.Success.P50, before.Success.P50)
	}
	if during.Failure.P50*2 > during.Success.P50 {
		t.Errorf("failure p50 %v, success p50 %v: want the fast failures apart", during.Failure.P50, during.Success.P50)
	}
}

// TestRunRetriesByPolicy: a target answers 412 to the first two attempts of
// every hit, and to every attempt on key k0. With retry {max: 3, on: [412]}
// every other hit succeeds on its third attempt, its retries counted and
// its body (the write's value) sent again intact; hits on k0 give up after
// four attempts and fail with the 412. A status not in the policy (404) is
// not retried.
func TestRunRetriesByPolicy(t *testing.T) {
	var mu sync.Mutex
	attempts := map[string]int{}  // by X-Vegeta-Seq
	bodies := map[string]string{} // the first body of each hit
	var mismatched int
	srv := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, key string) {
		body, _ := io.ReadAll(r.Body)
		seq := r.Header.Get("X-Vegeta-Seq")
		mu.Lock()
		attempts[seq]++
		n := attempts[seq]
		if first, ok := bodies[seq]; !ok {
			bodies[seq] = string(body)
		} else if first != string(body) {
			mismatched++
		}
		mu.Unlock()
		switch {
		case key == "k1":
			w.WriteHeader(http.StatusNotFound)
		case key == "k0" || n <= 2:
			w.WriteHeader(http.StatusPreconditionFailed)
		}
	})
	st := writes(50)
	st.Keys = Keys{Count: 4}
	st.Retry = &Retry{Max: 3, On: []int{http.StatusPreconditionFailed}}
	res := run(t, srv.URL, []Stream{st}, WithDuration(2*time.Second), WithSeed(3))
	sr := res.ByStream[0]
	sum := whole(sr)
	hits := map[uint32]int64{}
	for _, op := range res.Ops {
		hits[op.Key]++
	}
	wantRetries := 3*hits[0] + 2*(hits[2]+hits[3])
	t.Logf("hits by key %v, retries %d, codes %v", hits, sr.Health.Retries, sum.Codes)
	if sr.Health.Retries != wantRetries {
		t.Errorf("retries %d, want %d (3 per hit on k0, 2 per hit on k2 and k3, none on k1's 404)", sr.Health.Retries, wantRetries)
	}
	if sum.Codes[412] != hits[0] || sum.Codes[404] != hits[1] || sum.Codes[200] != hits[2]+hits[3] {
		t.Errorf("codes %v; want 412 ×%d (k0), 404 ×%d (k1), 200 ×%d", sum.Codes, hits[0], hits[1], hits[2]+hits[3])
	}
	if mismatched > 0 || len(bodies) != int(sr.Health.Sent) {
		t.Errorf("%d retries sent another body; %d hits seen by the target, %d sent", mismatched, len(bodies), sr.Health.Sent)
	}
	// Every attempt the target saw is counted in the second it left (those
	// after the run's end, retries of the last hits, are dropped): the load
	// a retry policy really puts on the target.
	var counted, seen int64
	for s := range sr.Seconds() {
		counted += sr.Attempts(s)
	}
	mu.Lock()
	for _, n := range attempts {
		seen += int64(n)
	}
	mu.Unlock()
	if seen != sr.Health.Sent+sr.Health.Retries || counted > seen || counted < seen*9/10 {
		t.Errorf("attempts counted %d, seen by the target %d, sent + retries %d", counted, seen, sr.Health.Sent+sr.Health.Retries)
	}
	if sr.Attempts(0) == 0 || sr.Attempts(sr.Seconds()-1) == 0 {
		t.Errorf("attempts per second %d … %d: want both seconds of the run to have some", sr.Attempts(0), sr.Attempts(sr.Seconds()-1))
	}
}

// TestRunConditionalReads: a target whose values never change answers
// If-None-Match with 304 and no body. A conditional stream fetches each
// key's body once (a 200 with its ETag) and revalidates it ever after: its
// 304s count as successes that return the value first fetched, and the
// body bytes received are one body per key. The same stream without
// conditional fetches every body.
func TestRunConditionalReads(t *testing.T) {
	const bodyLen = 1000
	var mu sync.Mutex
	conditional := 0
	srv := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, key string) {
		etag := `"` + key + `"`
		w.Header().Set("ETag", etag)
		w.Header().Set("X-Version", "1")
		if r.Header.Get("If-None-Match") == etag {
			mu.Lock()
			conditional++
			mu.Unlock()
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte(strings.Repeat("x", bodyLen)))
	})
	for _, cond := range []bool{true, false} {
		st := reads(100)
		st.Keys, st.Conditional = Keys{Count: 5}, cond
		res := run(t, srv.URL, []Stream{st}, WithDuration(time.Second), WithSeed(1))
		sum := whole(res.ByStream[0])
		keys := map[uint32]bool{}
		okOps := 0
		for _, op := range res.Ops {
			keys[op.Key] = true
			if op.Outcome == history.OK {
				okOps++
			}
		}
		t.Logf("conditional %v: codes %v, body bytes %d, successes %d of %d", cond, sum.Codes, sum.BodyBytes, sum.Successes, sum.Requests)
		if sum.Successes != sum.Requests || okOps != len(res.Ops) {
			t.Errorf("conditional %v: %d successes, %d ok ops of %d: a 304 on a held copy is a success", cond, sum.Successes, okOps, sum.Requests)
		}
		fetched := sum.Codes[200]
		if cond && (fetched < int64(len(keys)) || fetched > int64(len(keys))+5 || sum.Codes[304] == 0) {
			// Hits on a key already in flight before its first answer
			// came back fetch it too: a few more 200s than keys.
			t.Errorf("conditional: %d bodies fetched for %d keys, %d revalidated", fetched, len(keys), sum.Codes[304])
		}
		if !cond && (sum.Codes[304] != 0 || fetched != sum.Requests) {
			t.Errorf("unconditional: codes %v, want every read a 200", sum.Codes)
		}
		if sum.BodyBytes != fetched*bodyLen {
			t.Errorf("conditional %v: %d body bytes received, want %d (%d bodies of %d)", cond, sum.BodyBytes, fetched*bodyLen, fetched, bodyLen)
		}
	}
	if conditional == 0 {
		t.Error("the target never saw If-None-Match")
	}
}

// TestRunRetryTimeoutsAndBudget: a target that holds the first attempt of
// every hit for 400 ms and answers the next at once; a policy with a
// 100 ms per-attempt timeout retries the timeout and every hit succeeds
// on its second attempt, well before the stream's own 2 s timeout. A target
// that always answers 503, retried by a policy with a 10 % budget, gets at
// most the budget's burst plus a tenth of the hits as retries, not five
// per hit.
func TestRunRetryTimeoutsAndBudget(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	slowFirst := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, key string) {
		seq := r.Header.Get("X-Vegeta-Seq")
		mu.Lock()
		seen[seq]++
		n := seen[seq]
		mu.Unlock()
		if n == 1 {
			wait(r, 400*time.Millisecond)
		}
	})
	st := reads(50)
	st.Retry = &Retry{Max: 2, OnTimeout: true, Timeout: 100 * time.Millisecond}
	res := run(t, slowFirst.URL, []Stream{st}, WithDuration(time.Second))
	sr := res.ByStream[0]
	sum := whole(sr)
	t.Logf("timeouts: retries %d, codes %v, p50 %v", sr.Health.Retries, sum.Codes, sum.Success.P50)
	if sum.Successes != sum.Requests || sr.Health.Retries != sr.Health.Sent {
		t.Errorf("%d of %d succeeded with %d retries; want every hit to succeed on its second attempt", sum.Successes, sum.Requests, sr.Health.Retries)
	}
	if p50 := sum.Success.P50; p50 < 100*time.Millisecond || p50 > 350*time.Millisecond {
		t.Errorf("p50 %v: want the 100 ms attempt timeout plus a fast answer", p50)
	}

	refusing := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, key string) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	st = reads(100)
	st.Retry = &Retry{Max: 5, On: []int{http.StatusServiceUnavailable}, Budget: 0.1}
	res = run(t, refusing.URL, []Stream{st}, WithDuration(time.Second))
	sr = res.ByStream[0]
	limit := int64(budgetBurst) + sr.Health.Sent/10 + 1
	t.Logf("budget: %d hits, %d retries (at most %d)", sr.Health.Sent, sr.Health.Retries, limit)
	if sr.Health.Retries > limit || sr.Health.Retries < budgetBurst {
		t.Errorf("%d retries for %d hits, want between %d and %d", sr.Health.Retries, sr.Health.Sent, budgetBurst, limit)
	}
}

// TestStartAt: two runs called at different moments but given one instant
// start together, at that instant; cancelled before it, a run sends
// nothing and says why.
func TestStartAt(t *testing.T) {
	srv := newKeyServer(t, nil)
	at := time.Now().Add(300 * time.Millisecond)
	var t0s [2]time.Time
	var wg sync.WaitGroup
	for i := range t0s {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 100 * time.Millisecond) // the second caller's set-up is slower
			t0s[i] = run(t, srv.URL, []Stream{reads(50)}, WithDuration(200*time.Millisecond), WithStartAt(at)).T0
		})
	}
	wg.Wait()
	for i, t0 := range t0s {
		if d := t0.Sub(at); d < 0 || d > 50*time.Millisecond {
			t.Errorf("run %d started %v after the instant, want within 50ms", i, d)
		}
	}
	if d := t0s[1].Sub(t0s[0]).Abs(); d > 20*time.Millisecond {
		t.Errorf("the runs started %v apart", d)
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("the other side failed"))
	res, err := Run(ctx, srv.URL, []Stream{reads(50)}, WithDuration(time.Second), WithStartAt(time.Now().Add(time.Minute)), WithLogger(discardLogger()))
	if res != nil || err == nil || !strings.Contains(err.Error(), "the other side failed") {
		t.Errorf("cancelled before the start: result %v, error %v; want none and the cause", res, err)
	}
}
