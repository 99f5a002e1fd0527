package load

import (
	"math"
	"testing"
	"time"
)

func perSecond(n int) float64 { return float64(n) }

func TestPacerConstant(t *testing.T) {
	p := NewPacer(perSecond(200), nil, 3*time.Second)
	if got := p.Scheduled(3 * time.Second); got != 600 {
		t.Fatalf("Scheduled(3s) = %d, want 600", got)
	}
	if got := p.HitTime(0); got != 2500*time.Microsecond {
		t.Errorf("HitTime(0) = %v, want 2.5ms", got)
	}
	if got := p.HitTime(599); got >= 3*time.Second {
		t.Errorf("HitTime(599) = %v, want < 3s", got)
	}
	if got := p.HitTime(600); got < 3*time.Second {
		t.Errorf("HitTime(600) = %v, want >= 3s", got)
	}
	if got := p.Rate(time.Second); got != 200 {
		t.Errorf("Rate = %v, want 200", got)
	}
	if wait, stop := p.Pace(0, 0); wait != 2500*time.Microsecond || stop {
		t.Errorf("Pace(0, 0) = %v, %v; want 2.5ms, false", wait, stop)
	}
	if wait, stop := p.Pace(time.Second, 10); wait != 0 || stop {
		t.Errorf("Pace behind schedule = %v, %v; want 0, false", wait, stop)
	}
	if _, stop := p.Pace(3*time.Second, 600); !stop {
		t.Error("Pace after the last hit did not stop")
	}
	if _, ok := p.Began(); !ok {
		t.Error("Began not recorded by Pace")
	}
}

// TestPacerRamp checks that a ramp's schedule is the integral of its rate:
// 50/s → 250/s over 2 s then a hold at 250/s to 3 s is 300 + 250 hits.
func TestPacerRamp(t *testing.T) {
	p := NewPacer(perSecond(50), []Stage{{Duration: 2 * time.Second, Target: perSecond(250)}}, 3*time.Second)
	for _, c := range []struct {
		at         time.Duration
		hits, rate float64
	}{
		{0, 0, 50},
		{time.Second, 100, 150},
		{2 * time.Second, 300, 250},
		{3 * time.Second, 550, 250},
	} {
		if got := p.Hits(c.at); math.Abs(got-c.hits) > 1e-9 {
			t.Errorf("Hits(%v) = %v, want %v", c.at, got, c.hits)
		}
		if got := p.Rate(c.at); math.Abs(got-c.rate) > 1e-9 {
			t.Errorf("Rate(%v) = %v, want %v", c.at, got, c.rate)
		}
	}
	if got := p.Scheduled(3 * time.Second); got != 550 {
		t.Errorf("Scheduled(3s) = %d, want 550", got)
	}
	// HitTime is the inverse of Hits, and increasing.
	prev := time.Duration(-1)
	for n := uint64(0); n < 550; n++ {
		at := p.HitTime(n)
		if at <= prev {
			t.Fatalf("HitTime(%d) = %v not after HitTime(%d) = %v", n, at, n-1, prev)
		}
		prev = at
		if got := p.Hits(at); math.Abs(got-(float64(n)+0.5)) > 1e-6 {
			t.Fatalf("Hits(HitTime(%d)) = %v, want %v", n, got, float64(n)+0.5)
		}
	}
}

func TestPacerRampToZeroAndSteps(t *testing.T) {
	p := NewPacer(perSecond(0), []Stage{
		{Duration: time.Second, Target: perSecond(100)},
		{Duration: time.Second, Target: perSecond(0)},
	}, 5*time.Second)
	if got := p.Scheduled(5 * time.Second); got != 100 {
		t.Errorf("up and down: Scheduled = %d, want 100", got)
	}
	if got := p.HitTime(100); got != time.Duration(math.MaxInt64) {
		t.Errorf("HitTime past the schedule = %v, want never", got)
	}
	if _, stop := p.Pace(2*time.Second, 100); !stop {
		t.Error("Pace did not stop once the rate stayed at zero")
	}

	// A stage of zero duration is a step.
	p = NewPacer(perSecond(10), []Stage{{Target: perSecond(100)}}, 2*time.Second)
	if got := p.Scheduled(2 * time.Second); got != 200 {
		t.Errorf("step: Scheduled = %d, want 200", got)
	}
}

// TestPacerStopInterruptsLongWait: vegeta sleeps for whatever Pace returns,
// so a slow stream must wait inside Pace where a stop can reach it.
func TestPacerStopInterruptsLongWait(t *testing.T) {
	p := NewPacer(1.0/60, nil, time.Hour)
	stop := make(chan struct{})
	p.stop = stop
	done := make(chan bool)
	go func() {
		_, stopped := p.Pace(0, 0)
		done <- stopped
	}()
	close(stop)
	select {
	case stopped := <-done:
		if !stopped {
			t.Error("Pace returned without stop after the stop channel closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Pace ignored the stop channel")
	}
}

// TestPacerStartSurvivesAStall: vegeta reads its start time, then calls
// Pace with the time elapsed since; a machine that deschedules it in
// between makes a start recovered from that call late by the stall, and
// every latency measured from it short by as much (seen: whole runs whose
// p50 came out at 1 µs on a busy machine). A pacer the engine started
// keeps the start it was given.
func TestPacerStartSurvivesAStall(t *testing.T) {
	const stall = 30 * time.Millisecond
	recovered := NewPacer(100, nil, time.Second)
	vegetaStart := time.Now()
	time.Sleep(stall) // the stall between vegeta's clock read and its Pace call (not a readiness wait)
	recovered.Pace(0, 0)
	if b, _ := recovered.Began(); b.Sub(vegetaStart) < stall {
		t.Fatalf("recovered start only %v late: the stall was not simulated", b.Sub(vegetaStart))
	}

	started := NewPacer(100, nil, time.Second)
	engineStart := time.Now()
	started.startAt(engineStart)
	time.Sleep(stall)
	started.Pace(0, 0)
	if b, _ := started.Began(); !b.Equal(engineStart) {
		t.Errorf("start moved by %v after a stall; want it kept", b.Sub(engineStart))
	}
}
