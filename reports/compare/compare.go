package compare

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
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
	// VerdictRegression: at least one row's interval lies wholly beyond its
	// threshold in the bad direction, or a check passing in base fails in head.
	VerdictRegression Verdict = "regression"
	// VerdictImprovement: no regression and at least one row's interval lies
	// wholly beyond its threshold in the good direction, or a check failing
	// in base passes in head.
	VerdictImprovement Verdict = "improvement"
	// VerdictNoChange: rows were judged and none lies beyond its threshold.
	VerdictNoChange Verdict = "no significant change"
	// VerdictInconclusive: no regression, but nothing could be judged (one run
	// a side, no common rows), or a run did not finish.
	VerdictInconclusive Verdict = "inconclusive"
)

// Change is the judgement of one row.
type Change string

// Changes of a row.
const (
	ChangeRegression   Change = "regression"
	ChangeImprovement  Change = "improvement"
	ChangeNone         Change = "no change" // judged: the interval does not lie wholly beyond the threshold
	ChangeInsufficient Change = "insufficient data"
	ChangeNotJudged    Change = "not judged" // enough runs, but no ratio can be formed (a run measured zero)
)

// Report is the comparison of the runs of one scenario on two sides.
type Report struct {
	Scenario   string
	Base, Head RunInfo
	Paired     bool // base[i] and head[i] ran side by side (duet rounds)
	Alpha      float64
	Thresholds Thresholds
	// Each row's interval [Lo, Hi] is a pair of one-sided bounds, each at
	// confidence 1 − Alpha (a regression is decided by one bound alone, so
	// the gate's chance of a false alarm is that of one bound).
	// Corrected: the bounds are simultaneous (Bonferroni): a gated row's at
	// 1 − Alpha/GateFamily, so the chance that any gated row is wrongly
	// called a regression is at most Alpha; a reported row's at
	// 1 − Alpha/Estimated, simultaneous over every row.
	Corrected  bool
	Estimated  int // rows with an interval
	GateFamily int // of them, rows that can fail the gate (Row.Gated)

	Rows   []Row      // one per variant × stream × phase × metric present in both, in a stable order
	Checks []CheckRow // checks present in both, in base's order

	// What only one side has, e.g. `variant "ap"`, `stream "cp/reads"`,
	// `phase "cp/during db-partition"`, `check "cp/during x: p99 < 50ms"`.
	OnlyInBase []string
	OnlyInHead []string

	// Notes are reasons to distrust the comparison: a run that did not finish,
	// a saturated load generator, different seeds or machines, one run a side.
	Notes []string

	Verdict Verdict

	pending []pendingRow // rows awaiting their interval, until their number is known
}

// pendingRow remembers what judging a row needs once every row is estimated:
// the correction depends on how many there are.
type pendingRow struct {
	row  int // index in Report.Rows
	spec metricSpec
	est  estimate
}

// RunInfo identifies one side of the comparison.
type RunInfo struct {
	Label          string // from WithLabels; "base" or "head" by default
	Runs           int    // how many runs (or rounds) this side has
	StartedAt      time.Time
	Status         string // the worst of the runs: results.StatusOK, StatusAborted or StatusFailed
	Reason         string
	LoadlabVersion string
	Quick          bool
	Scale          string // quick, normal or long
	Seed           int64
}

// Row compares one metric of one stream in one phase. The unit of evidence
// is the run: each run gives one value per side (its phase summary), never
// the seconds within a run, which are autocorrelated and share whatever
// made that run differ from the others.
type Row struct {
	Variant, Stream, Phase string
	Metric                 Metric

	Base, Head float64 // medians over each side's runs (ms, req/s or ratio)

	// Relative rows (p50, p99, throughput) estimate the ratio head/base: the
	// geometric mean of the paired ratios, or the ratio of the geometric
	// means of independent runs. Absolute rows (success ratio) estimate the
	// difference head − base. Lo and Hi bound it with confidence 1 − Alpha
	// (simultaneous over the report when Corrected). NaN when not estimated.
	Relative    bool
	Est, Lo, Hi float64

	N            int // pairs (paired) or the smaller side's runs that have a value
	NBase, NHead int // runs with a value on each side
	// Gated: the row can fail the gate (its phase is gated, WithGate; by
	// default the whole run). The other rows are judged and reported, but
	// only as leads: their Change does not make the Verdict.
	Gated  bool
	Change Change
	Why    string // why the row was not judged; empty when it was
}

