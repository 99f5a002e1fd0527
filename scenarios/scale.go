package scenarios

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Quick mode bounds: a CI job runs every scenario in about this long.
const (
	QuickDuration = 12 * time.Second
	QuickSettle   = 3 * time.Second
	// QuickMinPhase is the shortest a fault's before, during or after phase
	// gets in quick mode (unless it was shorter to begin with), so that
	// every phase stays judgeable: at the catalogue's ~100 requests/s, four
	// seconds put about 400 requests behind each run's phase p50 and four
	// behind its p99 (the run, not the second, is compare's unit). A
	// scenario whose phases need it runs longer than QuickDuration.
	QuickMinPhase = 4 * time.Second
)

// Quick duet rounds (QuickRound). A duet's evidence is one value per side
// per round, and what varies from round to round on a shared machine is the
// round as a whole (which core each side's processes landed on, what else
// ran), not its seconds: quick rounds of 6 s measured head/base ratios as
// spread as rounds of 15 s (docs/PERFORMANCE.md). So a quick duet runs
// more, shorter rounds in the same minutes.
const (
	RoundDuration = 4 * time.Second
	// RoundMinPhase is the shortest a fault phase gets in a quick round:
	// at the catalogue's ~100 requests/s, about 100 requests behind each
	// round's phase p50. Only the whole run gates by default; phase rows
	// are leads, and need only enough requests for their p50 to be a value.
	RoundMinPhase = time.Second
)

// scaleStep is the resolution of scaled times: the fault scheduler and the
// per-second report have no use for finer ones.
const scaleStep = 100 * time.Millisecond

// Clone returns a deep copy of s.
func (s *Scenario) Clone() *Scenario {
	c := *s
	c.Source = slices.Clone(s.Source)
	c.Target.Env = maps.Clone(s.Target.Env)
	c.Load = slices.Clone(s.Load)
	for i := range c.Load {
		c.Load[i].Stages = slices.Clone(c.Load[i].Stages)
	}
	c.Faults = slices.Clone(s.Faults)
	for i := range c.Faults {
		c.Faults[i].Toxic.Attributes = maps.Clone(c.Faults[i].Toxic.Attributes)
	}
	c.Variants = slices.Clone(s.Variants)
	for i := range c.Variants {
		c.Variants[i].Backend = maps.Clone(c.Variants[i].Backend)
		c.Variants[i].Retry = maps.Clone(c.Variants[i].Retry)
	}
	c.Checks = slices.Clone(s.Checks)
	return &c
}

// Only returns a deep copy of s that runs only the named variants, in the
// scenario's order; no names keeps them all. A name the scenario does not
// have is an error.
func (s *Scenario) Only(names ...string) (*Scenario, error) {
	c := s.Clone()
	if len(names) == 0 {
		return c, nil
	}
	var have []string
	for _, v := range s.Variants {
		have = append(have, v.Name)
	}
	for _, n := range names {
		if !slices.Contains(have, n) {
			return nil, fmt.Errorf("scenarios: %s has no variant %q (it has %s)", s.Name, n, strings.Join(have, ", "))
		}
	}
	c.Variants = slices.DeleteFunc(c.Variants, func(v Variant) bool { return !slices.Contains(names, v.Name) })
	return c, nil
}

// Scaled returns a deep copy of s with its timeline stretched by f: the
// duration, the settle time, the stages and the faults' start and length.
// Rates, timeouts and thresholds stay as they are. Times are rounded to
// 100ms. Each time is computed from scaled points on the timeline (a
// fault's start and end, a stage's end) rather than from scaled lengths,
// and rounding is monotonic, so faults that did not overlap still do not,
// and whatever fitted the run still fits. A factor that is not positive
// and finite leaves the timeline unchanged.
func (s *Scenario) Scaled(f float64) *Scenario {
	c := s.Clone()
	if !(f > 0) || math.IsInf(f, 0) {
		return c
	}
	scale := func(d time.Duration) time.Duration {
		v := math.Round(float64(d) * f / float64(scaleStep))
		return time.Duration(min(v, float64(maxDuration/scaleStep))) * scaleStep
	}
	c.Duration = max(scale(s.Duration), scaleStep)
	c.Settle = scale(s.Settle)

	for i, st := range s.Load {
		var start, end time.Duration // unscaled stage boundaries
		var prev time.Duration       // scaled end of the previous stage
		for j, stage := range st.Stages {
			end = start + stage.Duration
			next := max(scale(end), prev+scaleStep)
			c.Load[i].Stages[j].Duration = next - prev
			start, prev = end, next
		}
		c.Duration = max(c.Duration, prev)
	}

	// A fault too short to survive rounding keeps the minimum length; the
	// faults after it on its link move so as not to overlap it.
	ends := map[string]time.Duration{} // scaled end of the latest fault per link
	order := make([]int, len(s.Faults))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(s.Faults[a].At, s.Faults[b].At) })
	for _, i := range order {
		ft := s.Faults[i]
		at := max(scale(ft.At), ends[ft.Where()])
		end := max(scale(ft.At+ft.For), at+scaleStep)
		if ft.Kill != "" {
			end = at + ft.For // a crashed store stays down as long as written: a restart keeps its own pace
		}
		c.Faults[i].At, c.Faults[i].For = at, end-at
		ends[ft.Where()] = end
		c.Duration = max(c.Duration, end)
	}
	return c
}

