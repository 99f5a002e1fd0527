package perf

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/faults"
	"github.com/loadlab/loadlab/harness/labtest"
	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/scenarios"
)

// Control plane under load: the numbers of issue 6.
const (
	controlRate    = 5000                   // requests/s through the proxy
	controlBound   = 100 * time.Millisecond // every add and remove
	controlTimeout = time.Second            // deadline of each call: a hang fails, it does not block
	controlEvery   = 250 * time.Millisecond // a fault starts this often...
	controlFor     = 100 * time.Millisecond // ...and lasts this long
	// controlWorkers caps the connections through the proxy. 5000 req/s of
	// ~1 ms need a dozen; the cap keeps a machine that falls behind from
	// opening thousands, each of which toxiproxy relinks on every change.
	controlWorkers = 256
)

// controlOutcome is what one control-plane run measured.
type controlOutcome struct {
	idle    []time.Duration // add and remove latencies without load, sorted
	loaded  []time.Duration // the same under load, sorted
	errors  []string        // failed or unanswered calls
	stalled time.Duration   // longest time this process was not scheduled during the load
	load    engineRun
}

func (o controlOutcome) pct(q float64) time.Duration {
	return o.loaded[min(int(q*float64(len(o.loaded))), len(o.loaded)-1)]
}

// controlFaults plans harmless toxics (1 ms latency, a bandwidth cap far
// above the traffic) on client->backend, alternating, one every
// controlEvery from from to until.
func controlFaults(from, until time.Duration) []scenarios.Fault {
	var fs []scenarios.Fault
	for at, i := from, 0; at+controlFor < until; at, i = at+controlEvery, i+1 {
		toxic := scenarios.Toxic{Type: "latency", Attributes: map[string]int64{"latency": 1}}
		if i%2 == 1 {
			toxic = scenarios.Toxic{Type: "bandwidth", Attributes: map[string]int64{"rate": 1 << 20}} // KB/s
		}
		fs = append(fs, scenarios.Fault{
			Name: fmt.Sprintf("cp-%d", i), Link: "client->backend", At: at, For: controlFor, Toxic: toxic,
		})
	}
	return fs
}

// runControl applies each fault through faults.Schedule, the harness's own
// path with a deadline on every call, and collects the latencies.
// It runs on its own goroutine, so it reports problems instead of failing.
func runControl(lab *toxiLab, fs []scenarios.Fault, t0 time.Time) (lat []time.Duration, errs []string) {
	s, err := faults.NewSchedule(lab.client, lab.proxies, fs,
		faults.WithActionTimeout(controlTimeout), faults.WithLogger(discardLogger))
	if err != nil {
		return nil, []string{err.Error()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, w := range s.Run(ctx, t0) {
		if w.Error != "" {
			errs = append(errs, w.Name+": "+w.Error)
			continue
		}
		ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
		lat = append(lat, ms(w.ApplyMs), ms(w.RemoveMs))
	}
	slices.Sort(lat)
	return lat, errs
}

// controlPlaneUnderLoad measures toxic add/remove latency without load, then
// while the engine drives controlRate requests/s through the proxy for
// window.
func controlPlaneUnderLoad(tb testing.TB, window time.Duration) controlOutcome {
	tb.Helper()
	base := startTarget(tb)
	waitReady(tb, base+"/items/k0")
	lab := newToxiLab(tb, base)
	waitReady(tb, lab.proxyURL+"/items/k0")

	var o controlOutcome
	var idleErrs []string
	o.idle, idleErrs = runControl(lab, controlFaults(0, 8*controlEvery), time.Now())
	o.errors = append(o.errors, idleErrs...)

	var wg sync.WaitGroup
	var loadedErrs []string
	stallDone := make(chan struct{})
	o.load = runEngine(tb, lab.proxyURL, reads(controlRate, controlWorkers), window, load.WithOnStart(func(t0 time.Time) {
		wg.Go(func() { o.stalled = labtest.WorstStall(stallDone) })
		wg.Go(func() { o.loaded, loadedErrs = runControl(lab, controlFaults(time.Second, window-time.Second), t0) })
	}))
	close(stallDone)
	wg.Wait()
	o.errors = append(o.errors, loadedErrs...)
	return o
}

func (o controlOutcome) String() string {
	if len(o.loaded) == 0 || len(o.idle) == 0 {
		return fmt.Sprintf("%d calls idle and %d under load succeeded; errors %q", len(o.idle), len(o.loaded), o.errors)
	}
	return fmt.Sprintf("idle: %d calls, max %s; under load (%.0f req/s sent, success %.4f, p50 %.2f ms): %d calls, p50 %s, p90 %s, max %s; %d errors; process stalled up to %s",
		len(o.idle), o.idle[len(o.idle)-1].Round(10*time.Microsecond),
		float64(o.load.health.Sent)/o.load.res.Duration.Seconds(), o.load.whole.SuccessRatio, o.load.whole.Latency.P50,
		len(o.loaded), o.pct(0.5).Round(10*time.Microsecond), o.pct(0.9).Round(10*time.Microsecond),
		o.loaded[len(o.loaded)-1].Round(10*time.Microsecond), len(o.errors), o.stalled.Round(time.Millisecond))
}

// TestControlPlaneUnderLoad adds and removes toxics through the harness's
// fault schedule while 5000 req/s flow through the same toxiproxy proxy.
// No call may fail or hang (each has a 1 s deadline), and every one must
// finish within 100 ms, with ≥ 99% of the requests succeeding. On a
// machine so busy that this process was frozen for more than 20 ms, the
// same calls without load were already slow, or the generator could not
// send 95% of its schedule, single calls cannot be judged to the
// millisecond: the test then says so and requires p50 < 100 ms and every
// call answered within its 1 s deadline (the idea of harness/faults'
// TestControlPlaneLatencyUnderLoad).
func TestControlPlaneUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: 10 s at 5000 req/s")
	}
	if raceEnabled {
		t.Skip("latency bounds are meaningless under the race detector")
	}
	o := controlPlaneUnderLoad(t, 8*time.Second)
	t.Log(o)
	all, _ := loadAvg()
	t.Logf("load average after: %s", all)
	if len(o.errors) > 0 {
		t.Fatalf("control-plane calls failed or hung: %s", strings.Join(o.errors, "; "))
	}
	if want := len(controlFaults(time.Second, 7*time.Second)) * 2; len(o.loaded) != want {
		t.Fatalf("%d calls under load, want %d", len(o.loaded), want)
	}
	if sent := o.load.health.Sent; sent < o.load.health.Intended/2 {
		t.Errorf("only %d of %d requests sent: the load did not overlap the calls", sent, o.load.health.Intended)
	}
	worst, p50, p90 := o.loaded[len(o.loaded)-1], o.pct(0.5), o.pct(0.9)
	if !o.starved() {
		if worst > controlBound {
			t.Errorf("slowest control-plane call under load took %s, want < %s", worst, controlBound)
		}
		if o.load.whole.SuccessRatio < 0.99 {
			t.Errorf("success ratio through the proxy %.4f, want ≥ 0.99 (codes %v)", o.load.whole.SuccessRatio, o.load.whole.Codes)
		}
		return
	}
	// Other processes froze this one, or the load could not be carried:
	// single calls cannot be judged to the millisecond and requests may
	// time out in the generator's own queue. Most calls must still be
	// fast, and none may hang (the failure mode of toxiproxy#412): every
	// one answered within its deadline, or the errors above would say so.
	t.Logf("machine too busy to judge every call (stalled %s, %d of %d requests sent, success ratio %.4f); checking p50 < %s and max < %s",
		o.stalled, o.load.health.Sent, o.load.health.Intended, o.load.whole.SuccessRatio, controlBound, controlTimeout)
	if p50 > controlBound || worst > controlTimeout {
		t.Errorf("control-plane calls under load: p50 %s, p90 %s, max %s", p50, p90, worst)
	}
}

