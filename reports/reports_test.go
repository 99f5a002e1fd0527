package reports

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/reports/results/resultstest"
)

var update = flag.Bool("update", false, "rewrite testdata/results.json from fixture() and the golden files from it")

// loadFixture returns the results of testdata/results.json, rewriting the
// file from fixture() first under -update.
func loadFixture(t testing.TB) *results.Results {
	t.Helper()
	if *update {
		if err := results.Write("testdata", fixture()); err != nil {
			t.Fatal(err)
		}
	}
	r, err := results.Read("testdata/results.json")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// golden compares got with testdata/<name>.golden, or rewrites it under
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", name, path, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\nwant: " + wl + "\ngot:  " + gl
		}
	}
	return "(no line differs)"
}

func TestFixtureIsCurrent(t *testing.T) {
	r := loadFixture(t)
	a, _ := json.Marshal(r)
	b, _ := json.Marshal(fixture())
	if !bytes.Equal(a, b) {
		t.Error("testdata/results.json is stale: run go test -update")
	}
}

func TestMarkdownGolden(t *testing.T) {
	golden(t, "summary.md", Markdown(loadFixture(t)))
}

func TestJUnitGolden(t *testing.T) {
	got, err := JUnit(loadFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.xml", got)
}

func TestBenchGolden(t *testing.T) {
	golden(t, "bench.txt", Bench(loadFixture(t)))
}

func TestMarkdownListsFailedChecksFirst(t *testing.T) {
	md := string(Markdown(loadFixture(t)))
	if !strings.HasPrefix(md, "## ❌ loadlab `partition`: 1 of 6 checks failed") {
		t.Errorf("headline: %q", strings.SplitN(md, "\n", 2)[0])
	}
	failed, variant := strings.Index(md, "### Failed checks"), strings.Index(md, "### Variant `cp`")
	if failed < 0 || variant < 0 || failed > variant {
		t.Errorf("failed checks at %d, first variant at %d", failed, variant)
	}
	if !strings.Contains(md, "**1 lost writes**") || !strings.Contains(md, "converged in 3.50 s") {
		t.Error("history figures of ap missing")
	}
}

func TestMarkdownBannersAbortedRun(t *testing.T) {
	r := fixture()
	r.Status, r.Reason = results.StatusAborted, "interrupted by SIGINT at 14 s"
	md := string(Markdown(r))
	if !strings.HasPrefix(md, "## ⚠️ loadlab `partition`: aborted") || !strings.Contains(md, "> **Run aborted**: interrupted by SIGINT at 14 s") {
		t.Errorf("aborted run not bannered:\n%s", md[:min(len(md), 400)])
	}
}

// TestJUnitStructure checks the mapping documented on JUnit, independently
// of the golden file.
func TestJUnitStructure(t *testing.T) {
	r := fixture()
	r.Variants[0].Status, r.Variants[0].Reason = results.StatusFailed, "backend exited"
	data, err := JUnit(r)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
				Error *struct{} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 2 || doc.Suites[0].Name != "partition/cp" || doc.Suites[1].Name != "partition/ap" {
		t.Fatalf("suites: %+v", doc.Suites)
	}
	names := func(i int) (out []string) {
		for _, c := range doc.Suites[i].Cases {
			out = append(out, c.Name)
		}
		return out
	}
	// cp has no lost_writes check: it gets the implicit history case; ap has
	// one. Neither checks impossible_reads: both get that implicit case.
	wantCP := []string{"run", "stale_reads == 0 [phase during db-partition]", "p99 < 50ms [phase after db-partition, stream reads]", "history: lost_writes == 0", "history: impossible_reads == 0"}
	wantAP := []string{"success_ratio >= 0.99 [phase during db-partition, stream reads]", "lost_writes == 0 [phase whole]", "p99 < 50ms [phase after db-partition, stream reads]",
		"ap success_ratio >= 0.5 × cp success_ratio + 0.1 [phase during db-partition, stream reads]", "history: impossible_reads == 0"}
	if strings.Join(names(0), "|") != strings.Join(wantCP, "|") || strings.Join(names(1), "|") != strings.Join(wantAP, "|") {
		t.Fatalf("cases:\ncp %q\nap %q", names(0), names(1))
	}
	if doc.Tests != 10 || doc.Failures != 1 || doc.Errors != 1 {
		t.Errorf("totals: tests %d failures %d errors %d", doc.Tests, doc.Failures, doc.Errors)
	}
	f := doc.Suites[1].Cases[1].Failure
	if f == nil || f.Message != "observed 1, expected lost_writes == 0: 1 acknowledged write lost" {
		t.Errorf("lost_writes failure: %+v", f)
	}
}

// benchLine is the Go benchmark result line syntax benchstat reads: a name
// starting with Benchmark and an upper-case letter or digit, no spaces,
// iterations, then value-unit pairs.
var benchLine = regexp.MustCompile(`^Benchmark[A-Z0-9][^\s]*\s+1(\s+-?[0-9]+(\.[0-9]+)?\s+[^\s]+)+$`)

func TestBenchFormat(t *testing.T) {
	r := fixture()
	// A phase name ending in -<digits> must not read as GOMAXPROCS.
	r.Variants[0].Phases = slices.Clone(r.Variants[0].Phases)
	r.Variants[0].Phases[2].Name = "during f-2"
	for i := range r.Variants[0].Streams {
		r.Variants[0].Streams[i].Phases[2].Phase = "during f-2"
	}
	data := Bench(r)
	sc := bufio.NewScanner(bytes.NewReader(data))
	var config, results, perSecond int
	names := map[string]int{}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Benchmark"):
			if !benchLine.MatchString(line) {
				t.Errorf("not a benchmark line: %q", line)
			}
			name := strings.Fields(line)[0]
			if regexp.MustCompile(`-[0-9]+$`).MatchString(name) {
				t.Errorf("name ends like a GOMAXPROCS suffix: %q", name)
			}
			names[name]++
			results++
			if strings.HasSuffix(name, "/window=1s") {
				perSecond++
			}
		case regexp.MustCompile(`^[a-z][^\s:A-Z]*: `).MatchString(line):
			config++
		case line == "":
		default:
			t.Errorf("unexpected line %q", line)
		}
	}
	// 2 variants × 2 streams × 4 phases, plus a line per second of each
	// phase: 30 s for whole and 10 s each for before, during and after.
	if want := 2 * 2 * 4; results-perSecond != want {
		t.Errorf("%d phase lines, want %d", results-perSecond, want)
	}
	if want := 2 * 2 * 60; perSecond != want {
		t.Errorf("%d per-second lines, want %d", perSecond, want)
	}
	if names["BenchmarkPartition/variant=cp/stream=reads/phase=during_f_2/window=1s"] != 10 {
		t.Errorf("per-second lines of the renamed phase: %v", names)
	}
	if config < 4 {
		t.Errorf("%d configuration lines", config)
	}
}

