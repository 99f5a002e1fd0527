package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/loadlab/loadlab/harness/analyse"
	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// variant is the pipeline of one variant in a ready environment e, which
// it leaves up: seed, drive, settle, read the final state, analyse, judge.
func (r *runner) variant(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, label string, e *env.Env) (rv results.Variant, err error) {
	rv = newVariant(v)
	defer func() { setStatus(ctx, &rv, err) }()

	store := history.NewPostgresStore(e.PostgresDSN)
	defer store.Close()
	if r.beforeSeed != nil {
		if err := r.beforeSeed(ctx); err != nil {
			return rv, fmt.Errorf("harness: before the seed: %w", err)
		}
	}
	if rv.SeededKeys, err = r.seed(ctx, sc, v, e, store); err != nil {
		return rv, err
	}
	if r.beforeLoad != nil {
		if err := r.beforeLoad(ctx); err != nil {
			return rv, fmt.Errorf("harness: before the load: %w", err)
		}
	}
	d, err := r.drive(ctx, sc, v, label, e, rv.Client)
	if !d.t0.IsZero() {
		rv.StartedAt = d.t0.UTC()
	}
	rv.Faults = d.faults
	if err != nil {
		return rv, err
	}
	m := analyse.Measured{Load: d.load, Faults: d.faults}
	if ctx.Err() == nil && d.deadErr == nil {
		m.Converged, m.ConvergedAtS = r.settle(ctx, sc, v, store, d)
	}
	m.Metrics = d.scrape.stop()
	final, ferr := finalState(ctx, store)
	if ferr != nil {
		r.log.Error("history: cannot read the final state", "err", ferr)
	}
	m.Final = final
	analyse.Variant(m, &rv)
	rv.Checks = judge(sc, &rv)

	switch {
	case d.deadErr != nil:
		return rv, fmt.Errorf("harness: the target died during the run: %w%s", d.deadErr, e.Logs(images.Backend))
	case d.loadErr != nil && ctx.Err() == nil:
		return rv, fmt.Errorf("harness: load: %w", d.loadErr)
	case ferr != nil && ctx.Err() == nil:
		return rv, fmt.Errorf("harness: history: %w", ferr)
	}
	return rv, ctx.Err()
}

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

// seed is the seed stage: every key written once before the load.
func (r *runner) seed(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, e *env.Env, store history.Store) (int, error) {
	start := time.Now()
	n, err := seed(ctx, e.BackendDirectURL, sc, store)
	if err == nil {
		r.log.Info("seeded", "variant", v.Name, "keys", n, "took", time.Since(start).Round(time.Millisecond))
	}
	return n, err
}

// settle is the settle stage: wait, at most sc.Settle, until the store
// holds every acknowledged write. The scraper goes on meanwhile, so the
// queue draining shows in the charts. It returns whether the store
// converged and when, in seconds since T0.
func (r *runner) settle(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, store history.Store, d driven) (bool, float64) {
	start := time.Since(d.t0)
	sctx, cancel := context.WithTimeout(ctx, sc.Settle)
	defer cancel()
	took, err := history.WaitConverged(sctx, store, history.AckedMax(d.load.Ops), 200*time.Millisecond)
	if err != nil {
		r.log.Warn("settle: the store did not converge", "variant", v.Name, "within", sc.Settle, "err", err)
		return false, 0
	}
	return true, (start + took).Seconds()
}

// finalState reads the store's versions straight from Postgres, with a
// fresh deadline so that an interrupted run still gets its history checked.
func finalState(ctx context.Context, store *history.PostgresStore) (map[uint32]int64, error) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return store.Versions(fctx)
}

// errTargetDied is the cause that ends a load whose target died.
var errTargetDied = errors.New("the target container died")

// watchTarget checks every second that the target container still runs,
// and stops the load with errTargetDied when it does not.
func watchTarget(ctx context.Context, e *env.Env, stop context.CancelCauseFunc) {
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
			if errors.Is(err, env.ErrNotRunning) && ctx.Err() == nil {
				stop(fmt.Errorf("%w: %w", errTargetDied, err))
				return
			}
		}
	}
}
