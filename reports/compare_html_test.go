package reports

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/loadlab/loadlab/reports/compare"
	"github.com/loadlab/loadlab/reports/plots"
	"github.com/loadlab/loadlab/reports/results"
)

// element is an HTML element of a parsed page, with its text.
type element struct {
	tag   string
	attrs map[string]string
	text  string
}

func (e element) hasClass(c string) bool {
	return strings.Contains(" "+e.attrs["class"]+" ", " "+c+" ")
}

// elements parses page and lists every element in document order.
func elements(t *testing.T, page []byte) []element {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var out []element
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			e := element{tag: n.Data, attrs: map[string]string{}, text: text(n)}
			for _, a := range n.Attr {
				e.attrs[a.Key] = a.Val
			}
			out = append(out, e)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// TestComparePageSelfContained: no script, no external reference of any
// kind, and every chart inlined as SVG in its own figure.
func TestComparePageSelfContained(t *testing.T) {
	rep, base, head := compareFixture(t)
	charts, err := plots.RenderCompare(rep, base, head)
	if err != nil {
		t.Fatal(err)
	}
	page, err := CompareHTML(rep, charts)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(page, []byte("http://")) || bytes.Contains(page, []byte("https://")) {
		t.Error("page holds an absolute URL")
	}
	figures, svgs := 0, 0
	for _, e := range elements(t, page) {
		switch e.tag {
		case "script", "iframe", "img", "object", "embed", "link":
			t.Errorf("<%s> in a self-contained page", e.tag)
		case "figure":
			figures++
		case "svg":
			svgs++
		case "style":
			if strings.Contains(e.text, "url(") || strings.Contains(e.text, "@import") {
				t.Errorf("CSS loads something: %.80q", e.text)
			}
		}
		for k, v := range e.attrs {
			switch {
			case k == "src" || k == "srcset" || k == "data" || k == "xlink:href":
				t.Errorf("<%s %s=%q>: pulls in an asset", e.tag, k, v)
			case k == "href" && (strings.Contains(v, ":") || strings.HasPrefix(v, "//")):
				t.Errorf("<%s href=%q>: not a local link", e.tag, v)
			case strings.HasPrefix(k, "on"):
				t.Errorf("<%s %s>: script in an attribute", e.tag, k)
			}
		}
	}
	// 4 forest panels; per variant (cp, ap) and stream (reads, writes) a
	// spectrum and the seconds.
	if want := 4 + 2*2*2; len(charts) != want || figures != want || svgs != want {
		t.Errorf("%d charts, %d figures, %d inline <svg>; want %d of each", len(charts), figures, svgs, want)
	}
	for _, c := range charts {
		if !bytes.Contains(page, c.SVG) {
			t.Errorf("chart %s is not inlined", c.Name)
		}
	}
}

// TestComparePageVerdictFirst: the first thing under the title is the
// verdict, in the banner colour of its kind.
func TestComparePageVerdictFirst(t *testing.T) {
	for _, tc := range []struct {
		name         string
		rep          func(t *testing.T) *compare.Report
		class, start string
	}{
		{"regression", func(t *testing.T) *compare.Report { rep, _, _ := compareFixture(t); return rep }, "fail", "✘ regression: "},
		{"no change", func(t *testing.T) *compare.Report { return sameSides(t, 12) }, "ok", "✔ no significant change: "},
		{"one run a side", func(t *testing.T) *compare.Report { return sameSides(t, 1) }, "warn", "⚠ inconclusive: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := CompareHTML(tc.rep(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			els := elements(t, page)
			var h1 int
			for i, e := range els {
				if e.tag == "h1" {
					h1 = i
					break
				}
			}
			banner := els[h1+1]
			if banner.tag != "div" || !banner.hasClass("banner") || !banner.hasClass(tc.class) || !strings.HasPrefix(banner.text, tc.start) {
				t.Errorf("after the title: <%s class=%q> %q; want a %s banner starting %q", banner.tag, banner.attrs["class"], banner.text, tc.class, tc.start)
			}
		})
	}
}

