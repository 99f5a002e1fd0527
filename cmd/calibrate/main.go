// Command calibrate measures the regression gate itself on the machine it
// runs on (make calibrate): how often a duet of identical sides (A/A) fails
// — the false-alarm rate — and how often it catches a planted slowdown of
// GET (handler_delay sized to a fraction of the measured GET p50). Every
// count is a flag: a full calibration (20 A/A and 20 per planted size)
// takes hours on a 2-core machine; the figures it prints, with the load
// average, belong in docs/PERFORMANCE.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/loadlab/loadlab/harness/duet"
	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/reports/compare"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// gate is the outcome of one duet gate.
type gate struct {
	Kind  string        `json:"kind"` // "A/A" or "+10%" etc.
	Delay time.Duration `json:"delay_ns,omitempty"`
	// SizedFromMs is the GET p50 the delay is a fraction of: the previous
	// gate's base side's.
	SizedFromMs float64  `json:"sized_from_ms,omitempty"`
	Verdict     string   `json:"verdict"`
	Failed      bool     `json:"failed"` // the gate would fail the build (exit 1)
	GetP50      []string `json:"get_p50_rows"`
	Ratio       float64  `json:"get_p50_ratio,omitempty"` // the first GET stream's whole-run p50 head/base
	// ShiftMs is the first GET stream's median over rounds of head − base
	// whole-run p50, in ms: what a planted delay added to the p50, seen
	// from the client rather than taken from the setting.
	ShiftMs   float64       `json:"get_p50_shift_ms,omitempty"`
	Took      time.Duration `json:"took_ns"`
	LoadStart string        `json:"loadavg_start"`
	LoadEnd   string        `json:"loadavg_end"`
	Err       string        `json:"error,omitempty"`
	// Rounds keeps every round's whole-run GET p50 of both sides, so that
	// other rules (fewer rounds, another interval) can be judged afterwards
	// on the same gates.
	Rounds  []roundP50 `json:"rounds,omitempty"`
	baseP50 float64    // median whole-run GET p50 of the base side, ms
}

// roundP50 is one round's whole-run p50 of one GET stream on both sides.
type roundP50 struct {
	Stream   string  `json:"stream"` // variant/stream
	BaseMs   float64 `json:"base_ms"`
	HeadMs   float64 `json:"head_ms"`
	BaseSlot int     `json:"base_slot"`
	First    string  `json:"first"`
}

