// Package duet runs an A/B comparison as a duet (Bulej et al., "Duet
// Benchmarking", 2020; Abedi & Brecht's randomized multiple interleaved
// trials, 2017): both sides' environments are up at the same time, and in
// every round both sides get the same load — same seed, same intended send
// times, started together on one T0 — and the same fault schedule at the
// same moments, so that whatever the machine does during a round hits both
// alike. Rounds repeat with the sides' slots swapped; the environments are
// reset between rounds, not recreated.
//
//	for each variant: env.Up(base) ∥ env.Up(head)
//	  for each round: reset both ─▶ harness.RunVariant(base) ∥ harness.RunVariant(head), one start barrier
//	─▶ per round and side, a results.Results (the caller writes them and compares them paired by round)
package duet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/loadlab/loadlab/harness/checks"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/loadlab/loadlab/harness"
	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
	"golang.org/x/sync/errgroup"
)

// DefaultRounds is how many rounds a duet runs unless WithRounds says
// otherwise: enough for a large change to clear the corrected intervals of
// reports/compare, few enough for a quick gate to stay near three minutes.
const DefaultRounds = 5

// Option configures Run.
type Option func(*duet)

// WithRounds sets the number of rounds (at least 1; reports/compare judges
// from compare.MinRuns).
func WithRounds(n int) Option { return func(d *duet) { d.rounds = n } }

// WithImages sets the lab's images; each side's backend replaces Backend.
func WithImages(s images.Set) Option { return func(d *duet) { d.images = s } }

// WithLimits overrides container limits by role.
func WithLimits(l map[string]env.Limit) Option { return func(d *duet) { d.limits = l } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(d *duet) { d.log = l } }

// WithProgress writes a line per round to w.
func WithProgress(w io.Writer) Option { return func(d *duet) { d.progress = w } }

// WithVersion records the loadlab version in the results.
func WithVersion(v string) Option { return func(d *duet) { d.version = v } }

// WithQuick records that the scenario was shortened for CI.
func WithQuick(q bool) Option { return func(d *duet) { d.quick = q } }

type duet struct {
	rounds   int
	images   images.Set
	limits   map[string]env.Limit
	log      *slog.Logger
	progress io.Writer
	version  string
	quick    bool
}

// Sides index the two sides everywhere in this package.
const (
	BaseSide = 0
	HeadSide = 1
)

// Outcome is what a duet measured: one results.Results per side per round
// (Base[i] and Head[i] ran side by side), and how each round ran.
type Outcome struct {
	Base, Head []*results.Results
	Rounds     []Round
}

// Round records how one round ran.
type Round struct {
	N int `json:"round"` // 1-based
	// First is the side launched first in this round ("base" or "head"):
	// the slots alternate between rounds so that neither side always
	// starts first.
	First string `json:"first"`
	// SkewMs is, per variant, how far apart the two sides' load T0s were
	// (head − base), in milliseconds.
	SkewMs map[string]float64 `json:"skew_ms"`
}

// Run runs sc as a duet of base against head and returns what it measured.
// Like harness.Run it always returns what it has: an interrupted or failed
// duet yields results marked aborted or failed, with the error.
func Run(ctx context.Context, sc *scenarios.Scenario, base, head Side, opts ...Option) (*Outcome, error) {
	d := &duet{rounds: DefaultRounds, images: images.FromEnv(images.Default), log: slog.Default(), version: "dev"}
	for _, o := range opts {
		o(d)
	}
	if d.rounds < 1 {
		return nil, fmt.Errorf("duet: %d rounds: need at least 1", d.rounds)
	}
	out := &Outcome{}
	template := harness.NewResults(ctx, sc, harness.WithVersion(d.version), harness.WithQuick(d.quick))
	for i := range d.rounds {
		out.Base = append(out.Base, newResults(template))
		out.Head = append(out.Head, newResults(template))
		first := "base"
		if i%2 == 1 {
			first = "head"
		}
		out.Rounds = append(out.Rounds, Round{N: i + 1, First: first, SkewMs: map[string]float64{}})
	}
	var runErr error
	for _, v := range sc.Variants {
		if ctx.Err() != nil {
			break
		}
		if runErr = d.variant(ctx, sc, v, [2]Side{base, head}, out); runErr != nil {
			break
		}
	}
	for _, res := range append(slices.Clone(out.Base), out.Head...) {
		// Checks compare variants and phases: each round's results of a
		// side are judged whole, as harness.Run judges a run.
		checks.Evaluate(sc.Checks, res)
		res.EndedAt = time.Now().UTC()
		switch {
		case ctx.Err() != nil:
			res.Status, res.Reason = results.StatusAborted, "interrupted: "+context.Cause(ctx).Error()
		case runErr != nil:
			res.Status, res.Reason = results.StatusFailed, runErr.Error()
		}
	}
	if runErr == nil {
		runErr = ctx.Err()
	}
	return out, runErr
}

