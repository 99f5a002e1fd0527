package load

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
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

func reads(rate int) scenarios.Stream {
	return scenarios.Stream{Name: "reads", Method: "GET", Path: "/items/{key}", Rate: perSecond(rate), Keys: scenarios.Keys{Count: 100}}
}

func writes(rate int) scenarios.Stream {
	return scenarios.Stream{Name: "writes", Method: "PUT", Path: "/items/{key}", Rate: perSecond(rate), Keys: scenarios.Keys{Count: 100}}
}

func run(t *testing.T, base string, streams []scenarios.Stream, opts ...Option) *Result {
	t.Helper()
	res, err := Run(context.Background(), base, streams, append([]Option{WithLogger(discardLogger())}, opts...)...)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func whole(r *Result) results.Phase {
	return results.Phase{Name: "whole", StartS: 0, EndS: r.Duration.Seconds()}
}

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
	res := run(t, srv.URL, []scenarios.Stream{reads(200)}, WithDuration(3*time.Second), WithSeed(1))

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
	st := res.Streams([]results.Phase{whole(res)})[0]
	if len(st.Seconds) != 3 {
		t.Fatalf("%d buckets, want 3", len(st.Seconds))
	}
	for _, b := range st.Seconds {
		// Seconds count requests by when they really left, so a stall of
		// the machine moves some to the next second.
		if clean && !within(float64(b.Requests), 200, 0.2) {
			t.Errorf("second %d: %d requests, want 200 ±20%%", b.T, b.Requests)
		}
		if b.Successes != b.Requests || b.Codes["200"] != b.Requests || b.Sources["db"] != b.Requests {
			t.Errorf("second %d: %+v, want every request a 200 from db", b.T, b)
		}
	}
	if ps := st.Phases[0]; !within(ps.Rate, float64(h.Sent)/3, 1e-9) || ps.Throughput != ps.Rate || ps.SuccessRatio != 1 {
		t.Errorf("whole: rate %.1f throughput %.1f success %.3f, want 200, 200, 1", ps.Rate, ps.Throughput, ps.SuccessRatio)
	}
	if st.Rate != "200/s" {
		t.Errorf("rate described as %q", st.Rate)
	}
}

// TestRunRamp: 50/s → 250/s over 2 s then a 1 s hold sends the integral,
// 550, in one attack; each second gets its share of the ramp.
func TestRunRamp(t *testing.T) {
	srv := newKeyServer(t, nil)
	s := reads(50)
	s.Stages = []scenarios.Stage{{Duration: 2 * time.Second, Target: perSecond(250)}}
	res := run(t, srv.URL, []scenarios.Stream{s}, WithDuration(3*time.Second))

	h := res.ByStream[0].Health
	t.Logf("health: %+v", h)
	clean := checkSent(t, h, 550)
	st := res.Streams(nil)[0]
	for i, want := range []float64{100, 200, 250} {
		if got := st.Seconds[i].Requests; clean && !within(float64(got), want, 0.2) {
			t.Errorf("second %d: %d requests, want %.0f ±20%%", i, got, want)
		}
	}
	if st.Rate != "ramp 50/s→250/s" {
		t.Errorf("rate described as %q", st.Rate)
	}
}