func TestBenchNames(t *testing.T) {
	for in, want := range map[string]string{"partition": "Partition", "cache-stampede": "CacheStampede", "": "Scenario", "2pc": "2pc"} {
		if got := camel(in); got != want {
			t.Errorf("camel(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"during db-partition": "during_db-partition", "a/b=c": "a_b_c", "x-12": "x_12", "12": "12", "-3": "_3"} {
		if got := benchValue(in); got != want {
			t.Errorf("benchValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRenderWritesEverything(t *testing.T) {
	dir := t.TempDir()
	r := loadFixture(t)
	if err := Render(context.Background(), r, dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if want := "bench.txt junit.xml plots report.html summary.md"; strings.Join(got, " ") != want {
		t.Errorf("files %q, want %q (no temp files left)", got, want)
	}
	plots, _ := os.ReadDir(filepath.Join(dir, PlotsDir))
	if len(plots) != 2*((3+1+2+2)*2+2+3+1) { // svg+png × ((3 per stream + a spectrum + a status chart and a heatmap per variant) × 2 streams + 2 metrics + 3 summaries (latency, success, lost writes) + 1 anomaly timeline)
		t.Errorf("%d plot files", len(plots))
	}
	md, _ := os.ReadFile(filepath.Join(dir, SummaryFile))
	if !bytes.Equal(md, Markdown(r)) {
		t.Error("summary.md differs from Markdown()")
	}
}

func TestRenderHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	if err := Render(ctx, fixture(), dir); err == nil {
		t.Fatal("no error from a cancelled context")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("wrote %d entries after cancellation", len(entries))
	}
}

// TestHTMLSelfContained parses report.html and checks that it stands alone:
// no external scripts, styles, images or fonts, and every chart inlined.
func TestHTMLSelfContained(t *testing.T) {
	dir := t.TempDir()
	r := loadFixture(t)
	if err := Render(context.Background(), r, dir); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(page, []byte("http://")) || bytes.Contains(page, []byte("https://")) {
		t.Error("page holds an absolute URL")
	}
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var svgs, scripts, links int
	var styles []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "svg":
				svgs++
			case "script", "iframe", "img", "object", "embed":
				scripts++
			case "link":
				links++
			case "style":
				if n.FirstChild != nil {
					styles = append(styles, n.FirstChild.Data)
				}
			}
			for _, a := range n.Attr {
				switch a.Key {
				case "src", "srcset", "data", "xlink:href":
					t.Errorf("<%s %s=%q>: pulls in an asset", n.Data, a.Key, a.Val)
				case "href":
					if strings.Contains(a.Val, ":") || strings.HasPrefix(a.Val, "//") {
						t.Errorf("<%s href=%q>: not a local link", n.Data, a.Val)
					}
				case "style":
					styles = append(styles, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if svgs != 22 { // 21 charts and the anomaly timeline
		t.Errorf("%d inline <svg>, want 22", svgs)
	}
	if scripts != 0 || links != 0 {
		t.Errorf("%d script/img/iframe and %d <link> elements", scripts, links)
	}
	for _, css := range styles {
		if strings.Contains(css, "url(") || strings.Contains(css, "@import") {
			t.Errorf("CSS loads something: %.80q", css)
		}
	}
	text := string(page)
	for _, want := range []string{
		"loadlab: partition", "1 of 6 checks failed", "What it teaches:",
		"loadlab/postgres:15-bookworm", "111111111111", "cpus=1 memory=256MiB", // environment
		"10.01 s → 20.03 s", "10.00 s → 20.00 s", // fault actually active vs planned
		"during db-partition", "p99.9 (ms)", "503: 300", "stale: 400", // tables
		"lost_write", "acked version 42 &gt; final version 41", // history examples, escaped
		"FAIL", "scenarios/catalogue/partition.yaml:23", // failed check and where
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestHTMLBannersAndEscapes(t *testing.T) {
	r := fixture()
	r.Status, r.Reason = results.StatusFailed, "postgres container exited <137>"
	r.Scenario.Description = `<script>alert("x")</script>`
	r.Variants[1].Status, r.Variants[1].Reason = results.StatusAborted, "never started"
	page, err := HTML(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := string(page)
	if strings.Contains(text, "<script>") {
		t.Error("description not escaped")
	}
	for _, want := range []string{
		`class="banner warn" id="status">Run failed: postgres container exited &lt;137&gt;`,
		"Variant aborted: never started",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// synthetic is a run of nv variants × ns streams × secs seconds at rps per
// stream: the shape of a long scenario, for timing.
func synthetic(nv, ns, secs int, rps int64) *results.Results {
	r := fixture()
	base := r.Variants[1]
	r.Variants = nil
	for v := range nv {
		vr := base
		vr.Name = "v" + strconv.Itoa(v)
		vr.Streams, vr.Total = nil, nil
		var streams []resultstest.Stream
		for s := range ns {
			streams = append(streams, resultstest.Stream{Name: "s" + strconv.Itoa(s), Method: "GET", Rate: int(rps),
				Request: func(t, i int) load.Sample {
					if i < t%3 {
						return load.Sample{Code: 503, Latency: time.Millisecond}
					}
					return load.Sample{Code: 200, Success: true, Latency: resultstest.Spread(2*time.Millisecond, i, int(rps))}
				}})
		}
		resultstest.Measure(&vr, secs, nil, streams...)
		r.Variants = append(r.Variants, vr)
	}
	return r
}

// TestRenderMillionRequests renders a run of 1.08M requests (3 variants ×
// 3 streams × 600 s × 200/s); the budget is 2 s, checked with slack for a
// shared machine.
func TestRenderMillionRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	r := synthetic(3, 3, 600, 200)
	start := time.Now()
	if err := Render(context.Background(), r, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("rendered a run of 1.08M requests in %v", took)
	if took > 6*time.Second {
		t.Errorf("took %v, budget 2 s", took)
	}
}

func BenchmarkRender(b *testing.B) {
	r := synthetic(3, 3, 600, 200)
	dir := b.TempDir()
	for b.Loop() {
		if err := Render(context.Background(), r, dir); err != nil {
			b.Fatal(err)
		}
	}
}
