package history

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/loadlab/loadlab/reports/results"
)

// DefaultMaxExamples is how many examples of each kind Check keeps.
const DefaultMaxExamples = 10

// Example kinds of results.OpExample.
const (
	KindLostWrite = "lost_write"
	KindStaleRead = "stale_read"
)

// Option configures Check.
type Option func(*checkConfig)

type checkConfig struct {
	maxExamples int
	streams     []string
}

// WithMaxExamples keeps at most n examples of each kind (default 10; 0: none).
func WithMaxExamples(n int) Option {
	return func(c *checkConfig) {
		if n >= 0 {
			c.maxExamples = n
		}
	}
}

// WithStreamNames names the streams of Op.Stream, by index, in examples.
func WithStreamNames(names []string) Option {
	return func(c *checkConfig) { c.streams = names }
}

func (c *checkConfig) stream(i uint8) string {
	if int(i) < len(c.streams) {
		return c.streams[i]
	}
	return "stream " + strconv.Itoa(int(i))
}

// event is an acknowledged operation placed on its key's timeline. A write
// takes effect, for the readers that come after it, when it completes; a
// read observes the store from when it was invoked. Sorting by (key, at,
// write) therefore puts before each read exactly the writes acknowledged
// before it began — a write completing at the very instant a read is
// invoked sorts after it and does not count, as the definition is strict.
type event struct {
	at    int64 // CompleteNs of a write, InvokeNs of a read
	key   uint32
	idx   int32 // index into ops
	write bool
}

func compareEvents(a, b event) int {
	switch {
	case a.key != b.key:
		if a.key < b.key {
			return -1
		}
		return 1
	case a.at != b.at:
		if a.at < b.at {
			return -1
		}
		return 1
	case a.write != b.write:
		if !a.write {
			return -1
		}
		return 1
	}
	return 0
}

// sortEvents orders events by (key, at, write). Keys of a load run are dense
// small indices, so it first distributes the events by key in one counting
// pass, then sorts each key's timeline, which arrives almost in order: far
// cheaper than one comparison sort over everything. Sparse keys fall back
// to that one sort.
func sortEvents(events []event, maxKey uint32) []event {
	if len(events) == 0 {
		return events
	}
	if uint64(maxKey) >= 4*uint64(len(events))+1024 {
		slices.SortFunc(events, compareEvents)
		return events
	}
	starts := make([]int, int(maxKey)+2)
	for _, e := range events {
		starts[e.key+1]++
	}
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	sorted := make([]event, len(events))
	next := slices.Clone(starts[:len(starts)-1])
	for _, e := range events {
		sorted[next[e.key]] = e
		next[e.key]++
	}
	for k := 0; k+1 < len(starts); k++ {
		if group := sorted[starts[k]:starts[k+1]]; len(group) > 1 {
			slices.SortFunc(group, compareEvents)
		}
	}
	return sorted
}

// Check analyses a run's operations against the store's final state after
// settling (final: key index → version; a missing key is version 0).
//
//   - A lost write is an acknowledged write (Outcome OK) whose version is
//     above the final version of its key: the store forgot it.
//   - A stale read is an OK read returning version v when some write to the
//     same key with a version above v had been acknowledged before the read
//     was invoked (w.CompleteNs < r.InvokeNs). A read overlapping the write
//     may legitimately see either version and is not stale.
//
// Writes with an unknown outcome are never lost: they may not have happened.
// Check fills the counts, the two anomalies, the stale ratio over OK reads
// and a few examples of each (the earliest, by invocation time); the caller
// fills ConvergenceS and Converged. It sorts once and scans once, so it
// checks millions of operations per second.
func Check(ops []Op, final map[uint32]int64, opts ...Option) results.History {
	cfg := checkConfig{maxExamples: DefaultMaxExamples}
	for _, o := range opts {
		o(&cfg)
	}
	var h results.History
	h.Operations = int64(len(ops))

	keys := newKeySet()
	var okReads int64
	events := make([]event, 0, len(ops))
	for i := range ops {
		op := &ops[i]
		keys.add(op.Key)
		if op.Outcome == Unknown {
			h.Unknown++
		}
		if op.Write {
			h.Writes++
			if op.Outcome == OK {
				h.AckedWrites++
				events = append(events, event{at: op.CompleteNs, key: op.Key, idx: int32(i), write: true})
			}
		} else {
			h.Reads++
			if op.Outcome == OK {
				okReads++
				events = append(events, event{at: op.InvokeNs, key: op.Key, idx: int32(i)})
			}
		}
	}
	h.Keys = keys.len()
	events = sortEvents(events, keys.max)

	lost := newExamples(cfg.maxExamples)
	stale := newExamples(cfg.maxExamples)
	for start := 0; start < len(events); {
		key := events[start].key
		finalV := final[key]
		var newest int64 // highest version acknowledged so far on this key
		newestIdx := int32(-1)
		end := start
		for ; end < len(events) && events[end].key == key; end++ {
			e := events[end]
			op := &ops[e.idx]
			if e.write {
				if op.Version > newest {
					newest, newestIdx = op.Version, e.idx
				}
				if op.Version > finalV {
					h.LostWrites++
					lost.offer(offence{idx: e.idx, expected: finalV, witness: -1}, op.InvokeNs)
				}
				continue
			}
			if op.Version < newest {
				h.StaleReads++
				stale.offer(offence{idx: e.idx, expected: newest, witness: newestIdx}, op.InvokeNs)
			}
		}
		start = end
	}
	if okReads > 0 {
		h.StaleRatio = float64(h.StaleReads) / float64(okReads)
	}
	for _, o := range lost.sorted(ops) {
		h.Examples = append(h.Examples, lostExample(&cfg, ops, o))
	}
	for _, o := range stale.sorted(ops) {
		h.Examples = append(h.Examples, staleExample(&cfg, ops, o))
	}
	return h
}

