package compare

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/loadlab/loadlab/reports/results"
)

// ErrDifferentScenarios is returned (wrapped) when base and head ran
// different scenarios: their numbers do not measure the same thing.
var ErrDifferentScenarios = errors.New("different scenarios")

// Verdict is the conclusion of a comparison as a whole.
type Verdict string

// Verdicts, from worst to least conclusive.
const (
	// VerdictRegression: at least one metric regressed (significant, in the bad
	// direction, beyond its threshold) or a check passing in base fails in head.
	VerdictRegression Verdict = "regression"
	// VerdictImprovement: no regression and at least one metric improved
	// beyond its threshold, or a check failing in base passes in head.
	VerdictImprovement Verdict = "improvement"
	// VerdictNoChange: enough data, nothing beyond the thresholds.
	VerdictNoChange Verdict = "no significant change"
	// VerdictInconclusive: no regression, but nothing could be judged (no
	// common rows, or too few samples everywhere), or a run did not finish.
	VerdictInconclusive Verdict = "inconclusive"
)

// Change is the judgement of one row.
type Change string

// Changes of a row.
const (
	ChangeRegression   Change = "regression"
	ChangeImprovement  Change = "improvement"
	ChangeNone         Change = "no change" // not significant, within the threshold, or the samples disagree with the summary
	ChangeInsufficient Change = "insufficient data"
)

// Report is the comparison of two runs of one scenario.
type Report struct {
	Scenario   string
	Base, Head RunInfo
	Alpha      float64
	Thresholds Thresholds
	Corrected  bool // rows were judged on Benjamini-Hochberg adjusted p-values (WithCorrection)

	Rows   []Row      // one per variant × stream × phase × metric present in both, in a stable order
	Checks []CheckRow // checks present in both, in base's order

	// What only one side has, e.g. `variant "ap"`, `stream "cp/reads"`,
	// `phase "cp/during db-partition"`, `check "cp/during x: p99 < 50ms"`.
	OnlyInBase []string
	OnlyInHead []string

	// Notes are reasons to distrust the comparison: a run that did not finish,
	// a saturated load generator, different seeds or machines.
	Notes []string

	Verdict Verdict

	tested []testedRow // rows awaiting judgement, until every p-value is known
}

// testedRow remembers what judging a row needs once the p-values of all rows
// are in: the correction looks at all of them together.
type testedRow struct {
	row   int // index in Report.Rows
	spec  metricSpec
	shift int
}

// RunInfo identifies one side of the comparison.
type RunInfo struct {
	Label          string // from WithLabels; "base" or "head" by default
	StartedAt      time.Time
	Status         string // results.StatusOK, StatusAborted or StatusFailed
	Reason         string
	LoadlabVersion string
	Quick          bool
	Scale          string // quick, normal or long
	Seed           int64
}

// Row compares one metric of one stream in one phase.
type Row struct {
	Variant, Stream, Phase string
	Metric                 Metric

	Base, Head float64 // the phase summary's values (ms, req/s or ratio)
	Delta      float64 // Head − Base
	DeltaPct   float64 // 100·Delta/Base; NaN when Base is 0

	P float64 // two-sided Mann-Whitney U p-value; NaN when not tested
	// PAdj is P adjusted for the number of tests in the report
	// (Benjamini-Hochberg; see WithCorrection), the value compared with
	// alpha. Equal to P with the correction off; NaN when not tested.
	PAdj         float64
	NBase, NHead int // per-second samples on each side
	Change       Change
}

// CheckRow puts one scenario check's outcomes side by side.
type CheckRow struct {
	Variant, Stream, Phase string
	Expect                 string // as written, e.g. "p99 < 50ms"
	Metric                 string
	BaseObserved           float64
	HeadObserved           float64
	BasePass, HeadPass     bool
	Change                 Change // regression: pass → fail; improvement: fail → pass; else none
}

// Regressed reports whether head regressed; the CLI exits 1 when it did.
func (r *Report) Regressed() bool { return r.Verdict == VerdictRegression }