// CheckRow puts one scenario check's outcomes side by side.
type CheckRow struct {
	Variant, Stream, Phase string
	Expect                 string // as written, e.g. "p99 < 50ms"
	Metric                 string
	BaseObserved           float64 // median over the runs
	HeadObserved           float64
	BasePassed, BaseRuns   int // runs that passed, of runs that have the check
	HeadPassed, HeadRuns   int
	BasePass, HeadPass     bool // passed in every run of the side
	// Change is a regression when the check passed in every base run and
	// failed in more than half of the head runs; an improvement the other
	// way round; else none.
	Change Change
}

// Regressed reports whether head regressed; the CLI exits 1 when it did.
func (r *Report) Regressed() bool { return r.Verdict == VerdictRegression }

// Compare diffs one run of head against one run of base. With a single run a
// side, run-to-run noise is unknown: no row is judged (each says so) and
// only a check that passes in base and fails in head makes a regression.
func Compare(base, head *results.Results, opts ...Option) (*Report, error) {
	if base == nil || head == nil {
		return nil, errors.New("compare: missing results")
	}
	return CompareRuns([]*results.Results{base}, []*results.Results{head}, opts...)
}

// CompareRuns diffs several runs of head against several runs of base, the
// run being the unit of evidence (as benchstat's -count). With WithPaired,
// base[i] and head[i] ran side by side and each row is judged on the paired
// ratios. It refuses runs of different scenarios (ErrDifferentScenarios) and
// invalid options; what only one side has is listed in the report, not an
// error. The runs are not modified.
func CompareRuns(base, head []*results.Results, opts ...Option) (*Report, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(base) == 0 || len(head) == 0 {
		return nil, errors.New("compare: missing results")
	}
	if cfg.paired && len(base) != len(head) {
		return nil, fmt.Errorf("compare: paired runs need as many base runs as head runs, got %d and %d", len(base), len(head))
	}
	for _, run := range append(append([]*results.Results(nil), base...), head...) {
		if run == nil {
			return nil, errors.New("compare: missing results")
		}
		if run.Scenario.Name != base[0].Scenario.Name {
			return nil, fmt.Errorf("compare: %w: base ran %q, head ran %q", ErrDifferentScenarios, base[0].Scenario.Name, run.Scenario.Name)
		}
	}

	r := &Report{
		Scenario:   base[0].Scenario.Name,
		Base:       runInfo(cfg.baseLabel, base),
		Head:       runInfo(cfg.headLabel, head),
		Paired:     cfg.paired,
		Alpha:      cfg.alpha,
		Thresholds: cfg.thresholds,
		Corrected:  cfg.correct,
	}
	r.noteRuns(base, head)

	ref, refHead := base[0], head[0]
	baseVariants := index(ref.Variants, func(v results.Variant) string { return v.Name }, r.duplicateNote(r.Base.Label, "variant"))
	headVariants := index(refHead.Variants, func(v results.Variant) string { return v.Name }, r.duplicateNote(r.Head.Label, "variant"))
	for _, bv := range baseVariants.items {
		hv, ok := headVariants.get(bv.Name)
		if !ok {
			r.OnlyInBase = append(r.OnlyInBase, fmt.Sprintf("variant %q", bv.Name))
			continue
		}
		r.compareVariant(&cfg, bv, hv, sideVariants(base, bv.Name), sideVariants(head, bv.Name))
	}
	for _, hv := range headVariants.items {
		if _, ok := baseVariants.get(hv.Name); !ok {
			r.OnlyInHead = append(r.OnlyInHead, fmt.Sprintf("variant %q", hv.Name))
		}
	}
	r.judge(&cfg)
	if r.GateFamily == 0 && r.Estimated > 0 {
		r.Notes = append(r.Notes, "no row of a gated phase was estimated: nothing but a check can fail the gate (gate other phases with --gate)")
	}
	r.Verdict = r.decide()
	return r, nil
}

