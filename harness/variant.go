package harness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/loadlab/loadlab/harness/analyse"
	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/harness/tokens"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// variant is the pipeline of one variant in a ready environment e, which
// it leaves up: seed, drive, settle and read the final state through the
// target's API, analyse. Run judges every variant at the end.
func (r *runner) variant(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, label string, e *env.Env) (rv results.Variant, err error) {
	rv = newVariant(v)
	defer func() { setStatus(ctx, &rv, err) }()

	// Every write sends a value of its own; the final state is read through
	// the target's API (around toxiproxy); the sample backend's Postgres is
	// a cross-check.
	streams := loadStreams(sc.StreamsFor(v))
	values := history.NewValues(history.NewNonce(), load.ValueSizes(streams))
	e0URL := e.DirectURL()
	final := history.NewAPIReader(e0URL, values, harnessAuth(sc, e0URL)...)
	defer func() { final.Close() }()
	if r.beforeSeed != nil {
		if err := r.beforeSeed(ctx); err != nil {
			return rv, fmt.Errorf("harness: before the seed: %w", err)
		}
	}
	if rv.SeededKeys, err = r.seed(ctx, sc, v, e, values, final); err != nil {
		return rv, err
	}
	var startAt time.Time
	if r.beforeLoad != nil {
		if startAt, err = r.beforeLoad(ctx); err != nil {
			return rv, fmt.Errorf("harness: before the load: %w", err)
		}
	}
	d, err := r.drive(ctx, sc, v, label, e, rv.Client, values, startAt)
	if url := e.DirectURL(); url != e0URL {
		// A kill fault restarted the backend on another port.
		final.Close()
		final = history.NewAPIReader(url, values, harnessAuth(sc, url)...)
	}
	if !d.t0.IsZero() {
		rv.StartedAt = d.t0.UTC()
	}
	rv.Faults = d.faults
	if err != nil {
		return rv, err
	}
	m := analyse.Measured{Load: d.load, Faults: d.faults, SeededKeys: rv.SeededKeys}
	settled := r.settle(ctx, sc, v, final, d, rv.SeededKeys)
	m.Converged, m.ConvergedAtS = settled.Converged, (settled.start + settled.Took).Seconds()
	m.Metrics = d.scrape.stop()
	m.Final = &settled.Final
	m.Counters, m.CountersFrom = r.readCounters(ctx, sc, e)
	analyse.Variant(m, &rv)
	r.recordHistory(ctx, sc, v, e, values, d, settled.Final.States, rv.History)

	switch {
	case d.deadErr != nil:
		return rv, fmt.Errorf("harness: the target died during the run: %w%s", d.deadErr, e.Logs(images.Backend))
	case d.loadErr != nil && ctx.Err() == nil:
		return rv, fmt.Errorf("harness: load: %w", d.loadErr)
	}
	return rv, ctx.Err()
}

// harnessAuth is how the harness's own reads authenticate to a target
// whose streams send tokens: as one client of its own, logged in at base.
func harnessAuth(sc *scenarios.Scenario, base string) []history.APIReaderOption {
	if !sc.Authenticates() {
		return nil
	}
	return []history.APIReaderOption{history.WithTransport(func(next http.RoundTripper) http.RoundTripper {
		return tokens.Authorizing(next, base, harnessClient)
	})}
}

// harnessClient is the client name the harness logs in as.
const harnessClient = "loadlab-harness"

// newVariant is a variant's results before anything ran.
func newVariant(v scenarios.Variant) results.Variant {
	rv := results.Variant{Name: v.Name, Settings: v.Backend, Client: v.Client, Status: results.StatusOK}
	if rv.Client == "" {
		rv.Client = "proxy"
	}
	return rv
}

// setStatus marks a variant aborted or failed by how it ended.
func setStatus(ctx context.Context, rv *results.Variant, err error) {
	switch {
	case ctx.Err() != nil:
		rv.Status, rv.Reason = results.StatusAborted, "interrupted"
	case err != nil:
		rv.Status, rv.Reason = results.StatusFailed, err.Error()
	}
}

// seed is the seed stage: every key written once before the load, each
// with its own value, and read back through the target's API.
func (r *runner) seed(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, e *env.Env, values *history.Values, rd history.Reader) (int, error) {
	start := time.Now()
	n, err := seed(ctx, e.BackendDirectURL, sc, values, rd)
	if err == nil {
		r.log.Info("seeded", "variant", v.Name, "keys", n, "took", time.Since(start).Round(time.Millisecond))
	}
	return n, err
}

