package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkSchedule returns what is wrong with s's timeline; a scaled copy must
// stay as valid as the file it came from.
func checkSchedule(s *Scenario) error {
	if s.Duration <= 0 || s.Settle < 0 {
		return fmt.Errorf("duration %v, settle %v", s.Duration, s.Settle)
	}
	for _, st := range s.Load {
		var total time.Duration
		for _, stage := range st.Stages {
			if stage.Duration <= 0 {
				return fmt.Errorf("stream %s: stage of %v", st.Name, stage.Duration)
			}
			total += stage.Duration
		}
		if total > s.Duration {
			return fmt.Errorf("stream %s: stages last %v, run %v", st.Name, total, s.Duration)
		}
	}
	for i, a := range s.Faults {
		if a.At < 0 || a.For <= 0 || a.At+a.For > s.Duration {
			return fmt.Errorf("fault %s at %v for %v in a run of %v", a.Name, a.At, a.For, s.Duration)
		}
		for _, b := range s.Faults[:i] {
			if a.Where() == b.Where() && a.At < b.At+b.For && b.At < a.At+a.For {
				return fmt.Errorf("faults %s and %s overlap", a.Name, b.Name)
			}
		}
	}
	return nil
}

func TestCatalogue(t *testing.T) {
	want := []string{"auth", "baseline", "cache-outage", "durability", "http-caching", "latency", "lost-update", "overload", "partition", "retry-storm", "slow-db-queue", "stampede"}
	all := Catalogue()
	if got := CatalogueNames(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("catalogue = %v, want %v", got, want)
	}
	for _, s := range all {
		t.Run(s.Name, func(t *testing.T) {
			if s.File != "catalogue/"+s.Name+".yaml" {
				t.Errorf("file %q does not match the name %q", s.File, s.Name)
			}
			if len(s.Description) < 40 || len(s.Teaches) < 200 {
				t.Errorf("description (%d bytes) or teaches (%d bytes) too thin", len(s.Description), len(s.Teaches))
			}
			if s.Duration < 30*time.Second || s.Duration > 40*time.Second {
				t.Errorf("duration %v, want 30-40s by default", s.Duration)
			}
			// Modest rates: the lab shares 2 cores with Postgres, Redis,
			// toxiproxy and the backend. Only overload ramps higher.
			var total float64
			for _, st := range s.Load {
				peak := st.Rate.PerSecond()
				for _, stage := range st.Stages {
					peak = max(peak, stage.Target.PerSecond())
				}
				total += peak
			}
			if limit := map[bool]float64{false: 300, true: 1600}[s.Name == "overload"]; total > limit {
				t.Errorf("peak offered rate %v/s, above %v/s", total, limit)
			}
			// Every fault leaves time before and after it, so that each
			// phase of a check has data.
			for _, f := range s.Faults {
				if f.At < 5*time.Second || s.Duration-(f.At+f.For) < 5*time.Second {
					t.Errorf("fault %s at %v for %v leaves no room before or after it", f.Name, f.At, f.For)
				}
			}
			if err := checkSchedule(s); err != nil {
				t.Error(err)
			}
			// The lesson is a contrast: some check must compare the variants.
			compares := false
			for _, c := range s.Checks {
				compares = compares || c.Versus != nil && c.Versus.Variant != ""
			}
			if len(s.Variants) > 1 && !compares {
				t.Error("no check compares the variants: the lesson's contrast is not asserted")
			}
			q := s.Quick()
			if q.Duration > QuickDuration && q.shortestPhase() > QuickMinPhase+time.Second || q.Duration > 2*QuickDuration || q.Settle > QuickSettle {
				t.Errorf("Quick: duration %v, settle %v: longer than %v without a phase that needs it", q.Duration, q.Settle, QuickDuration)
			}
			if p := q.shortestPhase(); p < QuickMinPhase && p < s.shortestPhase() {
				t.Errorf("Quick: a fault phase of %v, want at least %v: too short to judge", p, QuickMinPhase)
			}
			if err := checkSchedule(q); err != nil {
				t.Errorf("Quick: %v", err)
			}
			for _, f := range q.Faults {
				if f.At <= 0 || f.At+f.For >= q.Duration {
					t.Errorf("Quick: fault %s at %v for %v lost its before or after phase", f.Name, f.At, f.For)
				}
			}
			r := s.QuickRound()
			if r.Duration > RoundDuration && r.shortestPhase() > RoundMinPhase+time.Second || r.Duration > q.Duration {
				t.Errorf("QuickRound: duration %v: longer than %v without a phase that needs it", r.Duration, RoundDuration)
			}
			if p := r.shortestPhase(); p < RoundMinPhase && p < q.shortestPhase() {
				t.Errorf("QuickRound: a fault phase of %v, want at least %v", p, RoundMinPhase)
			}
			if err := checkSchedule(r); err != nil {
				t.Errorf("QuickRound: %v", err)
			}
			for _, f := range r.Faults {
				if f.At <= 0 || f.At+f.For >= r.Duration {
					t.Errorf("QuickRound: fault %s at %v for %v lost its before or after phase", f.Name, f.At, f.For)
				}
			}
		})
	}
}

func TestCatalogueFilesMatchNames(t *testing.T) {
	files, err := filepath.Glob("catalogue/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		s, err := Load(file)
		if err != nil {
			t.Fatal(err)
		}
		if base := strings.TrimSuffix(filepath.Base(file), ".yaml"); base != s.Name {
			t.Errorf("%s holds scenario %q", file, s.Name)
		}
	}
}

func TestCatalogueReturnsCopies(t *testing.T) {
	a := Catalogue()[0]
	a.Name = "changed"
	a.Variants[0].Backend["x"] = "y"
	b := Catalogue()[0]
	if b.Name == "changed" || b.Variants[0].Backend["x"] == "y" {
		t.Error("a change to a returned scenario leaked into the catalogue")
	}
}

func TestLookup(t *testing.T) {
	s, err := Lookup("partition")
	if err != nil || s.Name != "partition" {
		t.Fatalf("Lookup(partition) = %v, %v", s, err)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "mine.yaml")
	if err := os.WriteFile(path, []byte(minimal), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = Lookup(path)
	if err != nil || s.Name != "t" || s.File != path {
		t.Fatalf("Lookup(path) = %+v, %v", s, err)
	}

	_, err = Lookup("partiton")
	if err == nil || !strings.Contains(err.Error(), `did you mean "partition"?`) || !strings.Contains(err.Error(), "available: auth, baseline, cache-outage") {
		t.Errorf("Lookup(partiton) error = %v", err)
	}
	_, err = Lookup(filepath.Join(dir, "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("Lookup(missing path) error = %v", err)
	}
}