// sideVariants returns each run's variant of that name, nil where a run
// lacks it.
func sideVariants(runs []*results.Results, name string) []*results.Variant {
	out := make([]*results.Variant, len(runs))
	for i, run := range runs {
		for j := range run.Variants {
			if run.Variants[j].Name == name {
				out[i] = &run.Variants[j]
				break
			}
		}
	}
	return out
}

func runInfo(label string, runs []*results.Results) RunInfo {
	first := runs[0]
	ri := RunInfo{
		Label:          label,
		Runs:           len(runs),
		StartedAt:      first.StartedAt,
		Status:         results.StatusOK,
		LoadlabVersion: first.Environment.LoadlabVersion,
		Quick:          first.Scenario.Quick,
		Scale:          first.Scenario.ScaleName(),
		Seed:           first.Scenario.Seed,
	}
	for _, run := range runs {
		if run.Status != results.StatusOK && ri.Status == results.StatusOK {
			ri.Status, ri.Reason = run.Status, run.Reason
		}
	}
	return ri
}

// noteRuns records differences between the runs that make numbers less
// comparable without making the comparison meaningless.
func (r *Report) noteRuns(base, head []*results.Results) {
	for _, side := range []struct {
		label string
		runs  []*results.Results
	}{{r.Base.Label, base}, {r.Head.Label, head}} {
		for i, run := range side.runs {
			if run.Status == results.StatusOK {
				continue
			}
			note := fmt.Sprintf("%s run status is %q", side.label, run.Status)
			if len(side.runs) > 1 {
				note = fmt.Sprintf("%s run %d of %d status is %q", side.label, i+1, len(side.runs), run.Status)
			}
			if run.Reason != "" {
				note += ": " + run.Reason
			}
			r.Notes = append(r.Notes, note)
		}
	}
	if len(base) < MinRuns || len(head) < MinRuns {
		r.Notes = append(r.Notes, fmt.Sprintf("%d run(s) of %s and %d of %s: run-to-run noise is unknown below %d runs a side, so no metric is judged and only checks can fail the gate; pass several runs a side or use `loadlab ab`",
			len(base), r.Base.Label, len(head), r.Head.Label, MinRuns))
	}
	b, h := base[0], head[0]
	if b.Scenario.Quick != h.Scenario.Quick {
		r.Notes = append(r.Notes, fmt.Sprintf("quick mode differs (%s %v, %s %v): phases have different lengths", r.Base.Label, b.Scenario.Quick, r.Head.Label, h.Scenario.Quick))
	}
	if b.Scenario.Seed != h.Scenario.Seed {
		r.Notes = append(r.Notes, fmt.Sprintf("seeds differ (%s %d, %s %d): keys and schedules differ", r.Base.Label, b.Scenario.Seed, r.Head.Label, h.Scenario.Seed))
	}
	be, he := b.Environment, h.Environment
	if be.CPUs != he.CPUs || be.OS != he.OS || be.Arch != he.Arch {
		r.Notes = append(r.Notes, fmt.Sprintf("machines differ (%s %s/%s %d CPUs, %s %s/%s %d CPUs)",
			r.Base.Label, be.OS, be.Arch, be.CPUs, r.Head.Label, he.OS, he.Arch, he.CPUs))
	}
}

