// Package duet runs an A/B comparison as a duet (Bulej et al., "Duet
// Benchmarking", 2020; Abedi & Brecht's randomized multiple interleaved
// trials, 2017): both sides' environments are up at the same time, and in
// every round both sides get the same load — same seed, same intended send
// times, started together on one T0 — and the same fault schedule at the
// same moments, so that whatever the machine does during a round hits both
// alike. Rounds repeat with the sides' slots swapped; the environments are
// reset between rounds (env.Reconfigure: stores emptied, links healed, the
// slot's backend replaced by the other side's, restarted in place in the
// container that side ran in two rounds before), not recreated.
//
//	env.Up(slot 0: base) ∥ env.Up(slot 1: head)                    once (per variant with environment: fresh)
//	for each variant, each round: env.Reconfigure both slots (sides swapped every round)
//	  ─▶ harness.RunVariant(base) ∥ harness.RunVariant(head), one start barrier
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
// otherwise: the gate make calibrate measures (docs/PERFORMANCE.md). On a
// busy 2-core machine the head/base ratio of one round spreads by about
// ±13 % whatever the round's length, so the rounds are what narrow the
// bounds: twenty quick rounds of 4 s fit a 3-minute gate. A multiple of 4
// holds every pairing of slot and launch order equally often.
const DefaultRounds = 20

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

// WithEnvironments runs the duet in two environments the caller brought up
// and owns, instead of bringing up its own: every round, the first too,
// reconfigures both with the sides it hosts, and the duet leaves them up.
// A suite of duets pays for two env.Up instead of two a duet. A scenario
// with environment: fresh cannot run in them.
func WithEnvironments(a, b *env.Env) Option { return func(d *duet) { d.given = slots{a, b} } }

type duet struct {
	rounds   int
	images   images.Set
	limits   map[string]env.Limit
	log      *slog.Logger
	progress io.Writer
	version  string
	quick    bool
	given    slots
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
	// BaseSlot is the environment (0 or 1) the base side ran in; head ran
	// in the other. The sides swap slots every round, so that neither
	// always runs in the environment that started first.
	BaseSlot int `json:"base_slot"`
	// BaseEnv and HeadEnv are the run ids of the environments each side
	// ran in (of the last variant, for a scenario with environment: fresh).
	BaseEnv string `json:"base_env"`
	HeadEnv string `json:"head_env"`
	// First is the side launched (and seeded) first in this round ("base"
	// or "head"); it alternates every two rounds, so that four rounds hold
	// every pairing of slot and order.
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
		baseSlot, first := plan(i)
		out.Rounds = append(out.Rounds, Round{N: i + 1, BaseSlot: baseSlot, First: sideName(first), SkewMs: map[string]float64{}})
	}
	runErr := d.variants(ctx, sc, [2]Side{base, head}, out)
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

// variants runs every variant's rounds in two slots: given
// (WithEnvironments), brought up once for the duet, or once per variant for
// a scenario with environment: fresh.
func (d *duet) variants(ctx context.Context, sc *scenarios.Scenario, sides [2]Side, out *Outcome) (err error) {
	envs := d.given
	given := envs[0] != nil && envs[1] != nil
	if given && sc.FreshEnv {
		return fmt.Errorf("duet: %s wants a fresh environment per variant: it cannot run in given ones", sc.Name)
	}
	if !given {
		defer func() { err = errors.Join(err, envs.down(ctx)) }()
	}
	for i, v := range sc.Variants {
		if ctx.Err() != nil {
			return nil // Run reports the interruption
		}
		fresh := !given && (i == 0 || sc.FreshEnv)
		if fresh {
			if err := envs.down(ctx); err != nil {
				return err
			}
			if envs, err = d.up(ctx, sc, v, sides); err != nil {
				return err
			}
		}
		if err := d.variant(ctx, sc, v, sides, envs, fresh, out); err != nil {
			return err
		}
	}
	return nil
}

// slots are the duet's two environments. Both are up for the whole duet
// (or, for a scenario with environment: fresh, for one variant); before
// every round but the first each is reconfigured (env.Reconfigure: stores
// emptied, links healed, the hosted side's backend started afresh) with the
// side it hosts that round.
type slots [2]*env.Env

