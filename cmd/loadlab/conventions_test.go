package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// exitStatus is the status main would exit with for err (0 for nil).
func exitStatus(err error) int {
	var ec exitCode
	var ce codedError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ec):
		return int(ec)
	case errors.As(err, &ce):
		return ce.code
	}
	return exitFailed
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"compare", "only-one"},
		{"compare", "--no-such-flag", "a", "b"},
		{"compare", "--p99", "10", "a", "b"},
		{"compare", "--labels", "a,b,c", "../../reports/testdata/results.json", "../../reports/testdata/results.json"},
		{"no-such-command"},
		{"run"},
		{"run", "--quick", "--long", "partition"},
		{"list", "extra"},
		{"validate"},
		{"up", "--set", "cach=cache-aside"},
		{"up", "--set", "cache=cache-asid"},
		{"up", "--set", "novalue"},
	} {
		_, _, err := runCLI(t, args...)
		if got := exitStatus(err); got != exitUsage {
			t.Errorf("loadlab %s: exit %d (%v), want %d", strings.Join(args, " "), got, err, exitUsage)
		}
	}
}

func TestNoDoubledPrefix(t *testing.T) {
	_, _, err := runCLI(t, "compare", "no-such-dir", "no-such-dir-2")
	if err == nil {
		t.Fatal("compare of missing runs succeeded")
	}
	for _, w := range strings.Fields(strings.ReplaceAll(err.Error(), ":", " : ")) {
		if strings.Count(err.Error(), w+": "+w+":") > 0 {
			t.Errorf("doubled prefix %q in %q", w, err)
		}
	}
}

func TestSetSuggests(t *testing.T) {
	_, _, err := runCLI(t, "up", "--set", "cach=cache-aside")
	if err == nil || !strings.Contains(err.Error(), `did you mean "cache"`) {
		t.Errorf("up --set cach=…: %v, want a did-you-mean for cache", err)
	}
	if _, err := backendSettings([]string{"anything=1"}, false); err != nil {
		t.Errorf("a custom target's setting was refused: %v", err)
	}
	got, err := backendSettings([]string{"cache = cache-aside", "db_timeout=300ms"}, true)
	if err != nil || got["BACKEND_CACHE"] != "cache-aside" || got["BACKEND_DB_TIMEOUT"] != "300ms" {
		t.Errorf("backendSettings: %v %v", got, err)
	}
}

func TestFraction(t *testing.T) {
	for in, want := range map[string]float64{"10%": 0.1, "0.1": 0.1, "150%": 1.5, " 5 % ": 0.05, "0": 0, "0%": 0} {
		got, err := parseFraction(in)
		if err != nil || got < want-1e-12 || got > want+1e-12 {
			t.Errorf("parseFraction(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"10", "1", "-5%", "ten", "%", "NaN", "1e400"} {
		if _, err := parseFraction(in); err == nil {
			t.Errorf("parseFraction(%q) accepted an ambiguous or bad value", in)
		}
	}
}

// TestEveryCommandHasAnExample walks the command tree.
func TestEveryCommandHasAnExample(t *testing.T) {
	var out strings.Builder
	for _, name := range []string{"images", "up", "clean", "run", "list", "validate", "report", "compare"} {
		out.Reset()
		if err := run(t.Context(), []string{name, "--help"}, &out, &out); err != nil {
			t.Fatalf("%s --help: %v", name, err)
		}
		if !strings.Contains(out.String(), "Examples:") {
			t.Errorf("%s --help has no example:\n%s", name, out.String())
		}
	}
	var _ cobra.PositionalArgs = usageArgs(cobra.NoArgs)
}