// Quick returns a copy of s for CI: its timeline scaled so that the run
// lasts at most QuickDuration, or just long enough that every fault phase
// keeps QuickMinPhase, and settles for at most QuickSettle. A scenario
// already that short comes back unchanged.
func (s *Scenario) Quick() *Scenario {
	if s.Duration <= QuickDuration {
		c := s.Clone()
		c.Settle = min(c.Settle, QuickSettle)
		return c
	}
	f := float64(QuickDuration) / float64(s.Duration)
	if p := s.shortestPhase(); p > 0 && float64(p)*f < float64(QuickMinPhase) {
		f = min(1, float64(QuickMinPhase)/float64(p))
	}
	bound := max(QuickDuration, time.Duration(math.Ceil(float64(s.Duration)*f/float64(scaleStep)))*scaleStep)
	c := s.Scaled(f)
	// Rounding up by one step, or a fault kept at its minimum length, can
	// push the run just past the bound: shrink the factor, not the schedule.
	for c.Duration > bound && f > 0.001 {
		f *= 0.98
		c = s.Scaled(f)
	}
	c = s.keepingPhases(c, f, 1.02, QuickMinPhase)
	c.Settle = min(c.Settle, QuickSettle)
	return c
}

// QuickRound returns s as one round of a quick duet (loadlab ab --quick)
// runs it: its quick run (Quick), shortened to about RoundDuration of load,
// keeping every fault phase at least RoundMinPhase (unless it was shorter
// in the quick run). The timeline keeps its shape: faults come at the same
// fractions of the run.
func (s *Scenario) QuickRound() *Scenario {
	q := s.Quick()
	if q.Duration <= RoundDuration {
		return q
	}
	f := float64(RoundDuration) / float64(q.Duration)
	if p := q.shortestPhase(); p > 0 && float64(p)*f < float64(RoundMinPhase) {
		f = min(1, float64(RoundMinPhase)/float64(p))
	}
	return q.keepingPhases(q.Scaled(f), f, 1.05, RoundMinPhase)
}

// keepingPhases returns scaled, s scaled by f, or s scaled by a factor
// raised in steps of step (up to 1) until no fault phase s had comes out
// shorter than floor (or than it was in s). A crash's downtime is not
// scaled, so the phase after it shrinks faster than the run, down to
// nothing: the run is lengthened, not the phase's floor lowered.
func (s *Scenario) keepingPhases(scaled *Scenario, f, step float64, floor time.Duration) *Scenario {
	for scaled.shortensAPhase(s, floor) && f < 1 {
		f = min(1, f*step)
		scaled = s.Scaled(f)
	}
	return scaled
}

// shortensAPhase reports whether s, a rescaled from, has a fault phase
// shorter than floor that was not already shorter in from (or is empty
// where from's was not).
func (s *Scenario) shortensAPhase(from *Scenario, floor time.Duration) bool {
	got := s.phases()
	for i, p := range from.phases() {
		if p > 0 && got[i] < min(floor, p) {
			return true
		}
	}
	return false
}

// shortestPhase is the shortest before, during or after phase of s's
// faults (but a kill's downtime and a revoke fault's phases); 0 without
// faults. An empty phase (a fault from the start, or to the end) does not
// count.
func (s *Scenario) shortestPhase() time.Duration {
	var shortest time.Duration
	for _, p := range s.phases() {
		if p > 0 && (shortest == 0 || p < shortest) {
			shortest = p
		}
	}
	return shortest
}

// phases lists the before, during and after phase of every fault of s that
// shortestPhase weighs, in the faults' order, empty ones as 0: a kill's
// downtime is 0 (it is not scaled, and no phase statistic needs it long),
// and a revoke fault has none (its probe is judged by its own measure).
func (s *Scenario) phases() []time.Duration {
	var ps []time.Duration
	for _, f := range s.Faults {
		if f.Revoke != "" {
			continue
		}
		during := f.For
		if f.Kill != "" {
			during = 0
		}
		ps = append(ps, f.At, during, max(0, s.Duration-f.At-f.For))
	}
	return ps
}
