package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/loadlab/loadlab/reports/plots"
	"github.com/loadlab/loadlab/reports/results"
)

//go:embed report.html.tmpl
var reportTemplate string

// page is what report.html.tmpl renders: the results, pre-chewed into
// strings and rows so that the template only lays them out.
type page struct {
	R            *results.Results
	Verdict      string
	StatusClass  string // ok, fail or warn: the banner's colour
	Total        int
	Failed       int
	StartedAt    string
	Duration     string
	Env          [][2]string
	Images       []imageRow
	Limits       [][2]string
	Variants     []variantView
	ChartGroups  []chartGroup
	FailedChecks []results.CheckResult
}

type imageRow struct{ Role, Ref, ID, ShortID string }

type variantView struct {
	results.Variant
	SettingsText string
	Faults       []faultView
	Streams      []streamView
	Checks       []results.CheckResult
}

type faultView struct {
	results.FaultWindow
	Toxicity   string
	Attributes string
	Planned    string
	Active     string
	Recovery   string // how long after the fault the service answered as before
	Revocation string // a revoke fault: how long the token kept working
	State      string // "applied", "not applied", "not removed", "error"
	// Positions on the timeline bar, in percent of the load duration.
	PlanLeft, PlanWidth, ActiveLeft, ActiveWidth float64
	HasActive                                    bool
}

type streamView struct {
	results.Stream
	Phases []phaseRow
}

type phaseRow struct {
	results.PhaseSummary
	Codes, Sources   string
	FailP50, FailP99 string // "–" when nothing failed
}

type chartGroup struct {
	Title  string
	Charts []chartView
}

type chartView struct {
	Title string
	Name  string
	SVG   template.HTML // produced by gonum/plot, which escapes every text it draws
	Links [][2]string   // format, relative path
}

