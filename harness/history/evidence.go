package history

import (
	"cmp"
	"container/heap"
	"fmt"
	"math"
	"slices"

	"github.com/loadlab/loadlab/reports/results"
)

// kindOrder is the order of examples in results: the worst first.
var kindOrder = []string{KindLostWrite, KindImpossibleRead, KindStaleRead, KindVersionRegression, KindUnconverged}

// cause is what examples are kept per: a kind of anomaly and its reason
// (an impossible read's value may be never written or only refused: both
// deserve their evidence).
type cause struct{ kind, reason string }

// evidence keeps the earliest maxExamples anomalies of each kind and
// reason as examples, and draws the timelines of the first anomalous keys.
func evidence(ops []Op, all []Anomaly, cfg *checkConfig) ([]results.OpExample, []results.KeyTimeline) {
	byCause := map[cause]*examples{}
	var causes []cause
	for i := range all {
		a := &all[i]
		c := cause{a.Kind, a.Reason}
		if byCause[c] == nil {
			byCause[c] = &examples{n: cfg.maxExamples}
			causes = append(causes, c)
		}
		byCause[c].offer(int32(i), anomalyTime(ops, a))
	}
	slices.SortFunc(causes, func(a, b cause) int {
		if d := slices.Index(kindOrder, a.kind) - slices.Index(kindOrder, b.kind); d != 0 {
			return d
		}
		return cmp.Compare(a.reason, b.reason)
	})
	var xs []results.OpExample
	sorted := make([][]int32, len(causes))
	for j, c := range causes {
		sorted[j] = byCause[c].sorted()
		for _, i := range sorted[j] {
			xs = append(xs, example(cfg, ops, &all[i]))
		}
	}
	// Timelines take the earliest anomaly of each cause in turn, so that
	// every cause found gets drawn before any gets a second one.
	var tls []results.KeyTimeline
	drawn := map[uint32]bool{}
	for round, more := 0, true; more && len(tls) < cfg.timelines; round++ {
		more = false
		for _, list := range sorted {
			if round >= len(list) || len(tls) == cfg.timelines {
				continue
			}
			more = true
			if a := &all[list[round]]; !drawn[a.Key] {
				drawn[a.Key] = true
				tls = append(tls, timeline(ops, a))
			}
		}
	}
	return xs, tls
}

// anomalyTime places an anomaly in time: its op's invocation; for the
// final state, the last write it concerns.
func anomalyTime(ops []Op, a *Anomaly) int64 {
	switch {
	case a.Op >= 0:
		return ops[a.Op].InvokeNs
	case a.Witness >= 0:
		return ops[a.Witness].InvokeNs
	}
	return math.MaxInt64
}

// examples keeps the n earliest anomalies in O(n) memory.
type examples struct {
	n     int
	kept  []int32
	times []int64
}

func (x *examples) offer(i int32, at int64) {
	if x.n == 0 {
		return
	}
	if len(x.kept) < x.n {
		x.kept, x.times = append(x.kept, i), append(x.times, at)
		return
	}
	latest := 0 // n is small: a linear scan beats a heap's bookkeeping
	for j := range x.times {
		if x.times[j] > x.times[latest] {
			latest = j
		}
	}
	if at < x.times[latest] {
		x.kept[latest], x.times[latest] = i, at
	}
}

func (x *examples) sorted() []int32 {
	order := make([]int, len(x.kept))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if x.times[a] != x.times[b] {
			return cmp.Compare(x.times[a], x.times[b])
		}
		return cmp.Compare(int64(x.kept[a]), int64(x.kept[b]))
	})
	out := make([]int32, len(order))
	for i, j := range order {
		out[i] = x.kept[j]
	}
	return out
}

func seconds(ns int64) float64 { return float64(ns) / 1e9 }