// up brings both slots up for variant v, base in slot 0 and head in slot
// 1, both at once: each environment's start is mostly the container
// daemon's and its containers' own waits. Each side's backend retries
// Postgres for as long as the environments may take (backendEnv).
func (d *duet) up(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, sides [2]Side) (slots, error) {
	var envs slots
	var errs [2]error
	var wg sync.WaitGroup
	for i, s := range sides {
		wg.Go(func() {
			envs[i], errs[i] = env.Up(ctx, env.Config{
				Images: d.images.With(images.Backend, s.Image), BackendEnv: backendEnv(sc, v, s),
				BackendPort: sc.Target.Port, Limits: d.limits, Logger: d.log,
				StartTimeout: startTimeout,
			})
			if errs[i] != nil {
				errs[i] = fmt.Errorf("duet: slot %d (%s side, variant %s): %w", i, sideName(i), v.Name, errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs[0], errs[1]); err != nil {
		return slots{}, errors.Join(err, envs.down(ctx))
	}
	return envs, nil
}

// down takes both slots down, with a deadline of its own: ctx may be why
// the duet ends.
func (envs slots) down(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var errs [2]error
	for i, e := range envs {
		if e != nil {
			wg.Go(func() { errs[i] = e.Down(dctx) })
		}
	}
	wg.Wait()
	return errors.Join(errs[0], errs[1])
}

// host puts each side into the slot it holds in a round, both slots at
// once: side i's backend, with its settings for v, into slot
// slotOf(i, baseSlot), on emptied stores and healed links.
func (d *duet) host(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, sides [2]Side, envs slots, baseSlot int) error {
	g, gctx := errgroup.WithContext(ctx)
	for i, s := range sides {
		e := envs[slotOf(i, baseSlot)]
		g.Go(func() error {
			if err := e.Reconfigure(gctx, backendEnv(sc, v, s), env.WithBackendImage(s.Image)); err != nil {
				return fmt.Errorf("duet: %s side into slot %d: %w", sideName(i), slotOf(i, baseSlot), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// slotOf is the slot side i holds when base holds baseSlot.
func slotOf(side, baseSlot int) int {
	if side == BaseSide {
		return baseSlot
	}
	return 1 - baseSlot
}

// plan is how round r runs: the base side's slot alternates every round,
// and which side is launched (seeds) first every two rounds, so that four
// rounds hold every pairing of slot and order once.
func plan(r int) (baseSlot, first int) {
	return r % 2, (r / 2) % 2
}

// variant runs every round of v in envs (reconfiguring them first unless
// fresh is true: they were just brought up for v, base in slot 0).
func (d *duet) variant(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, sides [2]Side, envs slots, fresh bool, out *Outcome) error {
	for r := range d.rounds {
		baseSlot, first := plan(r)
		if !fresh || r > 0 {
			if err := d.host(ctx, sc, v, sides, envs, baseSlot); err != nil {
				return err
			}
		}
		bySide := [2]*env.Env{envs[slotOf(BaseSide, baseSlot)], envs[slotOf(HeadSide, baseSlot)]}
		out.Rounds[r].BaseEnv, out.Rounds[r].HeadEnv = bySide[BaseSide].RunID, bySide[HeadSide].RunID
		recordImages(out.Base[r], bySide[BaseSide])
		recordImages(out.Head[r], bySide[HeadSide])
		start := time.Now()
		if len(out.Base[r].Variants) == 0 {
			out.Base[r].StartedAt, out.Head[r].StartedAt = start.UTC(), start.UTC()
		}
		got, err := d.round(ctx, sc, v, bySide, first)
		out.Base[r].Variants = append(out.Base[r].Variants, got[BaseSide])
		out.Head[r].Variants = append(out.Head[r].Variants, got[HeadSide])
		if b, h := got[BaseSide].StartedAt, got[HeadSide].StartedAt; !b.IsZero() && !h.IsZero() {
			out.Rounds[r].SkewMs[v.Name] = float64(h.Sub(b).Microseconds()) / 1000
		}
		if d.progress != nil {
			fmt.Fprintf(d.progress, "duet %s: variant %s round %d/%d (base in slot %d, %s first) took %s\n",
				sc.Name, v.Name, r+1, d.rounds, baseSlot, sideName(first), time.Since(start).Round(100*time.Millisecond))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// round runs v once on both sides, side by side: each side seeds its own
// environment (one after the other, first side first: two seeds at once
// overloaded a 2-core machine into 503s), then both wait at one barrier,
// which hands them one instant, startLead ahead, to start their load (and
// with it their fault schedule and scraper) at. A side that fails before
// the barrier cancels the other.
func (d *duet) round(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, envs [2]*env.Env, first int) (got [2]results.Variant, err error) {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	arrived := make(chan struct{}, 2)
	release := make(chan struct{})
	var startAt time.Time // written before release is closed
	go func() {
		for range 2 {
			select {
			case <-arrived:
			case <-rctx.Done():
				return
			}
		}
		startAt = time.Now().Add(startLead)
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
		barrier := func(ctx context.Context) (time.Time, error) {
			<-seeding
			arrived <- struct{}{}
			select {
			case <-release:
				return startAt, nil
			case <-ctx.Done():
				return time.Time{}, context.Cause(ctx)
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
// scenario or the side sets it: both environments start at once, on a
// machine that may be busy.
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

// startLead is how far ahead of the barrier's release the sides' shared
// start instant lies: enough for each side's set-up between the barrier
// and its first request (fault schedule, scraper, load generators), so
// that neither starts late. When each side started as soon as its own
// set-up was done, the later one measured faster for the whole round
// (about 0.7 % a millisecond of skew, docs/PERFORMANCE.md).
const startLead = 100 * time.Millisecond

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