// starved reports whether the run cannot be judged to the millisecond: the
// process was frozen for over 20 ms, the same calls were already slow
// without load, or the generator sent less than 95% of its schedule.
func (o controlOutcome) starved() bool {
	h := o.load.health
	if len(o.idle) == 0 || h.Intended == 0 {
		return true
	}
	return o.stalled >= 20*time.Millisecond || o.idle[len(o.idle)-1] >= controlBound/4 || h.Sent*100 < h.Intended*95
}

// BenchmarkControlPlaneUnderLoad reports the toxic add/remove latencies of
// TestControlPlaneUnderLoad over a LOADLAB_BENCH_WINDOW+4s load at 5000
// req/s, with the share of calls within 100 ms.
func BenchmarkControlPlaneUnderLoad(b *testing.B) {
	machine := noteLoad(b)
	var o controlOutcome
	for b.Loop() {
		o = controlPlaneUnderLoad(b, benchWindow+4*time.Second)
	}
	b.Log(o)
	if len(o.errors) > 0 {
		b.Errorf("control-plane calls failed or hung: %s", strings.Join(o.errors, "; "))
	}
	if len(o.loaded) == 0 {
		b.Fatal("no call under load succeeded")
	}
	within := 0
	for _, d := range o.loaded {
		if d <= controlBound {
			within++
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(o.pct(0.5)), "p50-ms")
	b.ReportMetric(ms(o.pct(0.9)), "p90-ms")
	b.ReportMetric(ms(o.loaded[len(o.loaded)-1]), "max-ms")
	b.ReportMetric(ms(o.idle[len(o.idle)-1]), "idle-max-ms")
	b.ReportMetric(float64(within)/float64(len(o.loaded)), "within-100ms-ratio")
	b.ReportMetric(float64(len(o.errors)), "errors")
	b.ReportMetric(ms(o.stalled), "stall-ms")
	b.ReportMetric(float64(o.load.health.Sent)/o.load.res.Duration.Seconds()/controlRate, "load-ratio")
	b.ReportMetric(o.load.whole.SuccessRatio, "success-ratio")
	if o.starved() {
		b.Logf("starved: the strict %s bound cannot be judged on this run", controlBound)
	}
	machine.report(b)
}