// ref describes op i (or SeedOp, FinalOp) as evidence.
func ref(cfg *checkConfig, ops []Op, i int32, key uint32) *results.OpRef {
	switch i {
	case NoOp:
		return nil
	case SeedOp:
		return &results.OpRef{Op: "seed write", Value: SeedValue(key).String(), Outcome: "ok", InvokeS: -1, CompleteS: -1}
	case FinalOp:
		return &results.OpRef{Op: "final read", Value: "", InvokeS: math.Inf(1)}
	}
	op := &ops[i]
	r := &results.OpRef{
		Op: "read", Stream: cfg.stream(op.Stream), Value: op.Value.String(), Outcome: op.Outcome.String(),
		Code: int(op.Code), Source: op.Source.String(), InvokeS: seconds(op.InvokeNs), CompleteS: seconds(op.CompleteNs),
	}
	if op.Write {
		r.Op = "write"
	}
	if op.Version != NoVersion {
		r.Version = op.Version
	}
	return r
}

func example(cfg *checkConfig, ops []Op, a *Anomaly) results.OpExample {
	x := results.OpExample{Kind: a.Kind, Key: KeyName(a.Key), Value: a.Value.String(), Reason: a.Reason,
		Returned: ref(cfg, ops, a.Wrote, a.Key), Witness: ref(cfg, ops, a.Witness, a.Key)}
	if x.Witness != nil && a.Witness == FinalOp {
		x.Witness.Value = a.Value.String()
		x.Witness.InvokeS, x.Witness.CompleteS = 0, 0
	}
	var op *Op
	if a.Op >= 0 {
		op = &ops[a.Op]
		x.Stream, x.Source = cfg.stream(op.Stream), op.Source.String()
		x.Value = op.Value.String() // a write's own value; a read's is a.Value
		x.InvokeS, x.CompleteS = seconds(op.InvokeNs), seconds(op.CompleteNs)
		if op.Version != NoVersion {
			x.Version = op.Version
		}
	} else {
		x.Stream = "final state"
	}
	if x.Witness != nil {
		x.Expected = x.Witness.Version
	}
	x.Explanation = explain(a, &x, op)
	return x
}

func explain(a *Anomaly, x *results.OpExample, op *Op) string {
	returned := "nil (no value)"
	if r := x.Returned; r != nil {
		returned = fmt.Sprintf("%s, the value of the %s %s", x.Value, r.Op, when(r))
	} else if a.Value != NoValue {
		returned = x.Value
	}
	switch a.Kind {
	case KindStaleRead:
		return fmt.Sprintf("read of %s %s returned %s; but the %s of %s %s began after that and was acknowledged before the read began",
			x.Key, span(x.InvokeS, x.CompleteS), returned, x.Witness.Op, x.Witness.Value, when(x.Witness))
	case KindImpossibleRead:
		what := "read of " + x.Key + " " + span(x.InvokeS, x.CompleteS)
		if op == nil {
			what = "the final state of " + x.Key
		}
		return fmt.Sprintf("%s returned %s: a value %s", what, returned, a.Reason)
	case KindLostWrite:
		return fmt.Sprintf("write of %s to %s %s was acknowledged (HTTP %d), but after settling the store holds %s, which completed before this write began: the write was lost",
			x.Value, x.Key, span(x.InvokeS, x.CompleteS), op.Code, returnedFinal(a, x))
	case KindVersionRegression:
		return fmt.Sprintf("%s of %s %s carried X-Version %d, below the X-Version %d of the %s %s, which completed before it began",
			opName(op), x.Key, span(x.InvokeS, x.CompleteS), x.Version, x.Witness.Version, x.Witness.Op, when(x.Witness))
	case KindUnconverged:
		if x.Returned == nil && a.Value == NoValue && a.Witness == NoOp {
			return fmt.Sprintf("%s: %s", x.Key, a.Reason)
		}
		return fmt.Sprintf("%s still held %s behind its acknowledged writes, but %s: unconverged, not counted lost", x.Key, returnedFinal(a, x), a.Reason)
	}
	return a.Kind
}

func returnedFinal(a *Anomaly, x *results.OpExample) string {
	if r := x.Returned; r != nil {
		return fmt.Sprintf("%s (the %s %s)", a.Value, r.Op, when(r))
	}
	return a.Value.String()
}

func opName(op *Op) string {
	if op != nil && op.Write {
		return "write"
	}
	return "read"
}

func span(from, to float64) string { return fmt.Sprintf("[%.3fs, %.3fs]", from, to) }

