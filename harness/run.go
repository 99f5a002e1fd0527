// Package harness runs scenarios: for each variant it brings a fresh
// environment up, drives the load streams while the fault schedule breaks
// links and the scraper records the target's metrics, lets the system
// settle, checks the history of operations against the store, evaluates the
// scenario's checks and tears the environment down.
//
//	scenario ──Run──▶ per variant: env.Up → load ∥ faults ∥ metrics → settle → history → checks → env.Down
//	         ──────▶ results.Results (written by the caller with the reports)
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
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/loadlab/loadlab/harness/checks"
	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/faults"
	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/harness/metrics"
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
func WithQuick(q bool) Option { return func(r *runner) { r.quick = q } }

// WithLimits overrides container limits by role.
func WithLimits(l map[string]env.Limit) Option { return func(r *runner) { r.limits = l } }

type runner struct {
	images   images.Set
	progress io.Writer
	log      *slog.Logger
	only     []string
	version  string
	quick    bool
	limits   map[string]env.Limit
}

// Run runs every variant of sc and returns the results. The error is
// non-nil when the run could not complete (interrupted, environment
// failure); the results hold what was measured up to then in any case.
// Failed checks are not an error: see results.Results.Failed.
func Run(ctx context.Context, sc *scenarios.Scenario, opts ...Option) (*results.Results, error) {
	r := &runner{images: images.FromEnv(images.Default), log: slog.Default(), version: "dev"}
	for _, o := range opts {
		o(r)
	}
	if sc.Target.Image != "" {
		r.images.Backend = sc.Target.Image
	}
	res := &results.Results{
		SchemaVersion: results.SchemaVersion,
		Scenario: results.ScenarioInfo{
			Name: sc.Name, Description: sc.Description, Teaches: sc.Teaches, File: sc.File,
			Seed: sc.Seed, Quick: r.quick, DurationS: sc.Duration.Seconds(), SettleS: sc.Settle.Seconds(),
			Source: string(sc.Source),
		},
		Status:      results.StatusOK,
		StartedAt:   time.Now().UTC(),
		Environment: r.environment(ctx),
	}
	variants := sc.Variants
	if len(r.only) > 0 {
		variants = nil
		for _, v := range sc.Variants {
			for _, name := range r.only {
				if v.Name == name {
					variants = append(variants, v)
				}
			}
		}
		if len(variants) == 0 {
			return res, fmt.Errorf("harness: no variant named %s in %s", strings.Join(r.only, ", "), sc.Name)
		}
	}
	var runErr error
	for i, v := range variants {
		if ctx.Err() != nil {
			break
		}
		r.log.Info("variant", "scenario", sc.Name, "variant", v.Name, "n", fmt.Sprintf("%d/%d", i+1, len(variants)))
		rv, err := r.variant(ctx, sc, v, fmt.Sprintf("%d/%d", i+1, len(variants)), res)
		res.Variants = append(res.Variants, rv)
		if err != nil {
			runErr = err
			break
		}
	}
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
	return res, runErr
}

