package load

import (
	"math"
	"math/rand"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Pacer is an open-model vegeta.Pacer for one stream: a constant rate, or a
// start rate followed by stages that ramp linearly to their targets, after
// which the last rate holds until the duration. A whole schedule runs in one
// attack, so a ramp keeps its connection pool.
//
// The schedule is a piecewise linear rate r(t). Hit n (counted from 0) is
// intended at the time the integral of r reaches its position: n+½ for
// evenly spaced arrivals, so a constant rate R over D seconds schedules
// exactly R·D hits, none at the edges; the sum of n+1 exponential draws of
// mean 1 for Poisson arrivals (the time change that turns a unit Poisson
// process into one of rate r(t)). HitTime is that inverse; the engine uses
// it to measure latency from the intended send time rather than from when
// a worker got round to it.
type Pacer struct {
	segments []segment
	duration time.Duration
	arrivals positions

	// stop, when set, interrupts long waits inside Pace: vegeta sleeps
	// uninterruptibly for whatever Pace returns, so a slow rate would
	// otherwise delay a cancelled run by up to one interval.
	stop  <-chan struct{}
	began atomic.Pointer[time.Time]
}

// segment is one linear piece of the schedule, in seconds.
type segment struct {
	start float64 // time the segment begins
	hits  float64 // integral of the rate up to start
	rate  float64 // rate at start, hits per second
	slope float64 // rate change per second
}

// longWait is the wait above which Pace waits itself, interruptibly,
// instead of handing the sleep to vegeta.
const longWait = 50 * time.Millisecond

// overrunGrace is how long after the duration a stream that fell behind may
// still send hits intended before it. Later ones are dropped, and show as
// intended but not sent, so that a saturated generator cannot run on into
// the next phase of the lab.
const overrunGrace = 250 * time.Millisecond

var _ vegeta.Pacer = (*Pacer)(nil)

// PacerOption configures a Pacer.
type PacerOption func(*Pacer)

// WithPoisson makes arrivals a Poisson process seeded by seed.
func WithPoisson(seed int64) PacerOption {
	return func(p *Pacer) { p.arrivals = &poissonPositions{rng: rand.New(rand.NewSource(seed))} }
}

// NewPacer returns the pacer of a stream starting at rate (hits per second)
// and ramping through stages, scheduling hits only before duration. Hits
// are evenly spaced unless an option says otherwise.
func NewPacer(rate float64, stages []Stage, duration time.Duration, opts ...PacerOption) *Pacer {
	p := &Pacer{duration: duration, arrivals: evenPositions{}}
	for _, o := range opts {
		o(p)
	}
	cur := segment{rate: rate}
	for _, st := range stages {
		d := st.Duration.Seconds()
		target := st.Target
		if d <= 0 { // a step: jump to the target without a ramp
			cur.rate = target
			continue
		}
		cur.slope = (target - cur.rate) / d
		p.segments = append(p.segments, cur)
		cur = segment{
			start: cur.start + d,
			hits:  cur.hits + (cur.rate+target)/2*d,
			rate:  target,
		}
	}
	p.segments = append(p.segments, cur) // the hold, slope 0, forever
	return p
}

// Duration is the length of the schedule.
func (p *Pacer) Duration() time.Duration { return p.duration }

// Rate returns the intended rate, in hits per second, at elapsed.
func (p *Pacer) Rate(elapsed time.Duration) float64 {
	s := p.segmentAt(elapsed.Seconds())
	return s.rate + s.slope*(elapsed.Seconds()-s.start)
}

// Hits returns the integral of the rate from 0 to elapsed: how many hits
// the schedule wants sent by then, as a real number.
func (p *Pacer) Hits(elapsed time.Duration) float64 {
	t := elapsed.Seconds()
	if t <= 0 {
		return 0
	}
	s := p.segmentAt(t)
	x := t - s.start
	return s.hits + s.rate*x + s.slope*x*x/2
}

// Scheduled returns how many hits the schedule places before elapsed.
func (p *Pacer) Scheduled(elapsed time.Duration) int64 {
	if elapsed > p.duration {
		elapsed = p.duration
	}
	n := math.Ceil(p.Hits(elapsed) - 0.5) // exact for even arrivals, a first guess otherwise
	if n < 0 {
		n = 0
	}
	// Guard the rounding at the edge: hit n belongs only if it is before elapsed.
	for n > 0 && p.HitTime(uint64(n-1)) >= elapsed {
		n--
	}
	for p.HitTime(uint64(n)) < elapsed {
		n++
	}
	return int64(n)
}

// HitTime returns when hit n (counted from 0) is intended, as an offset
// from the attack's start. A hit the schedule never reaches (the rate has
// fallen to zero) gets math.MaxInt64.
func (p *Pacer) HitTime(n uint64) time.Duration {
	h := p.arrivals.at(n)
	// The last segment whose integral at its start is at most h holds hit n.
	i := sort.Search(len(p.segments), func(i int) bool { return p.segments[i].hits > h }) - 1
	if i < 0 {
		i = 0
	}
	s := p.segments[i]
	dh := h - s.hits
	// Solve rate·x + slope·x²/2 = dh for x ≥ 0 in the form that stays
	// accurate when slope is tiny or zero.
	disc := s.rate*s.rate + 2*s.slope*dh
	if disc < 0 {
		disc = 0
	}
	den := s.rate + math.Sqrt(disc)
	if den <= 0 {
		return time.Duration(math.MaxInt64)
	}
	t := s.start + 2*dh/den
	if t*1e9 >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(t * 1e9)
}

// Pace implements vegeta.Pacer: the wait until hit number hits is due, or
// stop once the schedule has no more hits before the duration (or the
// generator is so far behind that the grace after the duration is over).
// The engine runs the attack without a vegeta duration and lets Pace end it,
// so a hit intended just before the end is not dropped for being a
// millisecond late.
func (p *Pacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.began.Load() == nil {
		// vegeta measures elapsed from its own start time, which it does
		// not expose. A pacer the engine started knows it (startAt); on
		// its own, the first call recovers it, late by however long the
		// attack's goroutine was descheduled between reading its clock and
		// this call: milliseconds on a busy machine, which would shorten
		// every latency measured from it.
		began := time.Now().Add(-elapsed)
		p.began.CompareAndSwap(nil, &began)
	}
	select {
	case <-p.stop: // vegeta picks at random between a free worker and its own stop
		return 0, true
	default:
	}
	next := p.HitTime(hits)
	if next >= p.duration || elapsed > p.duration+overrunGrace {
		return 0, true
	}
	wait := next - elapsed
	if wait <= 0 {
		return 0, false
	}
	if p.stop == nil || wait < longWait {
		return wait, false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return 0, false
	case <-p.stop:
		return 0, true
	}
}

// startAt sets when the attack using the pacer starts: the engine reads
// its clock just before vegeta's Attack reads its own, so t is at most a
// function call early, never late (a late start would make latencies
// measured from it too short, even negative).
func (p *Pacer) startAt(t time.Time) { p.began.Store(&t) }

// Began returns when the attack using the pacer started, and false before
// it started.
func (p *Pacer) Began() (time.Time, bool) {
	b := p.began.Load()
	if b == nil {
		return time.Time{}, false
	}
	return *b, true
}

func (p *Pacer) segmentAt(t float64) segment {
	i := sort.Search(len(p.segments), func(i int) bool { return p.segments[i].start > t }) - 1
	if i < 0 {
		i = 0
	}
	return p.segments[i]
}

// positions gives each hit's position in the integral of the rate.
type positions interface{ at(n uint64) float64 }

// evenPositions spaces hits evenly: n+½.
type evenPositions struct{}

func (evenPositions) at(n uint64) float64 { return float64(n) + 0.5 }

// poissonPositions are the partial sums of exponential draws of mean 1,
// drawn in order and kept, so that the pacer and the collector, which ask
// for hits in different orders, see one schedule. They cost 8 bytes per
// hit sent, a fifth of the op history's record.
type poissonPositions struct {
	mu  sync.Mutex
	rng *rand.Rand
	pos []float64
}

func (p *poissonPositions) at(n uint64) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	for uint64(len(p.pos)) <= n {
		last := 0.0
		if len(p.pos) > 0 {
			last = p.pos[len(p.pos)-1]
		}
		p.pos = append(p.pos, last+p.rng.ExpFloat64())
	}
	return p.pos[n]
}
