package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds the parser arbitrary bytes: it must never panic, and it
// must return either a scenario or an *Errors whose every entry has a
// position.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/bad/*.yaml")
	more, _ := filepath.Glob("catalogue/*.yaml")
	for _, file := range append(seeds, more...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if (s == nil) == (err == nil) {
			t.Fatalf("Parse returned scenario %v and error %v", s != nil, err)
		}
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.List) == 0 {
				t.Fatalf("error %T %v is not a non-empty *Errors", err, err)
			}
			for _, e := range errs.List {
				if e.Line < 1 || e.File != "fuzz.yaml" || e.Msg == "" {
					t.Fatalf("error without a position: %+v", e)
				}
			}
			return
		}
		if s.Name == "" || s.Duration <= 0 || len(s.Load) == 0 || len(s.Variants) == 0 {
			t.Fatalf("accepted an incomplete scenario: %+v", s)
		}
		if err := checkSchedule(s); err != nil {
			t.Fatalf("accepted an invalid schedule: %v", err)
		}
		if err := checkSchedule(s.Quick()); err != nil {
			t.Fatalf("Quick broke the schedule: %v", err)
		}
	})
}