// Compare diffs head against base. It refuses runs of different scenarios
// (ErrDifferentScenarios) and invalid options; everything else present in
// only one run is listed in the report, not an error. base and head are not
// modified, and may be the same value.
func Compare(base, head *results.Results, opts ...Option) (*Report, error) {
	if base == nil || head == nil {
		return nil, errors.New("compare: missing results")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if base.Scenario.Name != head.Scenario.Name {
		return nil, fmt.Errorf("compare: %w: base ran %q, head ran %q", ErrDifferentScenarios, base.Scenario.Name, head.Scenario.Name)
	}

	r := &Report{
		Scenario:   base.Scenario.Name,
		Base:       runInfo(cfg.baseLabel, base),
		Head:       runInfo(cfg.headLabel, head),
		Alpha:      cfg.alpha,
		Thresholds: cfg.thresholds,
		Corrected:  cfg.correct,
	}
	r.noteRuns(base, head)

	baseVariants := index(base.Variants, func(v results.Variant) string { return v.Name }, r.duplicateNote(r.Base.Label, "variant"))
	headVariants := index(head.Variants, func(v results.Variant) string { return v.Name }, r.duplicateNote(r.Head.Label, "variant"))
	for _, bv := range baseVariants.items {
		hv, ok := headVariants.get(bv.Name)
		if !ok {
			r.OnlyInBase = append(r.OnlyInBase, fmt.Sprintf("variant %q", bv.Name))
			continue
		}
		if err := r.compareVariant(&cfg, bv, hv); err != nil {
			return nil, err
		}
	}
	for _, hv := range headVariants.items {
		if _, ok := baseVariants.get(hv.Name); !ok {
			r.OnlyInHead = append(r.OnlyInHead, fmt.Sprintf("variant %q", hv.Name))
		}
	}
	r.judge(&cfg)
	r.Verdict = r.decide()
	return r, nil
}

func runInfo(label string, res *results.Results) RunInfo {
	return RunInfo{
		Label:          label,
		StartedAt:      res.StartedAt,
		Status:         res.Status,
		Reason:         res.Reason,
		LoadlabVersion: res.Environment.LoadlabVersion,
		Quick:          res.Scenario.Quick,
		Scale:          res.Scenario.ScaleName(),
		Seed:           res.Scenario.Seed,
	}
}

// noteRuns records differences between the runs that make numbers less
// comparable without making the comparison meaningless.
func (r *Report) noteRuns(base, head *results.Results) {
	for _, side := range []struct {
		label string
		res   *results.Results
	}{{r.Base.Label, base}, {r.Head.Label, head}} {
		if side.res.Status != results.StatusOK {
			note := fmt.Sprintf("%s run status is %q", side.label, side.res.Status)
			if side.res.Reason != "" {
				note += ": " + side.res.Reason
			}
			r.Notes = append(r.Notes, note)
		}
	}
	if base.Scenario.Quick != head.Scenario.Quick {
		r.Notes = append(r.Notes, fmt.Sprintf("quick mode differs (%s %v, %s %v): phases have different lengths", r.Base.Label, base.Scenario.Quick, r.Head.Label, head.Scenario.Quick))
	}
	if base.Scenario.Seed != head.Scenario.Seed {
		r.Notes = append(r.Notes, fmt.Sprintf("seeds differ (%s %d, %s %d): keys and schedules differ", r.Base.Label, base.Scenario.Seed, r.Head.Label, head.Scenario.Seed))
	}
	be, he := base.Environment, head.Environment
	if be.CPUs != he.CPUs || be.OS != he.OS || be.Arch != he.Arch {
		r.Notes = append(r.Notes, fmt.Sprintf("machines differ (%s %s/%s %d CPUs, %s %s/%s %d CPUs)",
			r.Base.Label, be.OS, be.Arch, be.CPUs, r.Head.Label, he.OS, he.Arch, he.CPUs))
	}
}

func (r *Report) compareVariant(cfg *config, bv, hv *results.Variant) error {
	basePhases := index(bv.Phases, func(p results.Phase) string { return p.Name }, r.duplicateNote(r.Base.Label, "phase of variant "+bv.Name))
	headPhases := index(hv.Phases, func(p results.Phase) string { return p.Name }, r.duplicateNote(r.Head.Label, "phase of variant "+hv.Name))
	var common []*results.Phase // base's order
	for _, p := range basePhases.items {
		if !cfg.phases(p.Name) {
			continue
		}
		if _, ok := headPhases.get(p.Name); ok {
			common = append(common, p)
		} else {
			r.OnlyInBase = append(r.OnlyInBase, fmt.Sprintf("phase %q", bv.Name+"/"+p.Name))
		}
	}
	for _, p := range headPhases.items {
		if _, ok := basePhases.get(p.Name); !ok && cfg.phases(p.Name) {
			r.OnlyInHead = append(r.OnlyInHead, fmt.Sprintf("phase %q", hv.Name+"/"+p.Name))
		}
	}

	baseStreams := index(bv.Streams, func(s results.Stream) string { return s.Name }, r.duplicateNote(r.Base.Label, "stream of variant "+bv.Name))
	headStreams := index(hv.Streams, func(s results.Stream) string { return s.Name }, r.duplicateNote(r.Head.Label, "stream of variant "+hv.Name))
	for _, bs := range baseStreams.items {
		hs, ok := headStreams.get(bs.Name)
		if !ok {
			r.OnlyInBase = append(r.OnlyInBase, fmt.Sprintf("stream %q", bv.Name+"/"+bs.Name))
			continue
		}
		r.noteSaturation(bv.Name, bs, hs)
		for _, p := range common {
			hp, _ := headPhases.get(p.Name)
			if err := r.compareStreamPhase(cfg, bv.Name, bs, hs, p, hp, bv.DurationS, hv.DurationS); err != nil {
				return err
			}
		}
	}
	for _, hs := range headStreams.items {
		if _, ok := baseStreams.get(hs.Name); !ok {
			r.OnlyInHead = append(r.OnlyInHead, fmt.Sprintf("stream %q", hv.Name+"/"+hs.Name))
		}
	}

	r.compareChecks(cfg, bv, hv)
	return nil
}

func (r *Report) noteSaturation(variant string, bs, hs *results.Stream) {
	for _, side := range []struct {
		label string
		s     *results.Stream
	}{{r.Base.Label, bs}, {r.Head.Label, hs}} {
		if side.s.Saturated {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: load generator of %s/%s was saturated (sent %d of %d intended, worst lateness %.0fms): its latency and throughput measure the generator too",
				side.label, variant, side.s.Name, side.s.Sent, side.s.Intended, side.s.MaxLateMs))
		}
	}
}

