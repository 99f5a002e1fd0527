// Package harness runs scenarios. Run is a sequence of stages, each a
// function of its own:
//
//	Run ─▶ environment (env.Up once; env.Reconfigure between variants; env.Down at the end,
//	       or one env.Up … env.Down per variant with environment: fresh)
//	    ─▶ variant pipeline, given a ready *env.Env:
//	         seed ─▶ drive (load ∥ faults ∥ scrape ∥ target watch) ─▶ settle ─▶ final state
//	         ─▶ analyse (pure: what was measured → results.Variant)
//	    ─▶ judge (checks over every variant: they compare variants and phases)
//	    ─▶ results.Results (written by the caller with the reports)
//
// Run always returns what it measured: an interrupted or failed run yields
// a Results marked aborted or failed, never nothing.
package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/loadlab/loadlab/harness/checks"
	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
	"github.com/moby/moby/client"
)

// Option configures Run.
type Option func(*runner)

// WithImages sets the images (default images.FromEnv(images.Default)).
func WithImages(s images.Set) Option { return func(r *runner) { r.images = s } }

// WithProgress writes a progress line about once a second to w.
func WithProgress(w io.Writer) Option { return func(r *runner) { r.progress = w } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(r *runner) { r.log = l } }

// WithVariants runs only the named variants.
func WithVariants(names ...string) Option { return func(r *runner) { r.only = names } }

// WithVersion records the loadlab version in the results.
func WithVersion(v string) Option { return func(r *runner) { r.version = v } }

// WithQuick records that the scenario was shortened for CI.
func WithQuick(q bool) Option {
	return func(r *runner) {
		if r.quick = q; q {
			r.scale = results.ScaleQuick
		}
	}
}

// WithScale records the scale the scenario was run at (results.ScaleQuick,
// ScaleNormal or ScaleLong).
func WithScale(s string) Option {
	return func(r *runner) { r.scale, r.quick = s, s == results.ScaleQuick }
}

// WithLimits overrides container limits by role.
func WithLimits(l map[string]env.Limit) Option { return func(r *runner) { r.limits = l } }

// WithHistoryDir exports each variant's op history as JSON lines into dir
// (history.WriteJSONL), named in results.json.
func WithHistoryDir(dir string) Option { return func(r *runner) { r.historyDir = dir } }

// WithBeforeSeed registers fn, called by RunVariant right before the seed;
// an error ends the variant. The duet takes a lock there, so that two sides
// do not seed at once on a small machine.
func WithBeforeSeed(fn func(context.Context) error) Option {
	return func(r *runner) { r.beforeSeed = fn }
}

// WithBeforeLoad registers fn, called by RunVariant after the seed, right
// before the load starts; an error ends the variant. The load (and with it
// the fault schedule and the scraper) starts at the instant fn returns, or
// at once for the zero time. The duet uses it as a barrier that hands both
// sides one instant, so that they start together.
func WithBeforeLoad(fn func(context.Context) (startAt time.Time, err error)) Option {
	return func(r *runner) { r.beforeLoad = fn }
}

// WithEnvironment runs the scenario in e, an environment the caller
// brought up and owns (Run reconfigures it for every variant, from the
// first, and leaves it up): a suite that runs many scenarios pays for one
// env.Up instead of one per scenario. e must run the scenario's target on
// its port. A scenario with environment: fresh still gets its own per
// variant.
func WithEnvironment(e *env.Env) Option { return func(r *runner) { r.shared, r.borrowed = e, true } }

type runner struct {
	images   images.Set
	progress io.Writer
	log      *slog.Logger
	only     []string
	version  string
	quick    bool
	scale    string
	limits   map[string]env.Limit
	shared   *env.Env // the environment the variants share (nil until the first starts it)
	borrowed bool     // shared came from WithEnvironment: the caller takes it down

	historyDir string

	beforeSeed func(context.Context) error
	beforeLoad func(context.Context) (time.Time, error)
}

func newRunner(opts []Option) *runner {
	r := &runner{images: images.FromEnv(images.Default), log: slog.Default(), version: "dev", scale: results.ScaleNormal}
	for _, o := range opts {
		o(r)
	}
	return r
}

// RunVariant runs variant v of sc in e, an environment already up whose
// target runs with the variant's settings (see BackendEnv); the caller owns
// e. It is the variant pipeline of Run (seed, drive, settle, analyse); the
// caller judges the checks over its whole results (checks.Evaluate). The
// duet (harness/duet) runs two of these side by side.
func RunVariant(ctx context.Context, e *env.Env, sc *scenarios.Scenario, v scenarios.Variant, opts ...Option) (results.Variant, error) {
	return newRunner(opts).variant(ctx, sc, v, v.Name, e)
}

// NewResults starts the results of a run of sc as Run does: the scenario,
// status ok, the start time and the machine (WithVersion, WithQuick apply).
func NewResults(ctx context.Context, sc *scenarios.Scenario, opts ...Option) *results.Results {
	return newRunner(opts).header(ctx, sc)
}

// BackendEnv is the target's environment for variant v of sc: the
// scenario's, then the variant's settings as BACKEND_*.
func BackendEnv(sc *scenarios.Scenario, v scenarios.Variant) map[string]string {
	return backendEnv(sc, v)
}