func when(r *results.OpRef) string {
	switch r.Op {
	case "seed write":
		return "before the load"
	case "final read":
		return "after settling"
	}
	s := span(r.InvokeS, r.CompleteS)
	if r.Outcome != "ok" {
		s += " (" + r.Outcome + ")"
	}
	return s
}

// timelineWindow bounds a timeline: the ops on the key from this long
// before the anomaly to a quarter of it after, at most timelineOps of them.
const (
	timelineBefore = int64(1500e6)
	timelineAfter  = int64(400e6)
	timelineOps    = 60
)

// timeline draws the ops on a's key around a: one lane per client.
func timeline(ops []Op, a *Anomaly) results.KeyTimeline {
	at := anomalyTime(ops, a)
	if at == math.MaxInt64 {
		at = 0
		for i := range ops {
			if ops[i].Key == a.Key {
				at = max(at, ops[i].CompleteNs)
			}
		}
	}
	from, to := at-timelineBefore, at+timelineAfter
	if a.Op >= 0 {
		to = max(to, ops[a.Op].CompleteNs+timelineAfter/4)
	}
	var near []int32
	for i := range ops {
		op := &ops[i]
		if op.Key == a.Key && op.CompleteNs >= from && op.InvokeNs <= to || int32(i) == a.Wrote || int32(i) == a.Witness {
			near = append(near, int32(i))
		}
	}
	if len(near) > timelineOps {
		// Keep the ops closest to the anomaly, and its evidence.
		slices.SortFunc(near, func(x, y int32) int {
			return cmp.Compare(abs(ops[x].InvokeNs-at), abs(ops[y].InvokeNs-at))
		})
		near = near[:timelineOps]
		for _, must := range []int32{a.Op, a.Wrote, a.Witness} {
			if must >= 0 && !slices.Contains(near, must) {
				near = append(near, must)
			}
		}
	}
	slices.SortFunc(near, func(x, y int32) int { return cmp.Compare(ops[x].InvokeNs, ops[y].InvokeNs) })
	tl := results.KeyTimeline{Key: KeyName(a.Key), Kind: a.Kind, FromS: seconds(from), ToS: seconds(to)}
	lanes := Lanes(ops, near, false)
	for j, i := range near {
		op := &ops[i]
		mark := ""
		switch i {
		case a.Op:
			mark = a.Kind
		case a.Wrote:
			mark = "returned"
		case a.Witness:
			mark = "witness"
		}
		tl.FromS, tl.ToS = min(tl.FromS, seconds(op.InvokeNs)), max(tl.ToS, seconds(op.CompleteNs))
		tl.Ops = append(tl.Ops, results.TimelineOp{
			Lane: lanes[j], Write: op.Write, Value: op.Value.String(), Outcome: op.Outcome.String(),
			InvokeS: seconds(op.InvokeNs), CompleteS: seconds(op.CompleteNs), Anomaly: mark,
		})
	}
	return tl
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// Lanes assigns each op of idx (ordered by invocation) a client: the lane
// free longest, or a new one, so that no two ops of a lane overlap, as a
// Jepsen process performs one op at a time. With retire, a lane whose op
// had an unknown outcome is never used again (Jepsen's crashed process:
// its op may still be in flight).
func Lanes(ops []Op, idx []int32, retire bool) []int {
	out := make([]int, len(idx))
	free := &laneHeap{}
	n := 0
	for j, i := range idx {
		op := &ops[i]
		if free.Len() > 0 && (*free)[0].at < op.InvokeNs {
			l := heap.Pop(free).(lane)
			out[j] = l.id
		} else {
			out[j] = n
			n++
		}
		if !(retire && op.Outcome == Unknown) {
			heap.Push(free, lane{at: op.CompleteNs, id: out[j]})
		}
	}
	return out
}

type lane struct {
	at int64
	id int
}

type laneHeap []lane

func (h laneHeap) Len() int { return len(h) }
func (h laneHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].id < h[j].id
}
func (h laneHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *laneHeap) Push(x any)   { *h = append(*h, x.(lane)) }
func (h *laneHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
