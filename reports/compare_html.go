package reports

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"strings"

	"github.com/loadlab/loadlab/reports/compare"
	"github.com/loadlab/loadlab/reports/plots"
	"github.com/loadlab/loadlab/reports/results"
)

// CompareHTMLFile is the comparison page's name beside compare.txt and
// compare.md in a duet's directory.
const CompareHTMLFile = "compare.html"

//go:embed compare.html.tmpl
var compareTemplate string

// comparePage is what compare.html.tmpl renders: the report pre-chewed
// into strings, the same cells compare.txt prints, and the charts.
type comparePage struct {
	Style          template.CSS // report.html's
	Scenario       string
	Verdict        string
	Summary        string // the verdict in one line, as compare.txt's last line
	StatusClass    string // ok, fail or warn: the banner's colour
	Base, Head     string // each side in one line
	Method         string
	IntervalHeader string
	Runs           string // what a line of the overlays is: "the median of the side's 4 runs", "the one run"
	Several        bool   // more than one run on some side: thin lines and bands are drawn
	Rows           []compareRowView
	Checks         []compareCheckView
	OnlyInBase     []string
	OnlyInHead     []string
	Notes          []string
	Forest         []chartView
	Streams        []chartGroup // per variant/stream: spectrum and seconds
}

type compareRowView struct {
	Row   compare.Row
	Cells compare.RowCells
	Class string // regression, improvement, unjudged or empty: the row's colour
}

type compareCheckView struct {
	Check compare.CheckRow
	Cells compare.CheckCells
	Class string
}

// ComparePage renders compare.html for a report and the runs it compared:
// the charts (plots.RenderCompare) and the page. A chart that fails to
// render is left out and its error returned with the page: a page without
// a chart beats no page. The page is nil only when it could not be made.
func ComparePage(rep *compare.Report, base, head []*results.Results) ([]byte, error) {
	charts, chartErr := plots.RenderCompare(rep, base, head)
	page, err := CompareHTML(rep, charts)
	if err != nil {
		return nil, errors.Join(chartErr, err)
	}
	if chartErr != nil {
		chartErr = fmt.Errorf("reports: %w", chartErr)
	}
	return page, chartErr
}

// CompareHTML renders compare.html from a report and its charts
// (plots.RenderCompare): one self-contained page with the verdict on top, the
// forest plots and the table of every row, the checks, and per stream
// base and head overlaid. The charts are inlined as SVG; the page has no
// script and no external reference, and reads at a phone's width.
func CompareHTML(rep *compare.Report, charts []plots.Chart) ([]byte, error) {
	if rep == nil {
		return nil, errors.New("reports: no comparison")
	}
	style, err := reportStyle()
	if err != nil {
		return nil, err
	}
	t, err := template.New("compare").Parse(compareTemplate)
	if err != nil {
		return nil, fmt.Errorf("reports: compare template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, newComparePage(rep, charts, style)); err != nil {
		return nil, fmt.Errorf("reports: compare html: %w", err)
	}
	return b.Bytes(), nil
}

// reportStyle is report.html's style sheet, taken from its template, so
// that compare.html looks like report.html and one edit restyles both.
func reportStyle() (template.CSS, error) {
	_, rest, open := strings.Cut(reportTemplate, "<style>")
	css, _, closed := strings.Cut(rest, "</style>")
	if !open || !closed {
		return "", errors.New("reports: report.html.tmpl has no <style> element to share")
	}
	return template.CSS(strings.Trim(css, "\n")), nil
}

func newComparePage(rep *compare.Report, charts []plots.Chart, style template.CSS) *comparePage {
	p := &comparePage{
		Style:          style,
		Scenario:       rep.Scenario,
		Verdict:        string(rep.Verdict),
		Summary:        rep.Summary(),
		StatusClass:    verdictClass(rep.Verdict),
		Base:           rep.Base.Describe(),
		Head:           rep.Head.Describe(),
		Method:         rep.Method(),
		IntervalHeader: rep.IntervalHeader(),
		Runs:           "the one run",
		Several:        rep.Base.Runs > 1 || rep.Head.Runs > 1,
		OnlyInBase:     rep.OnlyInBase,
		OnlyInHead:     rep.OnlyInHead,
		Notes:          rep.Notes,
	}
	switch {
	case rep.Base.Runs != rep.Head.Runs:
		p.Runs = fmt.Sprintf("the median of the side's runs (%d base, %d head)", rep.Base.Runs, rep.Head.Runs)
	case p.Several:
		p.Runs = fmt.Sprintf("the median of the side's %d runs", rep.Base.Runs)
	}
	for _, row := range rep.Rows {
		class := changeClass(row.Change, row.Why != "")
		if !row.Gated && row.Why == "" {
			class = "" // a lead: only gated rows are coloured as verdicts
		}
		p.Rows = append(p.Rows, compareRowView{Row: row, Cells: row.Cells(), Class: class})
	}
	for _, c := range rep.Checks {
		p.Checks = append(p.Checks, compareCheckView{Check: c, Cells: c.Cells(), Class: changeClass(c.Change, false)})
	}
	groups := map[string]int{}
	for _, c := range charts {
		cv := chartView{Title: c.Title, Name: c.Name, SVG: template.HTML(c.SVG)}
		if c.Kind == "forest" {
			p.Forest = append(p.Forest, cv)
			continue
		}
		i, ok := groups[c.Stream]
		if !ok {
			i = len(p.Streams)
			groups[c.Stream] = i
			p.Streams = append(p.Streams, chartGroup{Title: strings.ReplaceAll(c.Stream, "/", " / ")})
		}
		p.Streams[i].Charts = append(p.Streams[i].Charts, cv)
	}
	return p
}

// verdictClass colours the banner: red for a regression, amber when
// nothing could be concluded, green otherwise.
func verdictClass(v compare.Verdict) string {
	switch v {
	case compare.VerdictRegression:
		return "fail"
	case compare.VerdictInconclusive:
		return "warn"
	}
	return "ok"
}

func changeClass(c compare.Change, unjudged bool) string {
	switch {
	case unjudged:
		return "unjudged"
	case c == compare.ChangeRegression:
		return "regression"
	case c == compare.ChangeImprovement:
		return "improvement"
	}
	return ""
}