// TestRunKeys checks the keys on the wire: the server sees exactly the keys
// the ops record, a hot distribution concentrates, and a seed reproduces.
// The first run sends about 5000 requests, more than one chunk of the op
// history's spool, so the ops also make the round trip through its file.
func TestRunKeys(t *testing.T) {
	srv := newKeyServer(t, nil)
	s := reads(2500)
	s.Keys = scenarios.Keys{Count: 50, Distribution: "hot", HotFraction: 0.9, HotKeys: 1}
	res := run(t, srv.URL, []scenarios.Stream{s}, WithDuration(2*time.Second), WithSeed(7))
	if len(res.Ops) != int(res.ByStream[0].Health.Sent) {
		t.Errorf("%d ops for %d requests", len(res.Ops), res.ByStream[0].Health.Sent)
	}

	fromOps := map[string]int{}
	for _, op := range res.Ops {
		fromOps[history.KeyName(op.Key)]++
	}
	srv.mu.Lock()
	onWire := srv.byKey
	srv.mu.Unlock()
	for k, n := range onWire {
		if fromOps[k] != n {
			t.Errorf("key %s: server saw %d, ops record %d", k, n, fromOps[k])
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
	s.Keys = scenarios.Keys{Count: 1000, Distribution: "zipf"}
	own := &http.Client{Transport: &http.Transport{}}
	defer own.CloseIdleConnections()
	a := run(t, srv.URL, []scenarios.Stream{s}, WithDuration(500*time.Millisecond), WithSeed(7), WithHTTPClient(own))
	b := run(t, srv.URL, []scenarios.Stream{s}, WithDuration(500*time.Millisecond), WithSeed(7))
	c := run(t, srv.URL, []scenarios.Stream{s}, WithDuration(500*time.Millisecond), WithSeed(8))
	if !contained(a, b) {
		t.Error("the same seed sent different keys")
	}
	if contained(a, c) {
		t.Error("another seed sent the same keys")
	}
}

func TestRunSlowHandler(t *testing.T) {
	srv := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, _ string) { wait(r, 50*time.Millisecond) })
	res := run(t, srv.URL, []scenarios.Stream{reads(100)}, WithDuration(2*time.Second))
	ps, ok := res.Summary("reads", whole(res))
	if !ok {
		t.Fatal("no summary")
	}
	t.Logf("latency %+v, health %+v", ps.Latency, res.ByStream[0].Health)
	if ps.Latency.P50 < 50 || ps.Latency.P50 > 80 {
		t.Errorf("p50 %.1f ms, want about 50", ps.Latency.P50)
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
	res := run(t, srv.URL, []scenarios.Stream{s}, WithDuration(2*time.Second), WithLogger(discardLogger()))

	h := res.ByStream[0].Health
	t.Logf("health %+v", h)
	if !h.Saturated || !h.CapHit || h.PeakWorkers != 4 || h.WorkerLimit != 4 {
		t.Errorf("health %+v: want saturated at the cap of 4", h)
	}
	if h.LateSends < h.Sent/2 || h.MaxLate < 500*time.Millisecond {
		t.Errorf("late sends %d of %d, max late %v: want most sends late by up to about a second", h.LateSends, h.Sent, h.MaxLate)
	}
	if h.Intended != 200 || h.Sent > 100 {
		t.Errorf("intended %d sent %d: want 200 scheduled and far fewer sent", h.Intended, h.Sent)
	}
	st := res.Streams([]results.Phase{whole(res)})[0]
	first, last := st.Seconds[0].Latency.P50, st.Seconds[len(st.Seconds)-1].Latency.P50
	t.Logf("p50 first second %.0f ms, last second %.0f ms, whole p99 %.0f ms", first, last, st.Phases[0].Latency.P99)
	if first < 100 || last < first+200 {
		t.Errorf("p50 %.0f ms then %.0f ms: want latency from the intended time to grow with the backlog", first, last)
	}
	if !st.Saturated || st.LateSends != h.LateSends || st.MaxWorkers != 4 {
		t.Errorf("schema health %+v does not match", st)
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
	keys := scenarios.Keys{Count: 8}
	w, r := writes(100), reads(100)
	w.Keys, r.Keys = keys, keys
	res := run(t, srv.URL, []scenarios.Stream{r, w}, WithDuration(time.Second))

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
		v, _ := strconv.ParseInt(a.version, 10, 64)
		if int(op.Code) != a.code || op.Version != v || op.Source.String() != a.source {
			t.Errorf("%s %s: op code %d version %d source %q, want %d %d %q", method, key, op.Code, op.Version, op.Source, a.code, v, a.source)
		}
		if op.CompleteNs < op.InvokeNs || op.InvokeNs < 0 {
			t.Errorf("op times %d..%d", op.InvokeNs, op.CompleteNs)
		}
	}
	for i, st := range res.Streams(nil) {
		var codes, errs, sources, successes, requests int64
		for _, b := range st.Seconds {
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
			if n := b.Errors["eof"] + b.Errors["reset"]; n != b.Codes["0"] {
				t.Errorf("stream %d second %d: %d transport errors, %d hang-ups classified (%v)", i, b.T, b.Codes["0"], n, b.Errors)
			}
		}
		if codes != requests || errs == 0 || sources == 0 || successes == 0 || successes == requests {
			t.Errorf("stream %s: requests %d codes %d errors %d sources %d successes %d", st.Name, requests, codes, errs, sources, successes)
		}
	}
}

func TestRunTimeoutAndRefused(t *testing.T) {
	slow := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, _ string) { wait(r, time.Second) })
	res := run(t, slow.URL, []scenarios.Stream{writes(20)}, WithDuration(500*time.Millisecond), WithTimeout(100*time.Millisecond))
	if len(res.Ops) == 0 {
		t.Fatal("no ops")
	}
	for _, op := range res.Ops {
		if op.Code != 0 || op.Outcome != history.Unknown {
			t.Fatalf("timed-out write %+v: want code 0, outcome unknown", op)
		}
	}
	if b := res.Streams(nil)[0].Seconds[0]; b.Errors["timeout"] != b.Requests || b.Successes != 0 {
		t.Errorf("bucket %+v: want every request a timeout", b)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	res = run(t, closed, []scenarios.Stream{writes(20), reads(20)}, WithDuration(500*time.Millisecond))
	if len(res.Ops) == 0 {
		t.Fatal("no ops")
	}
	for _, op := range res.Ops {
		if op.Code != 0 || op.Outcome != history.Fail {
			t.Fatalf("refused op %+v: want code 0, outcome fail", op)
		}
	}
	if b := res.Streams(nil)[0].Seconds[0]; b.Errors["refused"] != b.Requests {
		t.Errorf("bucket %+v: want every request refused", b)
	}
}

