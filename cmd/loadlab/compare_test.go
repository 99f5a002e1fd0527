package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompareHTML: --html writes the page and leaves stdout as it was.
func TestCompareHTML(t *testing.T) {
	data, err := os.ReadFile("../../reports/testdata/results.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, side := range []string{"base", "head"} {
		for _, run := range []string{"r1", "r2", "r3"} {
			d := filepath.Join(dir, side, run)
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, "results.json"), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	base, head := filepath.Join(dir, "base"), filepath.Join(dir, "head")
	plain, _, err := runCLI(t, "compare", base, head)
	if err != nil {
		t.Fatalf("compare: %v\n%s", err, plain)
	}
	page := filepath.Join(dir, "compare.html")
	out, _, err := runCLI(t, "compare", "--html", page, base, head)
	if err != nil {
		t.Fatalf("compare --html: %v\n%s", err, out)
	}
	if out != plain {
		t.Errorf("--html changed stdout:\n%s\nwithout it:\n%s", out, plain)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<title>loadlab compare: partition — no significant change</title>", `id="chart-forest-p50"`, "<svg"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("compare.html lacks %q", want)
		}
	}
	if _, _, err := runCLI(t, "compare", "--html", base, base, head); exitStatus(err) != exitUsage {
		t.Errorf("compare --html onto a directory: %v, want exit %d", err, exitUsage)
	}
}