// variant runs one variant in a fresh environment.
func (r *runner) variant(ctx context.Context, sc *scenarios.Scenario, v scenarios.Variant, label string, res *results.Results) (rv results.Variant, err error) {
	rv = results.Variant{Name: v.Name, Settings: v.Backend, Client: v.Client, Status: results.StatusOK}
	if rv.Client == "" {
		rv.Client = "proxy"
	}
	defer func() {
		switch {
		case ctx.Err() != nil:
			rv.Status, rv.Reason = results.StatusAborted, "interrupted"
		case err != nil:
			rv.Status, rv.Reason = results.StatusFailed, err.Error()
		}
	}()

	backendEnv := map[string]string{}
	for k, val := range sc.Target.Env {
		backendEnv[k] = val
	}
	for k, val := range v.Backend {
		backendEnv[env.SettingEnv(k)] = val
	}
	e, err := env.Up(ctx, env.Config{
		Images: r.images, BackendEnv: backendEnv, BackendPort: sc.Target.Port, Limits: r.limits, Logger: r.log,
	})
	if err != nil {
		return rv, fmt.Errorf("harness: variant %s: %w", v.Name, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if derr := e.Down(dctx); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	r.recordEnv(res, e)

	baseURL := e.BackendURL
	if rv.Client == "direct" {
		baseURL = e.BackendDirectURL
	}
	schedule, err := faults.NewSchedule(e.Toxiproxy, e.Proxies, sc.Faults, faults.WithLogger(r.log))
	if err != nil {
		return rv, fmt.Errorf("harness: %w", err)
	}
	// The scraper goes around toxiproxy, so a cut client link still shows
	// what the target does; it runs on through the settle phase.
	scraper := metrics.NewScraper(e.BackendDirectURL+"/metrics", metrics.WithLogger(r.log))
	store := history.NewPostgresStore(e.PostgresDSN)
	defer store.Close()
	seedStart := time.Now()
	n, err := seed(ctx, e.BackendDirectURL, sc, store)
	if err != nil {
		return rv, err
	}
	rv.SeededKeys = n
	r.log.Info("seeded", "variant", v.Name, "keys", n, "took", time.Since(seedStart).Round(time.Millisecond))

	// The fault schedule and the scraper start with the load, on its T0,
	// so that every offset in the results shares one origin.
	scrapeCtx, stopScrape := context.WithCancel(ctx)
	defer stopScrape()
	faultCtx, stopFaults := context.WithCancel(ctx)
	defer stopFaults()
	scraped := make(chan struct{})
	scheduled := make(chan []results.FaultWindow, 1)
	var t0 time.Time
	onStart := func(start time.Time) {
		t0 = start
		go func() { defer close(scraped); scraper.Run(scrapeCtx, start) }()
		go func() { scheduled <- schedule.Run(faultCtx, start) }()
	}

	// A target that dies mid-run ends the load at once: the rest would be
	// requests to nothing.
	loadCtx, stopLoad := context.WithCancelCause(ctx)
	defer stopLoad(nil)
	go watchTarget(loadCtx, e, stopLoad)

	prog := newProgress(r.progress, sc, v.Name, label)
	loadRes, loadErr := load.Run(loadCtx, baseURL, sc.Load,
		load.WithDuration(sc.Duration), load.WithSeed(sc.Seed), load.WithTimeout(sc.Timeout),
		load.WithProgress(prog.update), load.WithLogger(r.log), load.WithOnStart(onStart))
	prog.done()
	if t0.IsZero() { // the load never started
		return rv, fmt.Errorf("harness: load: %w", loadErr)
	}
	rv.StartedAt = t0.UTC()
	// Faults still active (the load was cut short) are removed now.
	stopFaults()
	rv.Faults = <-scheduled
	if loadRes == nil {
		stopScrape()
		<-scraped
		return rv, fmt.Errorf("harness: load: %w", loadErr)
	}
	rv.DurationS = loadRes.Duration.Seconds()
	rv.Phases = Phases(rv.DurationS, rv.Faults)

	// A target that died mid-run is a failure worth naming precisely.
	stopLoad(nil)
	deadErr := error(nil)
	if cause := context.Cause(loadCtx); errors.Is(cause, errTargetDied) {
		deadErr = cause
	} else {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		deadErr = e.Alive(actx, images.Backend)
		cancel()
	}

	// Settle: wait, at most Settle, until the store holds every acked write.
	// The scraper goes on meanwhile, so the queue draining shows in the charts.
	settleStart := time.Since(t0)
	converged, took := false, time.Duration(0)
	if ctx.Err() == nil && deadErr == nil {
		sctx, cancel := context.WithTimeout(ctx, sc.Settle)
		var werr error
		took, werr = history.WaitConverged(sctx, store, history.AckedMax(loadRes.Ops), 200*time.Millisecond)
		cancel()
		converged = werr == nil
		if !converged {
			r.log.Warn("settle: the store did not converge", "variant", v.Name, "within", sc.Settle, "err", werr)
		}
	}
	stopScrape()
	<-scraped
	rv.Metrics = scraper.Series()

	// The final state, read straight from Postgres with a fresh deadline so
	// an interrupted run still gets its history checked.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	final, ferr := store.Versions(fctx)
	cancel()
	if ferr == nil {
		names := make([]string, len(sc.Load))
		for i, s := range sc.Load {
			names[i] = s.Name
		}
		h := history.Check(loadRes.Ops, final, history.WithStreamNames(names))
		h.Converged = converged
		h.ConvergenceS = convergence(converged, rv.Faults, rv.Metrics, (settleStart + took).Seconds())
		rv.History = &h
	} else {
		r.log.Error("history: cannot read the final state", "err", ferr)
	}
	rv.Streams = loadRes.Streams(rv.Phases)
	rv.Checks = checks.Evaluate(sc.Checks, &rv, loadRes.Summary)

	switch {
	case deadErr != nil:
		return rv, fmt.Errorf("harness: the target died during the run: %w%s", deadErr, e.Logs(images.Backend))
	case loadErr != nil && ctx.Err() == nil:
		return rv, fmt.Errorf("harness: load: %w", loadErr)
	case ferr != nil && ctx.Err() == nil:
		return rv, fmt.Errorf("harness: history: %w", ferr)
	}
	return rv, ctx.Err()
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

// Phases derives the named windows of a variant from its faults' actual
// active windows (planned ones when a fault never became active).
func Phases(duration float64, windows []results.FaultWindow) []results.Phase {
	ph := []results.Phase{{Name: "whole", StartS: 0, EndS: duration}}
	for _, w := range windows {
		from, to := w.ActiveFromS, w.ActiveToS
		if from < 0 {
			from = w.PlannedAtS
		}
		if to < 0 {
			to = w.PlannedAtS + w.PlannedForS
		}
		from, to = min(from, duration), min(to, duration)
		ph = append(ph,
			results.Phase{Name: "before " + w.Name, StartS: 0, EndS: from},
			results.Phase{Name: "during " + w.Name, StartS: from, EndS: to},
			results.Phase{Name: "after " + w.Name, StartS: to, EndS: duration},
		)
	}
	return ph
}

// convergence is the time from the last heal until the store held every
// acknowledged write: the first scrape after the heal with an empty write
// queue, or, when the queue never emptied under load (or there is none),
// the moment the settle phase saw the store converge (at, seconds since
// T0). -1 when it never converged; 0 without faults.
func convergence(converged bool, windows []results.FaultWindow, series []results.Series, at float64) float64 {
	if !converged {
		return -1
	}
	if len(windows) == 0 {
		return 0
	}
	heal := 0.0
	for _, w := range windows {
		to := w.ActiveToS
		if to < 0 {
			to = w.PlannedAtS + w.PlannedForS
		}
		heal = max(heal, to)
	}
	for _, s := range series {
		if s.Name != "queue_depth" {
			continue
		}
		for _, p := range s.Points {
			if p.T >= heal && p.V == 0 {
				return p.T - heal
			}
		}
	}
	return max(0, at-heal)
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
