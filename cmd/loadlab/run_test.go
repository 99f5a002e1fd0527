package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestListShowsTheCatalogue(t *testing.T) {
	out, _, err := runCLI(t, "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"baseline", "latency", "partition", "cache-outage", "slow-db-queue", "stampede", "overload"} {
		if !strings.Contains(out, name) {
			t.Errorf("list does not show %s:\n%s", name, out)
		}
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("name: good\ndescription: d\nduration: 5s\nload:\n  - {name: r, request: \"GET /items/{key}\", rate: 10/s}\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: bad\ndescription: d\nduration: 5s\nload:\n  - {name: r, request: \"GET /items/{key}\", rate: -3/s}\n"), 0o644)
	out, _, err := runCLI(t, "validate", good)
	if err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("validate good: %v\n%s", err, out)
	}
	_, _, err = runCLI(t, "validate", bad)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:5:") || !strings.Contains(err.Error(), "rate") {
		t.Fatalf("validate bad: want an error naming bad.yaml:5 and the rate field, got %v", err)
	}
	out, _, err = runCLI(t, "validate", "--schema")
	if err != nil || !strings.Contains(out, `"$schema"`) {
		t.Fatalf("validate --schema: %v", err)
	}
}

func TestReportAndCompare(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("../../reports/testdata/results.json")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "results.json"), data, 0o644)
	out, _, err := runCLI(t, "report", dir)
	if err != nil || !strings.Contains(out, "report.html") {
		t.Fatalf("report: %v %s", err, out)
	}
	for _, f := range []string{"report.html", "summary.md", "junit.xml", "bench.txt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("report did not write %s", f)
		}
	}
	out, _, err = runCLI(t, "compare", dir, filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatalf("compare a run with itself: %v\n%s", err, out)
	}
	if !strings.Contains(out, "verdict") {
		t.Errorf("compare output has no verdict:\n%s", out)
	}
	_, _, err = runCLI(t, "compare", dir, filepath.Join(dir, "missing.json"))
	var ce codedError
	if !errors.As(err, &ce) || ce.code != 2 {
		t.Errorf("compare with a missing file: %v, want exit code 2", err)
	}
}

func TestUnknownScenario(t *testing.T) {
	_, _, err := runCLI(t, "run", "no-such-scenario")
	if err == nil || !strings.Contains(err.Error(), "partition") {
		t.Fatalf("want an error listing the catalogue, got %v", err)
	}
}