// sameSides compares runs of the fixture with copies of themselves: n
// rounds a side, nothing changed.
func sameSides(t *testing.T, n int) *compare.Report {
	t.Helper()
	_, base, _ := compareFixture(t)
	base = base[:n]
	for _, r := range base {
		for vi := range r.Variants {
			r.Variants[vi].Phases = r.Variants[vi].Phases[:4] // no warm-up: every row can be judged
			for si := range r.Variants[vi].Streams {
				r.Variants[vi].Streams[si].Phases = r.Variants[vi].Streams[si].Phases[:4]
			}
		}
	}
	rep, err := compare.CompareRuns(base, base, compare.WithPaired(true))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestComparePageTable: the table has every row with the cells of
// compare.txt, regressed rows marked, and each row not judged with its
// reason.
func TestComparePageTable(t *testing.T) {
	rep, _, _ := compareFixture(t)
	page, err := CompareHTML(rep, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rows []element
	for _, e := range elements(t, page) {
		if e.tag == "tr" && !strings.HasPrefix(e.text, "variant") && len(rows) < len(rep.Rows) {
			rows = append(rows, e)
		}
	}
	if len(rows) != len(rep.Rows) {
		t.Fatalf("%d table rows for %d comparisons", len(rows), len(rep.Rows))
	}
	var regressed, unjudged int
	for i, row := range rep.Rows {
		e, c := rows[i], row.Cells()
		for _, cell := range []string{row.Variant, row.Stream, row.Phase, string(row.Metric), c.Base, c.Head, c.Change, c.Interval, c.Runs, c.Judgement} {
			if !strings.Contains(e.text, cell) {
				t.Errorf("row %d (%s/%s/%s %s) lacks %q: %q", i, row.Variant, row.Stream, row.Phase, row.Metric, cell, e.text)
			}
		}
		switch {
		case row.Why != "":
			unjudged++
			if !e.hasClass("unjudged") || !strings.Contains(e.text, row.Why) {
				t.Errorf("row %d not judged: class %q, text %q, want its reason %q", i, e.attrs["class"], e.text, row.Why)
			}
		case row.Change == compare.ChangeRegression && row.Gated:
			regressed++
			if !e.hasClass("regression") || !strings.Contains(e.text, "REGRESSION") {
				t.Errorf("row %d regressed: class %q, text %q", i, e.attrs["class"], e.text)
			}
		case row.Change == compare.ChangeRegression:
			// A phase row beyond its threshold is a lead: not coloured as a verdict.
			if e.hasClass("regression") || !strings.Contains(e.text, "regression (not gated)") {
				t.Errorf("row %d, not gated, regressed: class %q, text %q", i, e.attrs["class"], e.text)
			}
		}
	}
	if regressed == 0 || unjudged == 0 {
		t.Errorf("the fixture should have regressed rows and rows not judged: %d and %d", regressed, unjudged)
	}
	if !strings.Contains(string(page), "2 of 3 paired rounds needed") {
		t.Error("the warm-up rows' reason is missing")
	}
}

// TestComparePageReadsOnAPhone: the page declares a phone viewport, the
// charts shrink to the width, and every table scrolls inside its own box.
func TestComparePageReadsOnAPhone(t *testing.T) {
	page := compareFixturePage(t)
	els := elements(t, page)
	var viewport, style bool
	for _, e := range els {
		switch e.tag {
		case "meta":
			viewport = viewport || e.attrs["name"] == "viewport" && strings.Contains(e.attrs["content"], "width=device-width")
		case "style":
			style = regexp.MustCompile(`figure svg\{[^}]*max-width:100%`).MatchString(e.text) &&
				regexp.MustCompile(`\.scroll\{[^}]*overflow-x:auto`).MatchString(e.text)
		}
	}
	if !viewport || !style {
		t.Errorf("meta viewport %v; style with svg max-width and scrolling boxes %v", viewport, style)
	}
	// Every table sits in a div.scroll.
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "table" {
			p := n.Parent
			if p == nil || p.Data != "div" || !strings.Contains(attr(p, "class"), "scroll") {
				t.Errorf("a table outside a scrolling box: %q", attr(n, "id"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// TestComparePageEscapes: names from results.json are text, never markup.
func TestComparePageEscapes(t *testing.T) {
	_, base, head := compareFixture(t)
	for _, runs := range [][]*results.Results{base, head} {
		for _, r := range runs {
			r.Variants[0].Streams[0].Name = `<script>alert("x")</script>`
		}
	}
	rep, err := compare.CompareRuns(base, head, compare.WithPaired(true))
	if err != nil {
		t.Fatal(err)
	}
	page, err := ComparePage(rep, base, head)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(page, []byte("<script>")) {
		t.Error("a stream name reached the page as markup")
	}
}

// TestComparePageGolden pins the page's text and markup, each chart
// replaced by its name (the charts' own tests check what they draw) and
// report.html's style sheet by a comment (report.html's to change): go
// test -update rewrites testdata/compare.html.golden.
func TestComparePageGolden(t *testing.T) {
	page := compareFixturePage(t)
	style, err := reportStyle()
	if err != nil {
		t.Fatal(err)
	}
	page = bytes.Replace(page, []byte(style), []byte("/* report.html's style */"), 1)
	svg := regexp.MustCompile(`(?s)(<figure[^>]* id="chart-([^"]+)">)\n<svg.*?</svg>`)
	golden(t, "compare.html", svg.ReplaceAll(page, []byte("$1\n<svg><!-- $2 --></svg>")))
}

// TestComparePageWithNothingInCommon: a report without rows still renders,
// and says so.
func TestComparePageWithNothingInCommon(t *testing.T) {
	rep := &compare.Report{Scenario: "partition", Verdict: compare.VerdictInconclusive, OnlyInBase: []string{`variant "cp"`}}
	charts, err := plots.RenderCompare(rep, nil, nil)
	if err != nil || len(charts) != 0 {
		t.Fatalf("charts of an empty report: %d, %v", len(charts), err)
	}
	page, err := CompareHTML(rep, charts)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"no stream and phase in common", "Only in base", "variant &#34;cp&#34;"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