// TestRunCancel: cancelling stops every stream promptly, including one
// whose next hit is a minute away, and returns what was measured.
func TestRunCancel(t *testing.T) {
	srv := newKeyServer(t, func(w http.ResponseWriter, r *http.Request, _ string) { wait(r, 20*time.Millisecond) })
	before := runtime.NumGoroutine()
	slow := reads(0)
	slow.Name, slow.Rate = "slow", scenarios.Rate{Freq: 1, Per: time.Minute}

	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, srv.URL, []scenarios.Stream{reads(100), slow}, WithDuration(30*time.Second))
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
	if st := res.Streams([]results.Phase{whole(res)}); len(st[0].Seconds) != 1 || st[0].Phases[0].Requests != h.Sent {
		t.Errorf("partial result: %d seconds, whole phase %d requests, want 1 and %d", len(st[0].Seconds), st[0].Phases[0].Requests, h.Sent)
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
	res := run(t, srv.URL, []scenarios.Stream{reads(100), writes(50)}, WithDuration(2500*time.Millisecond),
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
	ok := []scenarios.Stream{reads(10)}
	bad := reads(10)
	bad.Keys.Distribution = "pareto"
	for name, c := range map[string]struct {
		base    string
		streams []scenarios.Stream
		opts    []Option
	}{
		"no duration":  {"http://127.0.0.1:1", ok, nil},
		"remote host":  {"http://192.0.2.1:80", ok, []Option{WithDuration(time.Second)}},
		"no scheme":    {"127.0.0.1:80", ok, []Option{WithDuration(time.Second)}},
		"distribution": {"http://127.0.0.1:1", []scenarios.Stream{bad}, []Option{WithDuration(time.Second)}},
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