// variant brings both sides' environments up for v, runs every round in
// them and tears them down.
func (d *duet) variant(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, sides [2]Side, out *Outcome) (err error) {
	// One environment after the other: two starting at once on a busy
	// 2-core machine made the container daemon miss its deadlines.
	var envs [2]*env.Env
	var upErr error
	for i, s := range sides {
		envs[i], upErr = env.Up(ctx, env.Config{
			Images: d.images.With(images.Backend, s.Image), BackendEnv: backendEnv(sc, v, s),
			BackendPort: sc.Target.Port, Limits: d.limits, Logger: d.log,
			// The first environment keeps running while the second starts.
			StartTimeout: startTimeout,
		})
		if upErr != nil {
			upErr = fmt.Errorf("duet: %s side of variant %s: %w", sideName(i), v.Name, upErr)
			break
		}
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		var downErrs [2]error
		for i, e := range envs {
			if e != nil {
				wg.Go(func() { downErrs[i] = e.Down(dctx) })
			}
		}
		wg.Wait()
		err = errors.Join(err, downErrs[0], downErrs[1])
	}()
	if upErr != nil {
		return upErr
	}
	for r := range d.rounds {
		recordImages(out.Base[r], envs[BaseSide])
		recordImages(out.Head[r], envs[HeadSide])
	}

	for r := range d.rounds {
		if r > 0 {
			if err := resetBoth(ctx, envs); err != nil {
				return err
			}
		}
		first := r % 2
		start := time.Now()
		if len(out.Base[r].Variants) == 0 {
			out.Base[r].StartedAt, out.Head[r].StartedAt = start.UTC(), start.UTC()
		}
		got, err := d.round(ctx, sc, v, envs, first)
		out.Base[r].Variants = append(out.Base[r].Variants, got[BaseSide])
		out.Head[r].Variants = append(out.Head[r].Variants, got[HeadSide])
		if b, h := got[BaseSide].StartedAt, got[HeadSide].StartedAt; !b.IsZero() && !h.IsZero() {
			out.Rounds[r].SkewMs[v.Name] = float64(h.Sub(b).Microseconds()) / 1000
		}
		if d.progress != nil {
			fmt.Fprintf(d.progress, "duet %s: variant %s round %d/%d (%s first) took %s\n",
				sc.Name, v.Name, r+1, d.rounds, sideName(first), time.Since(start).Round(100*time.Millisecond))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// round runs v once on both sides, side by side: each side seeds its own
// environment (one after the other, first side first: two seeds at once
// overloaded a 2-core machine into 503s), then both wait at one barrier and
// start their load (and with it their fault schedule and scraper) together.
// A side that fails before the barrier cancels the other.
func (d *duet) round(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, envs [2]*env.Env, first int) (got [2]results.Variant, err error) {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	arrived := make(chan struct{}, 2)
	release := make(chan struct{})
	go func() {
		for range 2 {
			select {
			case <-arrived:
			case <-rctx.Done():
				return
			}
		}
		close(release)
	}()
	seeding := make(chan struct{}, 1) // a lock that a context can interrupt
	lockSeed := func(ctx context.Context) error {
		select {
		case seeding <- struct{}{}:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	var errs [2]error
	var wg sync.WaitGroup
	for k := range 2 {
		i := (first + k) % 2
		barrier := func(ctx context.Context) error {
			<-seeding
			arrived <- struct{}{}
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		if k == 0 {
			// The first slot takes the seed lock before the second starts.
			if err := lockSeed(rctx); err != nil {
				return got, err
			}
		}
		seedTurn := lockSeed
		if k == 0 {
			seedTurn = func(context.Context) error { return nil } // already held
		}
		// Seed only a target whose stores are up: under load a freshly
		// started or healed target may still have a breaker open.
		takeTurn := seedTurn
		seedTurn = func(ctx context.Context) error {
			if err := takeTurn(ctx); err != nil {
				return err
			}
			return waitHealthy(ctx, envs[i].BackendDirectURL+"/healthz", time.Minute)
		}
		wg.Go(func() {
			got[i], errs[i] = harness.RunVariant(rctx, envs[i], sc, v,
				harness.WithBeforeSeed(seedTurn), harness.WithBeforeLoad(barrier), harness.WithLogger(d.log))
			if errs[i] != nil {
				select {
				case <-release: // both are past the start: let the other finish its round
				default:
					cancel(fmt.Errorf("the %s side failed: %w", sideName(i), errs[i]))
				}
			}
		})
	}
	wg.Wait()
	return got, errors.Join(errs[0], errs[1])
}

// resetBoth puts both environments back to their start between rounds:
// every toxic removed and every proxy enabled, and the target ready again. The stores keep their data: each round seeds
// every key again (new versions), its history check reads only that round's
// operations, and both sides carry the same past.
func resetBoth(ctx context.Context, envs [2]*env.Env) error {
	g, gctx := errgroup.WithContext(ctx)
	for i, e := range envs {
		g.Go(func() error {
			if err := e.Toxiproxy.ResetState(); err != nil {
				return fmt.Errorf("duet: reset %s side: toxiproxy: %w", sideName(i), err)
			}
			return waitHealthy(gctx, e.BackendDirectURL+"/healthz", time.Minute)
		})
	}
	return g.Wait()
}

// waitHealthy polls url until it answers 200 and, when it names its stores
// (the sample backend's {"postgres":"up","redis":"up"}), none is down: after
// a partition the target's breakers need a probe or two before a write goes
// through, and the next round's seed must not meet a store marked down.
func waitHealthy(ctx context.Context, url string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			var health map[string]string
			derr := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&health)
			resp.Body.Close()
			switch {
			case resp.StatusCode != http.StatusOK:
				err = fmt.Errorf("status %d", resp.StatusCode)
			case derr == nil && (health["postgres"] == "down" || health["redis"] == "down"):
				err = fmt.Errorf("a store is marked down: %v", health)
			default:
				return nil
			}
		}
		if ctx.Err() == nil || last == nil {
			last = err // keep what the target said, not the deadline that cut the last try
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("duet: %s not healthy within %s: %w", url, within, last)
		case <-tick.C:
		}
	}
}

// backendEnv is the variant's backend environment with the side's overlay
// laid over it. The sample backend's startup_timeout (how long it retries
// Postgres) is raised to match the environments' start timeout, unless the
// scenario or the side sets it: the second environment's Postgres starts
// while the first runs.
func backendEnv(sc *scenarios.Scenario, v scenarios.Variant, s Side) map[string]string {
	ov := v
	ov.Backend = map[string]string{}
	if sc.Target.Image == "" {
		ov.Backend["startup_timeout"] = startTimeout.String()
	}
	maps.Copy(ov.Backend, v.Backend)
	maps.Copy(ov.Backend, s.Settings)
	return harness.BackendEnv(sc, ov)
}

// startTimeout bounds each environment's start (env.Config.StartTimeout).
const startTimeout = 3 * time.Minute

func sideName(i int) string {
	if i == BaseSide {
		return "base"
	}
	return "head"
}

// newResults copies the results every round of every side starts from.
func newResults(template *results.Results) *results.Results {
	r := *template
	r.Environment.Images, r.Environment.Limits = map[string]results.ImageInfo{}, map[string]string{}
	return &r
}

func recordImages(res *results.Results, e *env.Env) {
	for role, img := range e.Images {
		res.Environment.Images[role] = results.ImageInfo{Ref: img.Ref, ID: img.ID}
		if l, ok := e.Limits[role]; ok {
			res.Environment.Limits[role] = fmt.Sprintf("%.2g CPU, %d MiB", l.CPUs, l.MemoryMB)
		}
	}
}
