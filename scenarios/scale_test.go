package scenarios

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestScaled(t *testing.T) {
	s := mustParse(t, `name: s
description: d
duration: 40s
settle: 5s
load:
  - name: r
    request: GET /items/{key}
    rate: 100/s
    stages:
      - {duration: 10s, target: 300/s}
      - {duration: 25s, target: 1000/s}
faults:
  - {name: a, link: backend->postgres, at: 10s, for: 10s, toxic: {type: down}}
  - {name: b, link: backend->postgres, at: 20s, for: 15s, toxic: {type: latency, latency: 10}}
variants:
  - {name: v, backend: {cache: cache-aside}}
`)
	h := s.Scaled(0.5)
	if h.Duration != 20*time.Second || h.Settle != 2500*time.Millisecond {
		t.Errorf("duration %v settle %v", h.Duration, h.Settle)
	}
	if h.Load[0].Stages[0].Duration != 5*time.Second || h.Load[0].Stages[1].Duration != 12500*time.Millisecond {
		t.Errorf("stages %+v", h.Load[0].Stages)
	}
	if h.Faults[1].At != 10*time.Second || h.Faults[1].For != 7500*time.Millisecond {
		t.Errorf("fault b %+v", h.Faults[1])
	}
	if h.Load[0].Rate != s.Load[0].Rate || h.Timeout != s.Timeout {
		t.Error("rates and timeouts must not scale")
	}
	// Rounding to 100ms: 40s × 0.123 = 4.92s.
	if got := s.Scaled(0.123).Duration; got != 4900*time.Millisecond {
		t.Errorf("Scaled(0.123).Duration = %v", got)
	}
	// A deep copy: changing it leaves the original alone.
	h.Variants[0].Backend["cache"] = "none"
	h.Faults[1].Toxic.Attributes["latency"] = 99
	h.Load[0].Stages[0].Duration = 0
	if s.Variants[0].Backend["cache"] != "cache-aside" || s.Faults[1].Toxic.Attributes["latency"] != 10 || s.Load[0].Stages[0].Duration != 10*time.Second {
		t.Error("Scaled shares state with the original")
	}
	for _, f := range []float64{0, -1} {
		if got := s.Scaled(f); got.Duration != s.Duration {
			t.Errorf("Scaled(%v) changed the duration to %v", f, got.Duration)
		}
	}
}

// TestScaledKeepsScheduleValid scales random valid schedules by random
// factors, including ones that squeeze faults below the rounding step.
func TestScaledKeepsScheduleValid(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	links := Links
	for i := range 2000 {
		s := &Scenario{Name: "r", Duration: time.Duration(1+rng.IntN(600)) * time.Second}
		for _, link := range links {
			var t0 time.Duration
			for j := 0; j < 4; j++ {
				at := t0 + time.Duration(rng.IntN(5000))*time.Millisecond
				d := time.Duration(100+rng.IntN(8000)) * time.Millisecond
				if at+d > s.Duration {
					break
				}
				s.Faults = append(s.Faults, Fault{Name: "f", Link: link, At: at, For: d})
				t0 = at + d
			}
		}
		st := Stream{Name: "r"}
		var total time.Duration
		for total < s.Duration/2 {
			d := time.Duration(100+rng.IntN(5000)) * time.Millisecond
			st.Stages = append(st.Stages, Stage{Duration: d})
			total += d
		}
		if total <= s.Duration {
			s.Load = append(s.Load, st)
		}
		if err := checkSchedule(s); err != nil {
			t.Fatalf("generated an invalid schedule: %v", err)
		}
		f := []float64{0.001, 0.01, 0.1, 0.37, 0.5, 1, 1.7, 3}[i%8]
		if err := checkSchedule(s.Scaled(f)); err != nil {
			t.Fatalf("Scaled(%v) of %+v: %v", f, s, err)
		}
		q := s.Quick()
		if err := checkSchedule(q); err != nil {
			t.Fatalf("Quick of %+v: %v", s, err)
		}
	}
}

func TestQuick(t *testing.T) {
	short := mustParse(t, minimal+"settle: 1s\n")
	short.Duration = 10 * time.Second
	if q := short.Quick(); q.Duration != 10*time.Second || q.Settle != time.Second {
		t.Errorf("a short scenario changed: %v %v", q.Duration, q.Settle)
	}
	long := mustParse(t, minimal+"settle: 40s\n")
	long.Duration = 2 * time.Minute
	if q := long.Quick(); q.Duration != QuickDuration || q.Settle != QuickSettle {
		t.Errorf("Quick: %v %v", q.Duration, q.Settle)
	}
}

func TestOnly(t *testing.T) {
	s, err := Lookup("partition")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := s.Only("cp")
	if err != nil || len(cp.Variants) != 1 || cp.Variants[0].Name != "cp" {
		t.Fatalf("Only(cp): %v, %+v", err, cp)
	}
	if len(s.Variants) != 2 {
		t.Errorf("Only changed the scenario it was called on: %d variants", len(s.Variants))
	}
	if all, err := s.Only(); err != nil || len(all.Variants) != 2 {
		t.Errorf("Only(): %v, %d variants, want all 2", err, len(all.Variants))
	}
	if _, err := s.Only("cp", "pc"); err == nil || !strings.Contains(err.Error(), `no variant "pc"`) || !strings.Contains(err.Error(), "cp, ap") {
		t.Errorf("Only(cp, pc): %v, want an error naming the typo and the variants there are", err)
	}
}

// TestQuickKeepsACrashsDowntime: quick mode moves a kill fault with the
// timeline but leaves its downtime as written, and the downtime does not
// hold the whole run at full length.
func TestQuickKeepsACrashsDowntime(t *testing.T) {
	s := mustParse(t, minimal+"faults:\n  - {name: crash, kill: postgres, at: 12s, for: 2s}\n")
	q := s.Quick()
	if k := q.Faults[0]; q.Duration != QuickDuration || k.At != 4800*time.Millisecond || k.For != 2*time.Second {
		t.Errorf("quick: duration %s, crash at %s for %s; want %s, at 4.8s for 2s", q.Duration, k.At, k.For, QuickDuration)
	}
}

// TestQuickRoundKeepsTheAfterOfASecondCrash: two crashes' downtimes, kept
// as written, outgrow a quick round; the round lengthens until the phase
// after the second crash is back (it came out empty, which no phase floor
// saw).
func TestQuickRoundKeepsTheAfterOfASecondCrash(t *testing.T) {
	s := mustParse(t, strings.Replace(minimal, "duration: 30s", "duration: 38s", 1)+
		"faults:\n  - {name: crash, kill: postgres, at: 10s, for: 2s}\n  - {name: again, kill: postgres, at: 24s, for: 2s}\n")
	r := s.QuickRound()
	again := r.Faults[1]
	if after := r.Duration - again.At - again.For; after < RoundMinPhase {
		t.Errorf("quick round: %s long, second crash at %s for %s: %s after it, want at least %s", r.Duration, again.At, again.For, after, RoundMinPhase)
	}
	if r.Duration >= s.Quick().Duration {
		t.Errorf("quick round: %s long, no shorter than the quick run", r.Duration)
	}
}