// offence is one anomalous operation and what contradicts it.
type offence struct {
	idx      int32 // the op
	expected int64 // final version (lost) or newest acked version (stale)
	witness  int32 // the contradicting write (stale), -1 if none
}

// examples keeps the n earliest offences by invocation time in O(n) memory.
type examples struct {
	n     int
	kept  []offence
	times []int64
}

func newExamples(n int) *examples { return &examples{n: n} }

func (x *examples) offer(o offence, invokeNs int64) {
	if x.n == 0 {
		return
	}
	if len(x.kept) < x.n {
		x.kept = append(x.kept, o)
		x.times = append(x.times, invokeNs)
		return
	}
	latest := 0 // n is small: a linear scan beats a heap's bookkeeping
	for i := range x.times {
		if x.times[i] > x.times[latest] {
			latest = i
		}
	}
	if invokeNs < x.times[latest] {
		x.kept[latest], x.times[latest] = o, invokeNs
	}
}

func (x *examples) sorted(ops []Op) []offence {
	slices.SortFunc(x.kept, func(a, b offence) int {
		if c := compareInt(ops[a.idx].InvokeNs, ops[b.idx].InvokeNs); c != 0 {
			return c
		}
		return compareInt(int64(a.idx), int64(b.idx))
	})
	return x.kept
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func seconds(ns int64) float64 { return float64(ns) / 1e9 }

func example(cfg *checkConfig, kind string, op *Op, expected int64) results.OpExample {
	return results.OpExample{
		Kind:      kind,
		Stream:    cfg.stream(op.Stream),
		Key:       KeyName(op.Key),
		Version:   op.Version,
		Expected:  expected,
		Source:    op.Source.String(),
		InvokeS:   seconds(op.InvokeNs),
		CompleteS: seconds(op.CompleteNs),
	}
}

func lostExample(cfg *checkConfig, ops []Op, o offence) results.OpExample {
	op := &ops[o.idx]
	x := example(cfg, KindLostWrite, op, o.expected)
	x.Explanation = fmt.Sprintf(
		"write of %s acknowledged as version %d at %.3fs (HTTP %d%s), but after settling the store holds version %d: the acknowledged write was lost",
		x.Key, op.Version, x.CompleteS, op.Code, sourceNote(op.Source), o.expected)
	return x
}

func staleExample(cfg *checkConfig, ops []Op, o offence) results.OpExample {
	op := &ops[o.idx]
	x := example(cfg, KindStaleRead, op, o.expected)
	what := fmt.Sprintf("version %d", op.Version)
	if op.Version == 0 {
		what = "not found"
	}
	witness := ""
	if o.witness >= 0 {
		w := &ops[o.witness]
		witness = fmt.Sprintf(" by %s at %.3fs", cfg.stream(w.Stream), seconds(w.CompleteNs))
	}
	x.Explanation = fmt.Sprintf(
		"read of %s invoked at %.3fs returned %s%s, but version %d had been acknowledged%s, before the read began",
		x.Key, x.InvokeS, what, sourceNote(op.Source), o.expected, witness)
	return x
}

func sourceNote(s Source) string {
	if s == SourceNone {
		return ""
	}
	return ", source " + s.String()
}

// keySet counts distinct keys: a bitmap for the dense indices the load
// generator uses, a map beyond that.
type keySet struct {
	bits  []uint64
	n     int
	large map[uint32]struct{}
	max   uint32 // highest key seen
}

const denseKeys = 1 << 24 // 2 MiB of bitmap at most

func newKeySet() *keySet { return &keySet{} }

func (s *keySet) add(k uint32) {
	s.max = max(s.max, k)
	if k >= denseKeys {
		if s.large == nil {
			s.large = map[uint32]struct{}{}
		}
		s.large[k] = struct{}{}
		return
	}
	w := int(k >> 6)
	if w >= len(s.bits) {
		s.bits = slices.Grow(s.bits, w+1-len(s.bits))[:w+1]
	}
	if bit := uint64(1) << (k & 63); s.bits[w]&bit == 0 {
		s.bits[w] |= bit
		s.n++
	}
}

func (s *keySet) len() int { return s.n + len(s.large) }