// Run runs every variant of sc and returns the results. The error is
// non-nil when the run could not complete (interrupted, environment
// failure); the results hold what was measured up to then in any case.
// Failed checks are not an error: see results.Results.Failed.
func Run(ctx context.Context, sc *scenarios.Scenario, opts ...Option) (*results.Results, error) {
	r := newRunner(opts)
	if sc.Target.Image != "" {
		r.images.Backend = sc.Target.Image
	}
	res := r.header(ctx, sc)
	only, err := sc.Only(r.only...)
	if err != nil {
		return res, fmt.Errorf("harness: %w", err)
	}
	variants := only.Variants
	var runErr error
	defer func() { // on a panic too; Down is idempotent
		if r.shared != nil && !r.borrowed {
			r.down(ctx, r.shared)
		}
	}()
	for i, v := range variants {
		if ctx.Err() != nil {
			break
		}
		label := fmt.Sprintf("%d/%d", i+1, len(variants))
		r.log.Info("variant", "scenario", sc.Name, "variant", v.Name, "n", label)
		rv, err := r.inEnvironment(ctx, sc, v, label, res)
		res.Variants = append(res.Variants, rv)
		if err != nil {
			runErr = err
			break
		}
	}
	// Checks compare variants and phases, so they judge the whole results.
	checks.Evaluate(sc.Checks, res)
	if r.shared != nil && !r.borrowed {
		runErr = errors.Join(runErr, r.down(ctx, r.shared))
	}
	return res, finish(ctx, res, runErr)
}

// header is the part of the results known before anything runs.
func (r *runner) header(ctx context.Context, sc *scenarios.Scenario) *results.Results {
	return &results.Results{
		SchemaVersion: results.SchemaVersion,
		Scenario: results.ScenarioInfo{
			Name: sc.Name, Description: sc.Description, Teaches: sc.Teaches, File: sc.File,
			Seed: sc.Seed, Quick: r.quick, Scale: r.scale, DurationS: sc.Duration.Seconds(), SettleS: sc.Settle.Seconds(),
			Source: string(sc.Source),
		},
		Status:      results.StatusOK,
		StartedAt:   time.Now().UTC(),
		Environment: r.environment(ctx),
	}
}

// finish stamps the run's end and status, and returns its error.
func finish(ctx context.Context, res *results.Results, runErr error) error {
	res.EndedAt = time.Now().UTC()
	switch {
	case ctx.Err() != nil:
		res.Status, res.Reason = results.StatusAborted, "interrupted: "+context.Cause(ctx).Error()
		if runErr == nil {
			runErr = ctx.Err()
		}
	case runErr != nil:
		res.Status, res.Reason = results.StatusFailed, runErr.Error()
	}
	return runErr
}

// inEnvironment is the environment stage: it hands the variant pipeline a
// ready environment (envFor) and records what it ran.
func (r *runner) inEnvironment(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, label string, res *results.Results) (rv results.Variant, err error) {
	e, release, err := r.envFor(ctx, sc, v)
	if err != nil {
		rv = newVariant(v)
		setStatus(ctx, &rv, err)
		return rv, fmt.Errorf("harness: variant %s: %w", v.Name, err)
	}
	defer func() { err = errors.Join(err, release()) }()
	r.recordEnv(res, e)
	return r.variant(ctx, sc, v, label, e)
}

// envFor returns the environment of a variant and what to do with it after
// the variant. By default the variants share one: the first starts it, and
// each later one reconfigures it (stores emptied, toxics removed, the
// backend restarted with v's settings); Run takes it down at the end. A
// scenario with environment: fresh gets a new one per variant instead.
func (r *runner) envFor(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant) (*env.Env, func() error, error) {
	keep := func() error { return nil }
	if r.shared != nil && !sc.FreshEnv {
		return r.shared, keep, r.shared.Reconfigure(ctx, backendEnv(sc, v), env.WithBackendImage(r.images.Backend))
	}
	e, err := env.Up(ctx, env.Config{
		Images: r.images, BackendEnv: backendEnv(sc, v), BackendPort: sc.Target.Port, Limits: r.limits, Logger: r.log,
	})
	if err != nil {
		return nil, nil, err
	}
	if sc.FreshEnv {
		return e, func() error { return r.down(ctx, e) }, nil
	}
	r.shared = e
	return e, keep, nil
}

// down takes an environment down, with a deadline of its own: ctx may be
// why the run ends.
func (r *runner) down(ctx context.Context, e *env.Env) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	return e.Down(dctx)
}

// backendEnv is the target's environment for variant v: the scenario's,
// then the variant's settings.
func backendEnv(sc *scenarios.Scenario, v scenarios.Variant) map[string]string {
	m := maps.Clone(sc.Target.Env)
	if m == nil {
		m = map[string]string{}
	}
	for k, val := range v.Backend {
		m[env.SettingEnv(k)] = val
	}
	return m
}

func (r *runner) environment(ctx context.Context) results.Environment {
	host, _ := os.Hostname()
	envi := results.Environment{
		LoadlabVersion: r.version, GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUs: runtime.NumCPU(), Hostname: host, Images: map[string]results.ImageInfo{}, Limits: map[string]string{},
	}
	vctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if c, err := images.NewDockerClient(vctx); err == nil {
		if v, err := c.ServerVersion(vctx, client.ServerVersionOptions{}); err == nil {
			envi.DockerVersion = v.Version
		}
		c.Close()
	}
	return envi
}

func (r *runner) recordEnv(res *results.Results, e *env.Env) {
	roles := make([]string, 0, len(e.Images))
	for role := range e.Images {
		roles = append(roles, role)
	}
	sort.Strings(roles)
	for _, role := range roles {
		img := e.Images[role]
		res.Environment.Images[role] = results.ImageInfo{Ref: img.Ref, ID: img.ID}
		if l, ok := e.Limits[role]; ok {
			res.Environment.Limits[role] = fmt.Sprintf("%.2g CPU, %d MiB", l.CPUs, l.MemoryMB)
		}
	}
}