// compareVariant pairs phases and streams by name, in the first runs' order,
// and gathers every run's values for each row.
func (r *Report) compareVariant(cfg *config, bv, hv *results.Variant, baseRuns, headRuns []*results.Variant) {
	basePhases := index(bv.Phases, func(p results.Phase) string { return p.Name }, r.duplicateNote(r.Base.Label, "phase of variant "+bv.Name))
	headPhases := index(hv.Phases, func(p results.Phase) string { return p.Name }, r.duplicateNote(r.Head.Label, "phase of variant "+hv.Name))
	var common []string // base's order
	for _, p := range basePhases.items {
		if !cfg.phases(p.Name) {
			continue
		}
		if _, ok := headPhases.get(p.Name); ok {
			common = append(common, p.Name)
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
		if _, ok := headStreams.get(bs.Name); !ok {
			r.OnlyInBase = append(r.OnlyInBase, fmt.Sprintf("stream %q", bv.Name+"/"+bs.Name))
			continue
		}
		r.noteSaturation(bv.Name, bs.Name, baseRuns, headRuns)
		for _, phase := range common {
			r.compareStreamPhase(cfg, bv.Name, bs.Name, phase, baseRuns, headRuns)
		}
	}
	for _, hs := range headStreams.items {
		if _, ok := baseStreams.get(hs.Name); !ok {
			r.OnlyInHead = append(r.OnlyInHead, fmt.Sprintf("stream %q", hv.Name+"/"+hs.Name))
		}
	}

	r.compareChecks(cfg, bv, hv, baseRuns, headRuns)
}

// noteSaturation notes, per side, the runs whose load generator could not
// keep its schedule for that stream: one note a side, however many runs.
func (r *Report) noteSaturation(variant, stream string, baseRuns, headRuns []*results.Variant) {
	for _, side := range []struct {
		label string
		runs  []*results.Variant
	}{{r.Base.Label, baseRuns}, {r.Head.Label, headRuns}} {
		var saturated []string
		var sent, intended int64
		var worst float64
		for i, v := range side.runs {
			s, _ := lookup(v, stream, "")
			if s == nil || !s.Saturated {
				continue
			}
			saturated = append(saturated, strconv.Itoa(i+1))
			sent, intended, worst = sent+s.Sent, intended+s.Intended, max(worst, s.MaxLateMs)
		}
		if len(saturated) == 0 {
			continue
		}
		which := side.label
		if len(side.runs) > 1 {
			which = fmt.Sprintf("%s, %d of %d runs (%s)", side.label, len(saturated), len(side.runs), strings.Join(saturated, ", "))
		}
		r.Notes = append(r.Notes, fmt.Sprintf("%s: load generator of %s/%s was saturated (sent %d of %d intended, worst lateness %.0fms): its latency and throughput measure the generator too",
			which, variant, stream, sent, intended, worst))
	}
}

// lookup finds a stream and a phase of one run's variant; either is nil when
// the run lacks it.
func lookup(v *results.Variant, stream, phase string) (*results.Stream, *results.Phase) {
	if v == nil {
		return nil, nil
	}
	var s *results.Stream
	var p *results.Phase
	for i := range v.Streams {
		if v.Streams[i].Name == stream {
			s = &v.Streams[i]
			break
		}
	}
	for i := range v.Phases {
		if v.Phases[i].Name == phase {
			p = &v.Phases[i]
			break
		}
	}
	return s, p
}

// compareStreamPhase adds the four metric rows of one stream in one phase.
func (r *Report) compareStreamPhase(cfg *config, variant, stream, phase string, baseRuns, headRuns []*results.Variant) {
	noted := false
	for _, m := range metricSpecs {
		value := func(v *results.Variant) (float64, bool) {
			s, p := lookup(v, stream, phase)
			if s == nil || p == nil {
				return 0, false
			}
			x, ok, fromSummary := m.valueOf(s, p, v.DurationS)
			if ok && !fromSummary && !noted {
				noted = true
				r.Notes = append(r.Notes, fmt.Sprintf("stream %s/%s has no summary for phase %q in some run: its values there are medians of the per-second values", variant, stream, phase))
			}
			return x, ok
		}
		s := sample{paired: cfg.paired}
		if cfg.paired {
			for i := range baseRuns {
				b, bok := value(baseRuns[i])
				h, hok := value(headRuns[i])
				if bok && hok {
					s.base, s.head = append(s.base, b), append(s.head, h)
				}
			}
		} else {
			s.base, s.head = values(baseRuns, value), values(headRuns, value)
		}
		row := Row{Variant: variant, Stream: stream, Phase: phase, Metric: m.metric, Relative: m.relative, Gated: cfg.gate(phase),
			Base: median(s.base), Head: median(s.head), NBase: len(s.base), NHead: len(s.head),
			N: min(len(s.base), len(s.head)), Est: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
		r.Rows = append(r.Rows, row)
		r.estimateRow(m, s)
	}
}

func values(runs []*results.Variant, value func(*results.Variant) (float64, bool)) []float64 {
	var xs []float64
	for _, v := range runs {
		if x, ok := value(v); ok {
			xs = append(xs, x)
		}
	}
	return xs
}

// estimateRow decides whether the last row can be judged and, when it can,
// queues its estimate for judge.
func (r *Report) estimateRow(m metricSpec, s sample) {
	row := &r.Rows[len(r.Rows)-1]
	unit := "runs a side"
	if s.paired {
		unit = "paired rounds"
	}
	if row.N < MinRuns {
		row.Change = ChangeInsufficient
		row.Why = fmt.Sprintf("%d of %d %s needed", row.N, MinRuns, unit)
		if row.N == 1 {
			row.Why = fmt.Sprintf("1 run a side: run-to-run noise unknown; needs %d %s", MinRuns, unit)
		}
		return
	}
	if m.relative {
		zeros := 0
		for _, v := range append(append([]float64(nil), s.base...), s.head...) {
			if v <= 0 {
				zeros++
			}
		}
		switch zeros {
		case 0:
		case len(s.base) + len(s.head):
			// Nothing on either side, e.g. no successes during a partition
			// in every run: no change, but no ratio to estimate either.
			row.Change, row.Est, row.Lo, row.Hi = ChangeNone, 1, 1, 1
			return
		default:
			row.Change = ChangeNotJudged
			row.Why = "zero in some run: no ratio"
			return
		}
	}
	e, _ := estimateOf(s, m.relative)
	r.pending = append(r.pending, pendingRow{row: len(r.Rows) - 1, spec: m, est: e})
}

// judge gives every estimated row its bounds, once the number of rows in
// each family is known, and its Change.
func (r *Report) judge(cfg *config) {
	r.Estimated = len(r.pending)
	for _, p := range r.pending {
		if r.Rows[p.row].Gated {
			r.GateFamily++
		}
	}
	for _, p := range r.pending {
		row := &r.Rows[p.row]
		lo, hi, why := p.est.bounds(r.BoundLevel(row.Gated))
		row.Est, row.Lo, row.Hi = p.est.mean, lo, hi
		row.Change = p.spec.judge(lo, hi, cfg.thresholds)
		if why != "" {
			// Counted in its family all the same: whether a row can be
			// bounded must not change the level of the others.
			row.Change, row.Why = ChangeInsufficient, why
		}
		if p.spec.relative {
			row.Est, row.Lo, row.Hi = math.Exp(row.Est), math.Exp(lo), math.Exp(hi)
		}
	}
	r.pending = nil
}

// BoundLevel is the chance that one bound of a gated (or reported) row
// misses its true value: Alpha, divided among the gate's rows (or among all
// rows) when the report is corrected.
func (r *Report) BoundLevel(gated bool) float64 {
	family := r.Estimated
	if gated {
		family = r.GateFamily
	}
	if !r.Corrected || family < 2 {
		return r.Alpha
	}
	return r.Alpha / float64(family)
}

// judge decides a row from its interval on the estimation scale (log ratio
// or difference): a regression or an improvement needs the whole interval
// beyond the threshold. For ratios the threshold is symmetric on the log
// scale: latency ×1.10 is a regression, ×1/1.10 an improvement; throughput
// ×0.95 a regression, ×1/0.95 an improvement.
func (m metricSpec) judge(lo, hi float64, t Thresholds) Change {
	margin := m.margin(t)
	worse, better := lo > margin, hi < -margin
	if m.higherIsBetter {
		worse, better = hi < -margin, lo > margin
	}
	switch {
	case worse:
		return ChangeRegression
	case better:
		return ChangeImprovement
	}
	return ChangeNone
}

// margin is how far from no change, on the estimation scale (log ratio or
// difference), an interval must lie to count: the threshold, symmetric on
// the log scale for ratios.
func (m metricSpec) margin(t Thresholds) float64 {
	th := m.threshold(t)
	if !m.relative {
		return th
	}
	if m.higherIsBetter {
		return -math.Log1p(-th) // +Inf for a drop of 100 % or more: never
	}
	return math.Log1p(th)
}

// checkKey names a check within a variant: the n-th check of that stream,
// phase and expectation.
type checkKey struct {
	stream, phase, expect string
	nth                   int
}

// checkKeys lists v's checks in order with their keys.
func checkKeys(v *results.Variant) ([]checkKey, map[checkKey]*results.CheckResult) {
	byKey := map[checkKey]*results.CheckResult{}
	if v == nil {
		return nil, byKey
	}
	keys := make([]checkKey, 0, len(v.Checks))
	for i, c := range v.Checks {
		k := checkKey{c.Stream, c.Phase, c.Expect, 0}
		for byKey[k] != nil {
			k.nth++
		}
		keys = append(keys, k)
		byKey[k] = &v.Checks[i]
	}
	return keys, byKey
}

// compareChecks pairs the checks of a variant by key and counts the runs of
// each side in which each passed.
func (r *Report) compareChecks(cfg *config, bv, hv *results.Variant, baseRuns, headRuns []*results.Variant) {
	count := func(runs []*results.Variant, k checkKey) (passed, n int, observed float64) {
		var obs []float64
		for _, v := range runs {
			if _, byKey := checkKeys(v); byKey[k] != nil {
				n++
				if byKey[k].Pass {
					passed++
				}
				obs = append(obs, byKey[k].Observed)
			}
		}
		return passed, n, median(obs)
	}
	baseOrder, baseKeys := checkKeys(bv)
	headOrder, headKeys := checkKeys(hv)
	for _, k := range baseOrder {
		bc := baseKeys[k]
		if !cfg.phases(bc.Phase) {
			continue
		}
		if headKeys[k] == nil {
			r.OnlyInBase = append(r.OnlyInBase, describeCheck(bv.Name, *bc))
			continue
		}
		row := CheckRow{Variant: bv.Name, Stream: bc.Stream, Phase: bc.Phase, Expect: bc.Expect, Metric: bc.Metric, Change: ChangeNone}
		row.BasePassed, row.BaseRuns, row.BaseObserved = count(baseRuns, k)
		row.HeadPassed, row.HeadRuns, row.HeadObserved = count(headRuns, k)
		row.BasePass, row.HeadPass = row.BasePassed == row.BaseRuns, row.HeadPassed == row.HeadRuns
		baseMostlyFails := 2*(row.BaseRuns-row.BasePassed) > row.BaseRuns
		headMostlyFails := 2*(row.HeadRuns-row.HeadPassed) > row.HeadRuns
		switch {
		case row.BasePass && headMostlyFails:
			row.Change = ChangeRegression
		case baseMostlyFails && row.HeadPass:
			row.Change = ChangeImprovement
		}
		r.Checks = append(r.Checks, row)
	}
	for _, k := range headOrder {
		if hc := headKeys[k]; baseKeys[k] == nil && cfg.phases(hc.Phase) {
			r.OnlyInHead = append(r.OnlyInHead, describeCheck(hv.Name, *hc))
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
		if !row.Gated {
			continue // a lead, not a verdict
		}
		switch row.Change {
		case ChangeRegression:
			regressions++
		case ChangeImprovement:
			improvements++
		}
		if row.Why == "" {
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