func (r *Report) compareStreamPhase(cfg *config, variant string, bs, hs *results.Stream, bp, hp *results.Phase, bd, hd float64) error {
	bsum, bok := phaseSummary(bs, bp.Name)
	hsum, hok := phaseSummary(hs, hp.Name)
	for _, side := range []struct {
		label string
		ok    bool
	}{{r.Base.Label, bok}, {r.Head.Label, hok}} {
		if !side.ok {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: stream %s/%s has no summary for phase %q: its values are medians of the per-second values",
				side.label, variant, bs.Name, bp.Name))
		}
	}
	for _, m := range metricSpecs {
		bx := m.samples(bs.Seconds, *bp, bd)
		hx := m.samples(hs.Seconds, *hp, hd)
		row := Row{Variant: variant, Stream: bs.Name, Phase: bp.Name, Metric: m.metric, NBase: len(bx), NHead: len(hx), P: math.NaN(), PAdj: math.NaN()}
		row.Base, row.Head = median(bx), median(hx)
		if bok {
			row.Base = m.summary(bsum)
		}
		if hok {
			row.Head = m.summary(hsum)
		}
		row.Delta = row.Head - row.Base
		row.DeltaPct = math.NaN()
		if row.Base != 0 {
			row.DeltaPct = 100 * row.Delta / row.Base
		}
		if len(bx) < MinSamples || len(hx) < MinSamples {
			row.Change = ChangeInsufficient
			r.Rows = append(r.Rows, row)
			continue
		}
		t, err := mannWhitney(bx, hx)
		if err != nil {
			return fmt.Errorf("compare: %s/%s/%s %s: %w", variant, bs.Name, bp.Name, m.metric, err)
		}
		row.P = t.p
		r.tested = append(r.tested, testedRow{row: len(r.Rows), spec: m, shift: t.shift})
		r.Rows = append(r.Rows, row)
	}
	return nil
}

// judge sets the Change of every tested row, after adjusting the p-values
// for their number.
func (r *Report) judge(cfg *config) {
	ps := make([]float64, len(r.tested))
	for i, t := range r.tested {
		ps[i] = r.Rows[t.row].P
	}
	if cfg.correct {
		ps = benjaminiHochberg(ps)
	}
	for i, t := range r.tested {
		row := &r.Rows[t.row]
		row.PAdj = ps[i]
		row.Change = t.spec.judge(*row, t.shift, cfg)
	}
	r.tested = nil
}

// judge decides a tested row: a regression or an improvement needs a
// significant test, a change beyond the threshold, and the summary delta and
// the samples' shift pointing the same way (a phase p99 can rise because of
// one bad second while the typical second got faster; that is no verdict).
func (m metricSpec) judge(row Row, shift int, cfg *config) Change {
	if !(row.PAdj < cfg.alpha) || row.Delta == 0 {
		return ChangeNone
	}
	up := row.Delta > 0
	if (up && shift != +1) || (!up && shift != -1) {
		return ChangeNone
	}
	size := math.Abs(row.Delta)
	if m.relative {
		if row.Base == 0 {
			size = math.Inf(1) // from nothing to something
		} else {
			size /= math.Abs(row.Base)
		}
	}
	if !(size > m.threshold(cfg.thresholds)) {
		return ChangeNone
	}
	if up == m.higherIsBetter {
		return ChangeImprovement
	}
	return ChangeRegression
}