func main() {
	var (
		name    = flag.String("scenario", "partition", "scenario of the gate (quick mode)")
		variant = flag.String("variant", "", "run only this variant of the scenario (default: all)")
		aa      = flag.Int("aa", 20, "A/A gates (the same image on both sides)")
		planted = flag.Int("planted", 20, "gates per planted slowdown")
		sizes   = flag.String("sizes", "0.10,0.30", "planted slowdowns of the GET p50, as fractions")
		rounds  = flag.Int("rounds", duet.DefaultRounds, "rounds per gate")
		getP50  = flag.Float64("get-p50", 0, "GET p50 in ms to size the slowdowns by (default: measured by the A/A gates, or one extra gate)")
		out     = flag.String("out", "results/calibrate", "directory for calibrate.json")
		scale   = flag.Float64("scale", 1, "scale each quick round's timeline by this factor (to measure other round lengths)")
		keep    = flag.Bool("keep", false, "also write every gate's per-round results (OUT/<time>/gate-NN/{base,head}/round-NN), to judge other rules on the same gates with loadlab compare --paired")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(ctx, log, *name, *variant, *aa, *planted, *sizes, *rounds, *getP50, *scale, *keep, *out); err != nil {
		fmt.Fprintln(os.Stderr, "calibrate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, name, variant string, aa, planted int, sizeList string, rounds int, p50, scale float64, keep bool, out string) error {
	var fractions []float64
	for _, f := range strings.Split(sizeList, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(v > 0) {
			return fmt.Errorf("-sizes: %q is not a positive fraction", f)
		}
		fractions = append(fractions, v)
	}
	sc, err := scenarios.Lookup(name)
	if err != nil {
		return err
	}
	if variant != "" {
		if sc, err = sc.Only(variant); err != nil {
			return err
		}
	}
	sc = sc.QuickRound()
	if scale != 1 {
		sc = sc.Scaled(scale)
	}
	env.Prepare()
	imgs := images.FromEnv(images.Default)
	if _, err := images.Ensure(ctx, imgs); err != nil {
		return err
	}
	same := duet.Side{Spec: imgs.Backend, Image: imgs.Backend}
	label := sc.Name
	if variant != "" {
		label += " (variant " + variant + ")"
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	path := filepath.Join(out, "calibrate-"+stamp+".json")
	var gates []gate
	var saveErr error
	// keepDir is where the next gate's rounds go ("": not kept); the gates
	// are numbered as in calibrate-<time>.json.
	keepDir := func() string {
		if !keep {
			return ""
		}
		return filepath.Join(out, stamp, fmt.Sprintf("gate-%02d", len(gates)+1))
	}
	report := func(g gate) {
		gates = append(gates, g)
		fmt.Fprintf(os.Stderr, "%-5s gate %2d: %-22s fails=%-5v took %-6s load %s → %s  GET p50 rows: %s %s\n",
			g.Kind, len(gates), g.Verdict, g.Failed, g.Took.Round(time.Second), g.LoadStart, g.LoadEnd, strings.Join(g.GetP50, "; "), g.Err)
		// Every gate is saved as it ends: a calibration takes hours, and
		// one stopped half-way keeps what it measured.
		saveErr = save(path, gates)
	}
	// The planted delays are sized from the GET p50: given, or measured by
	// a first A/A gate (counted among the A/A gates when there are any).
	if p50 == 0 && planted > 0 && len(fractions) > 0 {
		// A gate that failed to run (a busy machine can keep a side from
		// starting) measured nothing: try again, a few times.
		for try := 0; try < 3 && !(p50 > 0) && ctx.Err() == nil; try++ {
			g := runGate(ctx, log, sc, "A/A", same, same, rounds, keepDir())
			report(g)
			if aa > 0 && g.Err == "" {
				aa--
			}
			p50 = g.baseP50
		}
		if !(p50 > 0) {
			summarize(os.Stdout, path, label, rounds, p50, gates)
			return fmt.Errorf("the first gate measured no GET p50 to size the slowdowns by: pass -get-p50")
		}
	}
	// The kinds take turns (A/A, +10%, +30%, A/A, …) rather than running
	// in blocks, so that the machine's load over the hours a calibration
	// takes weighs on every kind alike, and a calibration stopped early has
	// counted each kind about as often.
	//
	// A planted delay is a fraction of the GET p50 the previous gate's base
	// side measured (the base side is never planted): the p50 drifts with
	// what else the machine does, and a delay sized once, hours before,
	// planted "+30 %" that measured as +25 % once the machine got busier.
	type kind struct {
		name     string
		n        int
		fraction float64 // of the GET p50; 0 for A/A
	}
	kinds := []kind{{name: "A/A", n: aa}}
	for _, f := range fractions {
		kinds = append(kinds, kind{fmt.Sprintf("+%g%%", math.Round(1000*f)/10), planted, f})
	}
	for turn := 0; ctx.Err() == nil; turn++ {
		ran := false
		for _, k := range kinds {
			if turn >= k.n || ctx.Err() != nil {
				continue
			}
			ran = true
			head := same
			delay := time.Duration(k.fraction * p50 * float64(time.Millisecond)).Round(time.Microsecond)
			if delay > 0 {
				d := delay.String()
				head = duet.Side{Spec: "handler_delay=" + d, Image: imgs.Backend, Settings: map[string]string{"handler_delay": d}}
			}
			g := runGate(ctx, log, sc, k.name, same, head, rounds, keepDir())
			if ctx.Err() != nil {
				break // stopped mid-gate: a cut-short duet is not a measurement
			}
			if delay > 0 {
				g.Delay, g.SizedFromMs = delay, p50
			}
			report(g)
			if g.baseP50 > 0 {
				p50 = g.baseP50
			}
		}
		if !ran {
			break
		}
	}
	summarize(os.Stdout, path, label, rounds, p50, gates)
	return saveErr
}

// runGate runs one quick duet gate and judges it as `loadlab ab` does.
// With keep set, every round's results of both sides are written there.
func runGate(ctx context.Context, log *slog.Logger, sc *scenarios.Scenario, kind string, base, head duet.Side, rounds int, keep string) gate {
	g := gate{Kind: kind, LoadStart: loadavg(), baseP50: math.NaN()}
	start := time.Now()
	o, err := duet.Run(ctx, sc, base, head, duet.WithRounds(rounds), duet.WithLogger(log), duet.WithQuick(true))
	g.Took, g.LoadEnd = time.Since(start), loadavg()
	if err != nil {
		g.Err, g.Verdict = err.Error(), "error"
		return g
	}
	if keep != "" {
		for i := range o.Base {
			round := fmt.Sprintf("round-%02d", i+1)
			if err := errors.Join(results.Write(filepath.Join(keep, "base", round), o.Base[i]), results.Write(filepath.Join(keep, "head", round), o.Head[i])); err != nil {
				g.Err, g.Verdict = err.Error(), "error"
				return g
			}
		}
	}
	rep, err := compare.CompareRuns(o.Base, o.Head, compare.WithPaired(true))
	if err != nil {
		g.Err, g.Verdict = err.Error(), "error"
		return g
	}
	g.Verdict, g.Failed = string(rep.Verdict), rep.Regressed()
	var p50s []float64
	for _, row := range rep.Rows {
		if row.Metric == compare.MetricP50 && row.Phase == "whole" && isGet(o.Base[0], row.Variant, row.Stream) {
			g.GetP50 = append(g.GetP50, fmt.Sprintf("%s/%s ×%.3f [%.3f, %.3f] %s", row.Variant, row.Stream, row.Est, row.Lo, row.Hi, row.Change))
			if g.Ratio == 0 {
				g.Ratio = row.Est
			}
			p50s = append(p50s, row.Base)
		}
	}
	g.baseP50 = median(p50s)
	var shifts []float64
	for i, round := range o.Rounds {
		rs := roundsOf(o.Base[i], o.Head[i], round)
		g.Rounds = append(g.Rounds, rs...)
		if len(rs) > 0 {
			shifts = append(shifts, rs[0].HeadMs-rs[0].BaseMs)
		}
	}
	if len(shifts) > 0 {
		g.ShiftMs = median(shifts)
	}
	return g
}

// roundsOf lists the whole-run p50 of every GET stream of one round.
func roundsOf(base, head *results.Results, round duet.Round) []roundP50 {
	var out []roundP50
	for _, bv := range base.Variants {
		hv := head.Variant(bv.Name)
		for _, bs := range bv.Streams {
			if bs.Method != "GET" || hv == nil {
				continue
			}
			for _, hs := range hv.Streams {
				if hs.Name != bs.Name {
					continue
				}
				b, bok := wholeP50(bs)
				h, hok := wholeP50(hs)
				if bok && hok {
					out = append(out, roundP50{Stream: bv.Name + "/" + bs.Name, BaseMs: b, HeadMs: h, BaseSlot: round.BaseSlot, First: round.First})
				}
			}
		}
	}
	return out
}

func wholeP50(s results.Stream) (float64, bool) {
	for _, p := range s.Phases {
		if p.Phase == compare.GatePhase && p.Requests > 0 {
			return p.Latency.P50, true
		}
	}
	return 0, false
}

// isGet reports whether the stream of that variant sends GETs.
func isGet(r *results.Results, variant, stream string) bool {
	if v := r.Variant(variant); v != nil {
		for _, s := range v.Streams {
			if s.Name == stream {
				return s.Method == "GET"
			}
		}
	}
	return false
}

func summarize(w io.Writer, path, scenario string, rounds int, p50 float64, gates []gate) {
	kinds := []string{}
	for _, g := range gates {
		if !slices.Contains(kinds, g.Kind) {
			kinds = append(kinds, g.Kind)
		}
	}
	fmt.Fprintf(w, "calibration of the %s quick gate, %d rounds per gate; planted delays sized from the previous gate's base GET p50 (first: %.2f ms)\n\n", scenario, rounds, p50)
	fmt.Fprintln(w, "| gates | planted | delivered (p50 shift ÷ delay, median) | measured GET p50 ratio | failed the gate | errors | median time per gate | load average (1 min) range |")
	fmt.Fprintln(w, "|---|---|---:|---|---:|---:|---:|---|")
	for _, k := range kinds {
		var n, failed, errs int
		var took, loads, delays, ratios, delivered []float64
		for _, g := range gates {
			if g.Kind != k {
				continue
			}
			n++
			if g.Delay > 0 {
				delays = append(delays, float64(g.Delay.Microseconds())/1000)
			}
			for _, l := range []string{g.LoadStart, g.LoadEnd} {
				if v, err := strconv.ParseFloat(l, 64); err == nil {
					loads = append(loads, v)
				}
			}
			if g.Err != "" {
				errs++
				continue
			}
			if g.Failed {
				failed++
			}
			took = append(took, g.Took.Seconds())
			if g.Ratio > 0 {
				ratios = append(ratios, g.Ratio)
			}
			if g.Delay > 0 && len(g.Rounds) > 0 { // rounds measured: ShiftMs too, even a shift of 0
				delivered = append(delivered, g.ShiftMs/(float64(g.Delay.Microseconds())/1000))
			}
		}
		planted := "none (A/A)"
		if len(delays) > 0 {
			planted = fmt.Sprintf("handler_delay %.3f–%.3f ms", slices.Min(delays), slices.Max(delays))
		}
		measured := "—"
		if len(ratios) > 0 {
			measured = fmt.Sprintf("×%.2f–×%.2f (median ×%.2f)", slices.Min(ratios), slices.Max(ratios), median(ratios))
		}
		share := "—"
		if len(delivered) > 0 {
			// A plant that burns CPU, or wakes the head's scheduler, delivers
			// less than its delay (a spin of its last 2 ms delivered 26–76 %).
			share = fmt.Sprintf("%.0f %%", 100*median(delivered))
		}
		fmt.Fprintf(w, "| %s ×%d | %s | %s | %s | %d of %d | %d | %.0f s | %.1f–%.1f |\n", k, n, planted, share, measured, failed, n-errs, errs, median(took), slices.Min(append(loads, math.Inf(1))), slices.Max(append(loads, math.Inf(-1))))
	}
	fmt.Fprintf(w, "\nevery gate: %s\n", path)
}

// save writes every gate so far to path.
func save(path string, gates []gate) error {
	data, err := json.MarshalIndent(gates, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// loadavg is the 1-minute load average, "?" when unknown.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}