// readCounters reads the final counters of a scenario with increment
// streams from the sample backend's Postgres, after the settle stage; nil
// and why not, when they cannot be read.
func (r *runner) readCounters(ctx context.Context, sc *scenarios.Scenario, e *env.Env) (map[uint32]int64, string) {
	if !slices.ContainsFunc(sc.Load, scenarios.Stream.IsIncrement) {
		return nil, ""
	}
	if sc.Target.Image != "" {
		return nil, "the counters are read from the sample backend's table, and this target is " + sc.Target.Image
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	counters, err := history.ReadCounters(cctx, e.PostgresDSN)
	if err != nil {
		r.log.Error("history: final counters", "err", err)
		return nil, err.Error()
	}
	return counters, "postgres: SELECT key, value FROM counters (directly, not through toxiproxy)"
}

// settled is what the settle stage saw, and when it began (since T0).
type settled struct {
	history.Settlement
	start time.Duration
}

// settle is the settle stage: wait, at most sc.Settle, until every key
// holds a state its acknowledged writes allow, then read the final state
// (with a deadline of its own, so that an interrupted run or a dead target
// still gets its history checked). The scraper goes on meanwhile, so the
// queue draining shows in the charts.
func (r *runner) settle(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, rd history.Reader, d driven, seeded int) settled {
	s := settled{start: time.Since(d.t0)}
	sctx, cancel := context.WithTimeout(ctx, sc.Settle)
	defer cancel()
	if d.deadErr != nil {
		cancel() // nothing to wait for: one last read
	}
	var ops []history.Op
	if d.load != nil {
		ops, _ = history.SplitIncrements(d.load.Ops, analyse.IncrementStreams(d.load.ByStream))
	}
	s.Settlement = history.Settle(sctx, rd, ops, history.WithSeeded(seeded))
	if s.Err != nil {
		r.log.Warn("settle: the target did not converge", "variant", v.Name, "within", sc.Settle, "err", s.Err)
	}
	return s
}

// recordHistory notes how the final state was read, cross-checks it with
// the sample backend's Postgres and exports the op history as JSON lines.
func (r *runner) recordHistory(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, e *env.Env, values *history.Values, d driven, final map[uint32]history.State, h *results.History) {
	if h == nil {
		return
	}
	h.FinalReader = "api: GET /items/{key}, around toxiproxy"
	if sc.Target.Image == "" {
		pg := history.NewPostgresStore(e.PostgresDSN, values)
		defer pg.Close()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		h.CrossCheck = history.CrossCheck(cctx, "postgres", pg, final)
	}
	if r.historyDir != "" && d.load != nil {
		names := make([]string, len(sc.Load))
		for i, s := range sc.Load {
			names[i] = s.Name
		}
		file, err := history.Export(r.historyDir, v.Name, d.load.Ops, names)
		if err != nil {
			r.log.Error("history: export", "err", err)
		}
		h.HistoryFile = file
	}
}

// errTargetDied is the cause that ends a load whose target died.
var errTargetDied = errors.New("the target container died")

// crashes are the environment's containers as kill faults see them: a
// backend killed on purpose is down, not dead, until its restart returns.
type crashes struct {
	*env.Env
	backendKilled atomic.Bool
}

func (c *crashes) Kill(ctx context.Context, role string) error {
	if role == images.Backend {
		c.backendKilled.Store(true)
	}
	return c.Env.Kill(ctx, role)
}

func (c *crashes) Restart(ctx context.Context, role string) error {
	err := c.Env.Restart(ctx, role)
	if role == images.Backend && err == nil {
		c.backendKilled.Store(false)
	}
	return err
}

// backendDown reports whether a kill fault has the backend down now.
func (c *crashes) backendDown() bool { return c.backendKilled.Load() }

// watchTarget checks every second that the target container still runs
// (unless a kill fault took it down: expected says so), and stops the load
// with errTargetDied when it does not.
func watchTarget(ctx context.Context, e *env.Env, expected func() bool, stop context.CancelCauseFunc) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			actx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := e.Alive(actx, images.Backend)
			cancel()
			if errors.Is(err, env.ErrNotRunning) && ctx.Err() == nil && !expected() {
				stop(fmt.Errorf("%w: %w", errTargetDied, err))
				return
			}
		}
	}
}
