package faults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"

	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// Down is the pseudo toxic type that disables a proxy instead of adding a toxic.
const Down = "down"

// DefaultActionTimeout bounds each control-plane call of a schedule.
const DefaultActionTimeout = 2 * time.Second

// Option configures a Schedule.
type Option func(*Schedule)

// WithActionTimeout bounds every apply and remove call (default 2s). A call
// that does not answer in time is recorded as failed, with unknown outcome.
func WithActionTimeout(d time.Duration) Option {
	return func(s *Schedule) {
		if d > 0 {
			s.actionTimeout = d
		}
	}
}

// WithLogger sets the logger for applied, removed and failed actions.
func WithLogger(l *slog.Logger) Option {
	return func(s *Schedule) {
		if l != nil {
			s.log = l
		}
	}
}

// Schedule is a validated fault schedule, ready to run once per variant.
type Schedule struct {
	client        *toxiproxy.Client
	processes     Processes // for kill faults
	target        string    // the target's base URL, for revoke faults
	faults        []plannedFault
	actionTimeout time.Duration
	log           *slog.Logger
}

// plannedFault is a scenarios.Fault resolved to a proxy and a toxic.
type plannedFault struct {
	fault     scenarios.Fault
	proxy     string  // toxiproxy proxy name
	toxicName string  // unique per schedule, safe in a URL path
	stream    string  // upstream or downstream; empty for down
	toxicity  float64 // in (0, 1]; 0 for down
}

func (p plannedFault) isDown() bool   { return p.fault.Toxic.Type == Down }
func (p plannedFault) isKill() bool   { return p.fault.Kill != "" }
func (p plannedFault) isRevoke() bool { return p.fault.Revoke != "" }

// NewSchedule resolves every fault's link to a proxy name (proxies maps link
// to proxy name) and validates what toxiproxy itself would only reject
// mid-run. Whether the proxy exists is only known when the schedule runs.
func NewSchedule(c *toxiproxy.Client, proxies map[string]string, faults []scenarios.Fault, opts ...Option) (*Schedule, error) {
	if c == nil {
		return nil, errors.New("faults: nil toxiproxy client")
	}
	s := &Schedule{client: c, actionTimeout: DefaultActionTimeout, log: slog.Default()}
	for _, o := range opts {
		o(s)
	}
	for i, f := range faults {
		p, err := plan(i, f, proxies)
		if err != nil {
			return nil, err
		}
		if p.isKill() && s.processes == nil {
			return nil, fmt.Errorf("faults: fault %q: %w", f.Name, errNoProcesses)
		}
		if p.isRevoke() && s.target == "" {
			return nil, fmt.Errorf("faults: fault %q: %w", f.Name, errNoTarget)
		}
		s.faults = append(s.faults, p)
	}
	return s, nil
}

func plan(i int, f scenarios.Fault, proxies map[string]string) (plannedFault, error) {
	fail := func(format string, args ...any) (plannedFault, error) {
		return plannedFault{}, fmt.Errorf("faults: fault %q: %s", f.Name, fmt.Sprintf(format, args...))
	}
	if f.At < 0 {
		return fail("negative start %s", f.At)
	}
	if f.For <= 0 {
		return fail("duration %s is not positive", f.For)
	}
	if f.Kill != "" || f.Revoke != "" {
		return plannedFault{fault: f}, nil
	}
	name, ok := proxies[f.Link]
	if !ok || name == "" {
		return fail("no proxy for link %q", f.Link)
	}
	if f.Toxic.Type == "" {
		return fail("no toxic type")
	}
	p := plannedFault{fault: f, proxy: name, toxicName: toxicName(i, f.Name)}
	if p.isDown() {
		return p, nil
	}
	switch f.Toxic.Stream {
	case "":
		p.stream = "downstream"
	case "upstream", "downstream":
		p.stream = f.Toxic.Stream
	default:
		return fail("stream %q is neither upstream nor downstream", f.Toxic.Stream)
	}
	switch t := f.Toxic.Toxicity; {
	case t == 0: // the toxiproxy client would send 0 as-is and the toxic would never fire
		p.toxicity = 1
	case t > 0 && t <= 1:
		p.toxicity = t
	default:
		return fail("toxicity %g is outside (0, 1]", t)
	}
	return p, nil
}

// toxicName makes a name unique within the schedule (the index) and safe to
// put in the API's URL path (fault names are free text).
func toxicName(i int, fault string) string {
	b := []byte(fmt.Sprintf("loadlab%d_", i))
	for _, r := range fault {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b = append(b, byte(r))
		default:
			b = append(b, '_')
		}
	}
	return string(b)
}

