package load

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/loadlab/loadlab/harness/history"
)

// Run sends every stream's load against baseURL concurrently for the
// duration given by WithDuration and returns the measurements. Cancelling ctx
// stops all streams promptly; Run then waits for in-flight requests (at most
// the request timeout) and returns the partial Result together with
// ctx.Err(). Other errors (bad options, streams or URL, or ctx cancelled
// while the load waits for WithStartAt's instant) are returned before any
// load is sent, with a nil Result.
func Run(ctx context.Context, baseURL string, streams []Stream, opts ...Option) (*Result, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	base, err := checkBaseURL(baseURL, cfg.allowRemote)
	if err != nil {
		return nil, err
	}
	if len(streams) > math.MaxUint8+1 {
		return nil, fmt.Errorf("load: %d streams, at most %d", len(streams), math.MaxUint8+1)
	}
	if cfg.values == nil {
		cfg.values = history.NewValues(history.NewNonce(), ValueSizes(streams))
	}
	gens, err := newGenerators(streams, base, &cfg)
	if err != nil {
		return nil, err
	}

	if err := waitUntil(ctx, cfg.startAt); err != nil {
		for _, g := range gens {
			_ = g.ops.Close()
		}
		return nil, fmt.Errorf("load: before the start: %w", err)
	}
	stop := make(chan struct{})
	t0 := time.Now()
	if cfg.onStart != nil {
		cfg.onStart(t0)
	}
	var collectors sync.WaitGroup
	for _, g := range gens {
		g.pacer.stop = stop
		g.t0 = t0
		// vegeta's Attack reads its own start time right after this one.
		g.pacer.startAt(time.Now())
		results := g.attacker.Attack(g.target, g.pacer, 0, g.stream.Name) // the pacer ends it
		collectors.Add(1)
		go func() {
			defer collectors.Done()
			g.collect(results, t0)
		}()
	}
	cfg.logger.Debug("load: started", "streams", len(gens), "duration", cfg.duration, "base", base)

	finished := make(chan struct{})
	go func() {
		collectors.Wait()
		close(finished)
	}()
	progressDone := make(chan struct{})
	var progress sync.WaitGroup
	if cfg.progress != nil {
		progress.Add(1)
		go func() {
			defer progress.Done()
			reportProgress(cfg.progress, t0, gens, progressDone)
		}()
	}
	ran, runErr := awaitEnd(ctx, &cfg, t0, gens, stop, finished)
	close(progressDone)
	progress.Wait()
	for _, g := range gens {
		if g.transport != nil {
			g.transport.CloseIdleConnections()
		}
	}
	return assemble(t0, ran, gens, cfg.logger), runErr
}

// newGenerators builds one generator per stream, or none.
func newGenerators(streams []Stream, base string, cfg *config) ([]*generator, error) {
	gens := make([]*generator, len(streams))
	for i, st := range streams {
		g, err := newGenerator(i, st, base, cfg)
		if err != nil {
			for _, g := range gens[:i] {
				_ = g.ops.Close()
			}
			return nil, fmt.Errorf("load: stream %q: %w", st.Name, err)
		}
		gens[i] = g
	}
	return gens, nil
}

// waitUntil returns at the instant at (at once if it has passed), or
// earlier with ctx's error.
func waitUntil(ctx context.Context, at time.Time) error {
	wait := time.Until(at)
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// awaitEnd waits until every stream has finished its schedule, or ctx is
// cancelled and every stream has stopped; it returns how long the load ran.
func awaitEnd(ctx context.Context, cfg *config, t0 time.Time, gens []*generator, stop chan struct{}, finished <-chan struct{}) (time.Duration, error) {
	select {
	case <-finished:
		return cfg.duration, nil
	case <-ctx.Done():
	}
	close(stop)
	for _, g := range gens {
		g.attacker.Stop()
	}
	ran := min(time.Since(t0), cfg.duration)
	cfg.logger.Debug("load: stopping", "after", ran, "cause", context.Cause(ctx))
	<-finished // vegeta waits for its workers, each bounded by the request timeout
	return ran, ctx.Err()
}

func (c *config) validate() error {
	switch {
	case c.duration <= 0:
		return errors.New("load: duration must be positive (WithDuration)")
	case c.timeout <= 0:
		return errors.New("load: timeout must be positive")
	case c.maxWorkers <= 0:
		return errors.New("load: max workers must be positive")
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return nil
}

// checkBaseURL parses baseURL and, unless remote targets are allowed,
// refuses hosts that are not loopback.
func checkBaseURL(baseURL string, allowRemote bool) (string, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", fmt.Errorf("load: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("load: base URL %q: want http://host:port", baseURL)
	}
	if !allowRemote {
		host := u.Hostname()
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", fmt.Errorf("load: base URL %q is not loopback; load goes only to 127.0.0.1 or localhost (WithAllowRemote to override)", baseURL)
		}
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// assemble builds the Result once every collector has finished.
func assemble(t0 time.Time, ran time.Duration, gens []*generator, logger *slog.Logger) *Result {
	r := &Result{T0: t0, Duration: ran, ByStream: make([]*StreamResult, len(gens))}
	nsec := int(math.Ceil(ran.Seconds()))
	total := 0
	for _, g := range gens {
		total += g.ops.Len()
	}
	r.Ops = make([]history.Op, 0, total)
	for i, g := range gens {
		sr := g.finish(ran, nsec)
		r.ByStream[i] = sr
		if sr.Health.Saturated {
			logger.Warn("load: generator saturated: latencies include its own queueing",
				"stream", sr.Stream.Name, "intended", sr.Health.Intended, "sent", sr.Health.Sent, "unsent", sr.Health.Unsent,
				"late", sr.Health.LateSends, "max_late", sr.Health.MaxLate,
				"peak_workers", sr.Health.PeakWorkers, "worker_limit", sr.Health.WorkerLimit)
		}
		var err error
		if r.Ops, err = g.ops.ReadAll(r.Ops); err != nil {
			logger.Error("load: op history incomplete", "stream", sr.Stream.Name, "err", err)
			r.Incomplete = fmt.Sprintf("stream %s: %v", sr.Stream.Name, err)
		}
	}
	slices.SortStableFunc(r.Ops, func(a, b history.Op) int { return cmp.Compare(a.InvokeNs, b.InvokeNs) })
	return r
}

// reportProgress calls fn about once per second until done, then once more.
func reportProgress(fn func(Progress), t0 time.Time, gens []*generator, done <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSent, lastAt := int64(0), t0
	emit := func(now time.Time) {
		var p Progress
		for _, g := range gens {
			p.Sent += g.sent.Load()
			p.Errors += g.errors.Load()
			p.LateSends += g.late.Load()
		}
		p.Elapsed = now.Sub(t0)
		if dt := now.Sub(lastAt).Seconds(); dt > 0 {
			p.CurrentRate = float64(p.Sent-lastSent) / dt
		}
		lastSent, lastAt = p.Sent, now
		fn(p)
	}
	for {
		select {
		case <-done:
			emit(time.Now())
			return
		case now := <-tick.C:
			emit(now)
		}
	}
}

// newHTTPClient is the engine's client: HTTP/1.1 only, keep-alive, no
// proxy, no compression, and an idle pool as large as the worker cap so a
// connection is never closed while the stream still needs it.
func newHTTPClient(idle int, timeout time.Duration) (http.Client, *http.Transport) {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		MaxIdleConnsPerHost: idle,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{}, // no HTTP/2
	}
	return http.Client{Transport: tr, Timeout: timeout}, tr
}