// HTML renders report.html: one self-contained page, readable offline, with
// the charts inlined as SVG and no external reference of any kind.
func HTML(r *results.Results, charts []plots.Chart) ([]byte, error) {
	t, err := template.New("report").Funcs(template.FuncMap{
		"ms":       fmtMs,
		"ratio":    fmtRatio,
		"rate":     fmtRate,
		"secs":     fmtSeconds,
		"int":      fmtInt,
		"observed": fmtObserved,
		"required": fmtRequired,
		"scope":    checkScope,
	}).Parse(reportTemplate)
	if err != nil {
		return nil, fmt.Errorf("reports: html template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, newPage(r, charts)); err != nil {
		return nil, fmt.Errorf("reports: html: %w", err)
	}
	return b.Bytes(), nil
}

func newPage(r *results.Results, charts []plots.Chart) *page {
	p := &page{R: r, Verdict: verdict(r)}
	p.Total, p.Failed = countChecks(r)
	switch {
	case r.Status != results.StatusOK:
		p.StatusClass = "warn"
	case p.Failed > 0:
		p.StatusClass = "fail"
	default:
		p.StatusClass = "ok"
	}
	if !r.StartedAt.IsZero() {
		p.StartedAt = r.StartedAt.UTC().Format(time.RFC3339)
		if r.EndedAt.After(r.StartedAt) {
			p.Duration = r.EndedAt.Sub(r.StartedAt).Round(time.Second).String()
		}
	}
	e := r.Environment
	for _, kv := range [][2]string{
		{"loadlab", e.LoadlabVersion}, {"Go", e.GoVersion}, {"OS / arch", strings.Trim(e.OS+"/"+e.Arch, "/")},
		{"CPUs", cpuCount(e.CPUs)}, {"host", e.Hostname}, {"Docker", e.DockerVersion},
	} {
		if kv[1] != "" {
			p.Env = append(p.Env, kv)
		}
	}
	for _, kv := range sortedPairs(imageRefs(e.Images)) {
		img := e.Images[kv[0]]
		p.Images = append(p.Images, imageRow{Role: kv[0], Ref: img.Ref, ID: img.ID, ShortID: shortID(img.ID)})
	}
	p.Limits = sortedPairs(e.Limits)
	for _, v := range r.Variants {
		p.Variants = append(p.Variants, newVariantView(v))
		for _, c := range v.Checks {
			if !c.Pass {
				p.FailedChecks = append(p.FailedChecks, c)
			}
		}
	}
	p.ChartGroups = groupCharts(charts)
	return p
}

func newVariantView(v results.Variant) variantView {
	vv := variantView{Variant: v, SettingsText: fmtSettings(v.Settings), Checks: sortedChecks(v.Checks)}
	span := v.DurationS
	for _, f := range v.Faults {
		span = math.Max(span, math.Max(f.PlannedAtS+f.PlannedForS, f.ActiveToS))
	}
	pct := func(s float64) float64 {
		if span <= 0 {
			return 0
		}
		return math.Round(math.Min(math.Max(s/span*100, 0), 100)*100) / 100
	}
	for _, f := range v.Faults {
		fv := faultView{FaultWindow: f, Planned: plannedWindow(f), Active: activeWindow(f), Recovery: recoveryText(f), Revocation: revocationText(f)}
		if f.Toxicity > 0 {
			fv.Toxicity = fmt.Sprintf("%g", f.Toxicity)
		}
		attrs := make([]string, 0, len(f.Attributes))
		for _, k := range slices.Sorted(maps.Keys(f.Attributes)) {
			attrs = append(attrs, fmt.Sprintf("%s=%d", k, f.Attributes[k]))
		}
		fv.Attributes = strings.Join(attrs, ", ")
		switch {
		case f.Error != "":
			fv.State = "error"
		case f.ActiveFromS < 0:
			fv.State = "not applied"
		case f.ActiveToS < 0:
			fv.State = "not removed"
		default:
			fv.State = "applied"
		}
		fv.PlanLeft = pct(f.PlannedAtS)
		fv.PlanWidth = pct(f.PlannedAtS+f.PlannedForS) - fv.PlanLeft
		if f.ActiveFromS >= 0 {
			to := f.ActiveToS
			if to < 0 {
				to = span
			}
			fv.HasActive = true
			fv.ActiveLeft = pct(f.ActiveFromS)
			fv.ActiveWidth = math.Max(pct(to)-fv.ActiveLeft, 0.3) // visible even when brief
		}
		vv.Faults = append(vv.Faults, fv)
	}
	for _, st := range v.Streams {
		sv := streamView{Stream: st}
		for _, ps := range st.Phases {
			row := phaseRow{PhaseSummary: ps, Codes: fmtCounts(ps.Codes), Sources: fmtCounts(ps.Sources), FailP50: "–", FailP99: "–"}
			if f := ps.FailureLatency; f != nil {
				row.FailP50, row.FailP99 = fmtMs(f.P50), fmtMs(f.P99)
			}
			sv.Phases = append(sv.Phases, row)
		}
		vv.Streams = append(vv.Streams, sv)
	}
	return vv
}

// groupCharts sorts charts into the page's sections, keeping their order.
func groupCharts(charts []plots.Chart) []chartGroup {
	var groups []chartGroup
	index := map[string]int{}
	for _, c := range charts {
		title := "Overview"
		switch {
		case c.Stream != "":
			title = "Stream " + c.Stream
		case c.Kind == "metric":
			title = "Target metrics"
		case c.Kind == "timeline":
			title = "Anomaly timelines (one lane per client; the anomaly, the value it returned and its proof outlined)"
		}
		i, ok := index[title]
		if !ok {
			i = len(groups)
			index[title] = i
			groups = append(groups, chartGroup{Title: title})
		}
		cv := chartView{Title: c.Title, Name: c.Name, SVG: template.HTML(c.SVG)}
		for _, f := range []string{plots.PNG, plots.SVG} {
			if path, ok := c.Files[f]; ok {
				cv.Links = append(cv.Links, [2]string{f, "plots/" + filepath.Base(path)})
			}
		}
		groups[i].Charts = append(groups[i].Charts, cv)
	}
	// The overview (summary bars) reads best first.
	slices.SortStableFunc(groups, func(a, b chartGroup) int {
		switch {
		case a.Title == b.Title:
			return 0
		case a.Title == "Overview":
			return -1
		case b.Title == "Overview":
			return 1
		}
		return 0
	})
	return groups
}

func imageRefs(m map[string]results.ImageInfo) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v.Ref
	}
	return out
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func cpuCount(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprint(n)
}