// Run applies each fault at t0+At and removes it at t0+At+For, and returns
// one window per fault, in the order of the scenario. When ctx ends, faults
// not yet applied are skipped and active ones are removed before Run
// returns. Run never panics on a failed action: it records it and goes on.
func (s *Schedule) Run(ctx context.Context, t0 time.Time) []results.FaultWindow {
	windows := make([]results.FaultWindow, len(s.faults))
	var wg sync.WaitGroup
	for i := range s.faults {
		wg.Go(func() { windows[i] = s.runFault(ctx, t0, s.faults[i]) })
	}
	wg.Wait()
	return windows
}

// runFault applies then removes one fault and records its actual window.
func (s *Schedule) runFault(ctx context.Context, t0 time.Time, p plannedFault) results.FaultWindow {
	f := p.fault
	w := results.FaultWindow{
		Name:        f.Name,
		Link:        f.Link,
		Kill:        f.Kill,
		Revoke:      f.Revoke,
		Toxic:       f.Toxic.Type,
		Direction:   p.stream,
		Toxicity:    p.toxicity,
		Attributes:  f.Toxic.Attributes,
		PlannedAtS:  f.At.Seconds(),
		PlannedForS: f.For.Seconds(),
		ActiveFromS: -1,
		ActiveToS:   -1,
	}
	log := s.log.With("fault", f.Name, "link", f.Link, "proxy", p.proxy, "toxic", f.Toxic.Type, "kill", f.Kill, "revoke", f.Revoke)
	if !sleepUntil(ctx, t0.Add(f.At)) {
		w.Error = "not applied: run ended before its start"
		return w
	}

	// Actions outlive ctx on purpose: an apply cut short by cancellation
	// would leave its outcome unknown, and a remove must run precisely when
	// ctx is gone. Each one is bounded by the action timeout instead.
	actx := context.WithoutCancel(ctx)

	start := time.Now()
	held, err := s.apply(actx, p)
	if err != nil {
		w.Error = "apply: " + err.Error()
		log.Warn("faults: apply failed", "err", err)
		if errors.Is(err, errNoAnswer) || p.isKill() {
			// The outcome is unknown: the toxic may still land after we gave
			// up waiting (a failed kill may still have stopped the
			// container). Take it back at the planned end, as if it had
			// been applied, rather than leave the link broken or the
			// container down for the rest of the run; by then a late
			// apply has landed or died.
			sleepUntil(ctx, t0.Add(f.At+f.For))
			if rerr := s.remove(actx, p, nil); rerr != nil && !isNotFound(rerr) {
				w.Error += "; precautionary remove: " + rerr.Error()
				log.Warn("faults: precautionary remove failed", "err", rerr)
			}
		}
		return w
	}
	w.ApplyMs = msSince(start)
	w.ActiveFromS = time.Since(t0).Seconds()
	log.Debug("faults: applied", "at_s", w.ActiveFromS, "apply_ms", w.ApplyMs)

	sleepUntil(ctx, t0.Add(f.At+f.For)) // early return when ctx ends: remove now

	start = time.Now()
	err = s.remove(actx, p, held)
	if r, ok := held.(*revocation); ok {
		w.RevocationLagS = &r.lag
	}
	if err != nil {
		// One retry with a fresh proxy handle: a link left broken spoils
		// every later measurement of the variant.
		log.Warn("faults: remove failed, retrying", "err", err)
		start = time.Now()
		if err2 := s.remove(actx, p, nil); err2 == nil || isNotFound(err2) {
			err = nil
		} else {
			err = fmt.Errorf("%w; retry: %w", err, err2)
		}
	}
	if err != nil {
		w.Error = "remove: " + err.Error()
		log.Warn("faults: remove failed", "err", err)
		return w
	}
	w.RemoveMs = msSince(start)
	w.ActiveToS = time.Since(t0).Seconds()
	log.Debug("faults: removed", "at_s", w.ActiveToS, "remove_ms", w.RemoveMs)
	return w
}

// apply puts the fault in place and returns what remove needs to take it
// back: the proxy handle it disabled (down, so that remove re-enables it
// with a single call) or the running revocation probe; nil otherwise.
func (s *Schedule) apply(ctx context.Context, p plannedFault) (any, error) {
	switch {
	case p.isKill():
		return nil, s.kill(ctx, p.fault.Kill)
	case p.isRevoke():
		return s.revoke(ctx)
	case p.isDown():
		return disableProxy(ctx, s.client, s.actionTimeout, p.proxy)
	}
	return nil, addToxic(ctx, s.client, s.actionTimeout, p)
}

// remove takes the fault back. held is what apply returned, or nil.
func (s *Schedule) remove(ctx context.Context, p plannedFault, held any) error {
	switch {
	case p.isKill():
		return s.restart(ctx, p.fault.Kill)
	case p.isRevoke():
		if r, ok := held.(*revocation); ok {
			r.end()
		}
		return nil
	case p.isDown():
		down, _ := held.(*toxiproxy.Proxy)
		return enableProxy(ctx, s.client, s.actionTimeout, p.proxy, down)
	}
	return removeToxic(ctx, s.client, s.actionTimeout, p.proxy, p.toxicName)
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
