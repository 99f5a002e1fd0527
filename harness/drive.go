package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/faults"
	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/harness/metrics"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// driven is what the drive stage measured.
type driven struct {
	t0      time.Time
	load    *load.Result
	loadErr error                 // the load's own error (cancelled, ...)
	faults  []results.FaultWindow // as applied
	scrape  *scrape               // still running: it goes on through the settle stage
	deadErr error                 // non-nil: the target died
}

// drive is the drive stage: the load, from startAt (or at once), with the
// fault schedule and the scraper on its clock, and a watch that ends it if
// the target dies. It fails only when the load never produced a result;
// the scraper is then stopped already.
func (r *runner) drive(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, label string, e *env.Env, client string, values *history.Values, startAt time.Time) (driven, error) {
	procs := &crashes{Env: e}
	baseURL := e.BackendURL
	if client == "direct" {
		baseURL = e.BackendDirectURL
	}
	schedule, err := faults.NewSchedule(e.Toxiproxy, e.Proxies, sc.Faults, faults.WithLogger(r.log), faults.WithProcesses(procs), faults.WithTarget(baseURL))
	if err != nil {
		return driven{}, fmt.Errorf("harness: %w", err)
	}
	// The scraper goes around toxiproxy, so a cut client link still shows
	// what the target does.
	scr := &scrape{scraper: metrics.NewScraperOf(func() string { return e.DirectURL() + "/metrics" }, metrics.WithLogger(r.log)), done: make(chan struct{})}
	d := driven{scrape: scr}

	// The fault schedule and the scraper start with the load, on its T0,
	// so that every offset in the results shares one origin.
	faultCtx, stopFaults := context.WithCancel(ctx)
	defer stopFaults()
	scheduled := make(chan []results.FaultWindow, 1)
	onStart := func(start time.Time) {
		d.t0 = start
		scr.start(ctx, start)
		go func() { scheduled <- schedule.Run(faultCtx, start) }()
	}
	// A target that dies mid-run ends the load at once: the rest would be
	// requests to nothing.
	loadCtx, stopLoad := context.WithCancelCause(ctx)
	defer stopLoad(nil)
	go watchTarget(loadCtx, e, procs.backendDown, stopLoad)

	prog := newProgress(r.progress, sc, v.Name, label)
	d.load, d.loadErr = load.Run(loadCtx, baseURL, loadStreams(sc.StreamsFor(v)),
		load.WithDuration(sc.Duration), load.WithSeed(sc.Seed), load.WithTimeout(sc.Timeout),
		load.WithProgress(prog.update), load.WithLogger(r.log), load.WithOnStart(onStart), load.WithValues(values), load.WithStartAt(startAt))
	prog.done()
	if d.t0.IsZero() { // the load never started
		return d, fmt.Errorf("harness: load: %w", d.loadErr)
	}
	stopFaults() // faults still active (the load was cut short) are removed now
	d.faults = <-scheduled
	if d.load == nil {
		scr.stop()
		return d, fmt.Errorf("harness: load: %w", d.loadErr)
	}
	// A target that died mid-run is a failure worth naming precisely.
	stopLoad(nil)
	if cause := context.Cause(loadCtx); errors.Is(cause, errTargetDied) {
		d.deadErr = cause
	} else {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		d.deadErr = e.Alive(actx, images.Backend)
		cancel()
	}
	return d, nil
}

// scrape runs a scraper from T0 until stopped.
type scrape struct {
	scraper *metrics.Scraper
	cancel  context.CancelFunc
	done    chan struct{}
}

func (s *scrape) start(ctx context.Context, t0 time.Time) {
	ctx, s.cancel = context.WithCancel(ctx)
	go func() { defer close(s.done); s.scraper.Run(ctx, t0) }()
}

// stop ends the scraping and returns its series.
func (s *scrape) stop() []results.Series {
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
	return s.scraper.Series()
}

// loadStreams translates a scenario's streams into the load engine's own.
func loadStreams(streams []scenarios.Stream) []load.Stream {
	out := make([]load.Stream, len(streams))
	for i, s := range streams {
		out[i] = load.Stream{
			Name: s.Name, Method: s.Method, Path: s.Path, Rate: s.Rate.PerSecond(),
			Keys: load.Keys{
				Count: s.Keys.Count, Distribution: s.Keys.Distribution, ZipfS: s.Keys.ZipfS,
				HotFraction: s.Keys.HotFraction, HotKeys: s.Keys.HotKeys,
			},
			BodySize: s.BodySize, MaxWorkers: s.MaxWorkers, Conditional: s.Conditional,
		}
		for _, st := range s.Stages {
			out[i].Stages = append(out[i].Stages, load.Stage{Duration: st.Duration, Target: st.Target.PerSecond()})
		}
		if s.Arrival == scenarios.ArrivalPoisson {
			out[i].Arrival = load.Poisson
		}
		if s.Auth != nil {
			out[i].Auth = &load.Auth{Clients: s.Auth.Clients}
		}
		if r := s.Retry; r != nil {
			lr := &load.Retry{Max: r.Max, Backoff: r.Backoff, Timeout: r.Timeout, Budget: r.Budget}
			for _, on := range r.On {
				switch on {
				case scenarios.RetryOnTimeout:
					lr.OnTimeout = true
				case scenarios.RetryOnError:
					lr.OnError = true
				default:
					lr.On = append(lr.On, on)
				}
			}
			out[i].Retry = lr
		}
	}
	return out
}