func phaseSummary(s *results.Stream, phase string) (results.PhaseSummary, bool) {
	for _, ps := range s.Phases {
		if ps.Phase == phase {
			return ps, true
		}
	}
	return results.PhaseSummary{}, false
}

// compareChecks pairs the checks of a variant by (stream, phase, expect), the
// n-th occurrence in base with the n-th in head.
func (r *Report) compareChecks(cfg *config, bv, hv *results.Variant) {
	type key struct{ stream, phase, expect string }
	keyOf := func(c results.CheckResult) key { return key{c.Stream, c.Phase, c.Expect} }
	unmatched := map[key][]int{} // head's checks by key, as indices into hv.Checks
	for i, c := range hv.Checks {
		unmatched[keyOf(c)] = append(unmatched[keyOf(c)], i)
	}
	matched := make([]bool, len(hv.Checks))
	for _, bc := range bv.Checks {
		if !cfg.phases(bc.Phase) {
			continue
		}
		k := keyOf(bc)
		if len(unmatched[k]) == 0 {
			r.OnlyInBase = append(r.OnlyInBase, describeCheck(bv.Name, bc))
			continue
		}
		i := unmatched[k][0]
		unmatched[k] = unmatched[k][1:]
		matched[i] = true
		hc := hv.Checks[i]
		row := CheckRow{
			Variant: bv.Name, Stream: bc.Stream, Phase: bc.Phase, Expect: bc.Expect, Metric: bc.Metric,
			BaseObserved: bc.Observed, HeadObserved: hc.Observed,
			BasePass: bc.Pass, HeadPass: hc.Pass,
			Change: ChangeNone,
		}
		switch {
		case bc.Pass && !hc.Pass:
			row.Change = ChangeRegression
		case !bc.Pass && hc.Pass:
			row.Change = ChangeImprovement
		}
		r.Checks = append(r.Checks, row)
	}
	for i, hc := range hv.Checks {
		if !matched[i] && cfg.phases(hc.Phase) {
			r.OnlyInHead = append(r.OnlyInHead, describeCheck(hv.Name, hc))
		}
	}
}

func describeCheck(variant string, c results.CheckResult) string {
	where := variant
	if c.Stream != "" {
		where += "/" + c.Stream
	}
	return fmt.Sprintf("check %q", where+"/"+c.Phase+": "+c.Expect)
}

// decide folds rows and checks into the verdict.
func (r *Report) decide() Verdict {
	var regressions, improvements, judged int
	for _, row := range r.Rows {
		switch row.Change {
		case ChangeRegression:
			regressions++
		case ChangeImprovement:
			improvements++
		}
		if row.Change != ChangeInsufficient {
			judged++
		}
	}
	for _, c := range r.Checks {
		switch c.Change {
		case ChangeRegression:
			regressions++
		case ChangeImprovement:
			improvements++
		}
	}
	switch {
	case regressions > 0:
		// Evidence of a regression stands even from a run cut short.
		return VerdictRegression
	case r.Base.Status != results.StatusOK || r.Head.Status != results.StatusOK:
		return VerdictInconclusive
	case improvements > 0:
		return VerdictImprovement
	case judged == 0:
		return VerdictInconclusive
	default:
		return VerdictNoChange
	}
}

// indexed keeps items in their order and finds the first of a name.
type indexed[T any] struct {
	items  []*T
	byName map[string]*T
}

func (ix indexed[T]) get(name string) (*T, bool) {
	v, ok := ix.byName[name]
	return v, ok
}

// index keeps the first item of each name and reports the later ones.
func index[T any](xs []T, name func(T) string, duplicate func(name string)) indexed[T] {
	ix := indexed[T]{byName: make(map[string]*T, len(xs))}
	for i := range xs {
		n := name(xs[i])
		if _, dup := ix.byName[n]; dup {
			duplicate(n)
			continue
		}
		ix.byName[n] = &xs[i]
		ix.items = append(ix.items, &xs[i])
	}
	return ix
}

func (r *Report) duplicateNote(side, what string) func(string) {
	return func(name string) {
		r.Notes = append(r.Notes, fmt.Sprintf("%s has more than one %s named %q: compared the first", side, what, name))
	}
}
