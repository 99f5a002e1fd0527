package history

import (
	"cmp"
	"math"
	"slices"
	"strconv"

	"github.com/loadlab/loadlab/reports/results"
)

// DefaultMaxExamples is how many examples of each kind (and reason) Check keeps.
const DefaultMaxExamples = 10

// Anomaly kinds (results.OpExample.Kind).
const (
	KindStaleRead         = "stale_read"
	KindImpossibleRead    = "impossible_read"
	KindLostWrite         = "lost_write"
	KindVersionRegression = "version_regression"
	KindUnconverged       = "unconverged"
)

// Why a read is impossible (Anomaly.Reason).
const (
	NeverWritten     = "never written"
	WrittenElsewhere = "written to another key"
	OnlyRefused      = "written only by a refused write"
	FromTheFuture    = "written by a write invoked after the read completed"
)

// Op indices with a meaning of their own in an Anomaly.
const (
	NoOp    int32 = -1 // none: the initial nil, or a value nobody wrote
	SeedOp  int32 = -2 // the harness's seed write, acknowledged before T0
	FinalOp int32 = -3 // the read of the final state after settling
)

// The seed write's place in time: before every op of the load.
const (
	seedInvokeNs   = -2
	seedCompleteNs = -1
)

// Anomaly is one violation, with the ops that prove it.
type Anomaly struct {
	Kind    string
	Key     uint32
	Op      int32  // the read, write or FinalOp in question
	Value   Value  // what it returned (reads, final state) or wrote
	Wrote   int32  // the write whose value Op returned: an op, SeedOp or NoOp
	Witness int32  // the op that proves it: an op, SeedOp, FinalOp or NoOp
	Reason  string // impossible reads: one of NeverWritten, WrittenElsewhere, OnlyRefused, FromTheFuture
}

// State is what a key holds, as the final-state reader saw it.
type State struct {
	Value   Value
	Version int64  // hint; NoVersion when absent
	Source  Source // hint: X-Source of the answer
}

// Final is the store's state after settling.
type Final struct {
	// States holds every touched key the reader could read; a key missing
	// here has no known final state and is reported unconverged.
	States map[uint32]State
	// Moving says the store was still changing when settle ended: keys
	// behind their acknowledged writes are then unconverged, not lost.
	Moving bool
}

// Option configures Check and Analyse.
type Option func(*checkConfig)

type checkConfig struct {
	maxExamples int
	streams     []string
	seeded      uint32
	incomplete  string
	timelines   int
}

// WithMaxExamples keeps at most n examples of each kind and reason (default 10; 0: none).
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

// WithSeededKeys says the harness wrote SeedValue(k) to every key k < n,
// acknowledged before the load began.
func WithSeededKeys(n int) Option {
	return func(c *checkConfig) { c.seeded = uint32(max(0, min(n, math.MaxUint32))) }
}

// WithIncomplete records that the op history is incomplete (why): the
// verdict covers only the ops recorded, and the history checks fail.
func WithIncomplete(reason string) Option {
	return func(c *checkConfig) { c.incomplete = reason }
}

// WithTimelines draws at most n anomalous keys' timelines (default 4).
func WithTimelines(n int) Option {
	return func(c *checkConfig) { c.timelines = max(0, n) }
}

func newConfig(opts []Option) checkConfig {
	cfg := checkConfig{maxExamples: DefaultMaxExamples, timelines: 4}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

func (c *checkConfig) stream(i uint8) string {
	if int(i) < len(c.streams) {
		return c.streams[i]
	}
	return "stream " + strconv.Itoa(int(i))
}

// Check analyses a run's operations against the final state (Analyse) and
// returns the counts with the earliest examples of each anomaly, their
// evidence, and the timelines of a few anomalous keys.
func Check(ops []Op, final Final, opts ...Option) results.History {
	cfg := newConfig(opts)
	h, all := analyse(ops, final, &cfg)
	h.Examples, h.Timelines = evidence(ops, all, &cfg)
	return h
}

// Analyse checks every key's operations, Jepsen-style, from the values they
// wrote and read and their real-time order (an op's interval runs from its
// invocation to its completion; an op with an unknown outcome may take
// effect at any time after its invocation):
//
//   - stale read: an OK read returned the value of write W although another
//     write W2, acknowledged, began after W completed and completed before
//     the read began.
//   - impossible read: an OK read (or the final state) returned a value
//     never written to its key, written only by a refused write, or by a
//     write invoked after the read completed.
//   - lost write: an acknowledged write W, yet the final state holds the
//     value of a write that completed before W was invoked. When the final
//     state is impossible, the acknowledged writes no other acknowledged
//     write certainly followed (one of which it should hold) are lost.
//     When the store was still moving at the end of settle, the key is
//     unconverged instead, and its writes are not counted lost.
//   - version regression (a cross-check of the X-Version hints): an OK op
//     whose version is below that of an OK op that completed before it was
//     invoked.
//
// It returns the counts and every anomaly.
func Analyse(ops []Op, final Final, opts ...Option) (results.History, []Anomaly) {
	cfg := newConfig(opts)
	return analyse(ops, final, &cfg)
}

// index finds the write that sent a value: by stream, the op of each
// sequence number (write values are dense per stream).
type index struct {
	bySeq  [256][]int32
	seeded uint32
}

func (x *index) add(op *Op, i int32) {
	s, q, ok := op.Value.Write()
	if !ok || q > 1<<31 {
		return
	}
	t := x.bySeq[s]
	if int(q) >= len(t) {
		n := max(int(q)+1, 2*len(t), 1024)
		t = slices.Grow(t, n-len(t))[:n]
		for j := len(x.bySeq[s]); j < n; j++ {
			t[j] = NoOp
		}
		x.bySeq[s] = t
	}
	t[q] = i
}

// resolve maps the value an op on key returned, the op completing at
// completeNs, to the write that sent it: its completion (MaxInt64 when its
// outcome is unknown: it may take effect at any time), its op (or SeedOp,
// NoOp), or why no write can explain it.
func (x *index) resolve(ops []Op, v Value, key uint32, completeNs int64) (wc int64, wrote int32, reason string) {
	if v == NoValue {
		return math.MinInt64, NoOp, ""
	}
	if k, ok := v.Seed(); ok {
		switch {
		case k >= x.seeded:
			return 0, NoOp, NeverWritten
		case k != key:
			return 0, SeedOp, WrittenElsewhere
		}
		return seedCompleteNs, SeedOp, ""
	}
	s, q, ok := v.Write()
	if !ok || q >= uint64(len(x.bySeq[s])) || x.bySeq[s][q] == NoOp {
		return 0, NoOp, NeverWritten
	}
	i := x.bySeq[s][q]
	w := &ops[i]
	switch {
	case w.Key != key:
		return 0, i, WrittenElsewhere
	case w.Outcome == Fail:
		return 0, i, OnlyRefused
	case w.InvokeNs > completeNs:
		return 0, i, FromTheFuture
	case w.Outcome == Unknown:
		return math.MaxInt64, i, ""
	}
	return w.CompleteNs, i, ""
}

func analyse(ops []Op, final Final, cfg *checkConfig) (results.History, []Anomaly) {
	var h results.History
	h.Incomplete = cfg.incomplete
	x := &index{seeded: cfg.seeded}
	keys, okOps := tally(ops, &h, x)
	groups, starts := groupByKey(ops, okOps, keys.max)

	var out []Anomaly
	add := func(a Anomaly) {
		out = append(out, a)
		switch a.Kind {
		case KindStaleRead:
			h.StaleReads++
		case KindImpossibleRead:
			h.ImpossibleReads++
		case KindLostWrite:
			h.LostWrites++
		case KindVersionRegression:
			h.VersionRegressions++
		case KindUnconverged:
			h.UnconvergedKeys++
		}
	}
	var s sweep
	for g := 0; g+1 < len(starts); g++ {
		group := groups[starts[g]:starts[g+1]]
		if len(group) == 0 {
			continue
		}
		key := ops[group[0]].Key
		s.key(ops, x, cfg, key, group, add)
		finalAnomalies(ops, x, final, key, group, add)
	}
	if h.OKReads > 0 {
		h.StaleRatio = float64(h.StaleReads) / float64(h.OKReads)
	}
	return h, out
}

// tally counts the operations into h, indexes every write's value in x, and
// returns the keys touched and how many ops completed ok.
func tally(ops []Op, h *results.History, x *index) (*keySet, int) {
	h.Operations = int64(len(ops))
	keys := newKeySet()
	okOps := 0
	for i := range ops {
		op := &ops[i]
		keys.add(op.Key)
		switch op.Outcome {
		case Unknown:
			h.Unknown++
		case OK:
			okOps++
		}
		if op.Write {
			h.Writes++
			x.add(op, int32(i))
			if op.Outcome == OK {
				h.AckedWrites++
			}
		} else {
			h.Reads++
			if op.Outcome == OK {
				h.OKReads++
			}
		}
	}
	h.Keys = keys.len()
	return keys, okOps
}

// sweep holds the buffers of the per-key sweep, reused from key to key.
type sweep struct{ byInvoke, dones []stamp }

// key judges the ok ops of one key (group) in real-time order: version
// regressions, impossible reads and stale reads. group is reordered by
// invocation.
func (s *sweep) key(ops []Op, x *index, cfg *checkConfig, key uint32, group []int32, add func(Anomaly)) {
	// By invocation (the load's ops arrive almost in that order), and a
	// copy by completion for the sweep.
	s.byInvoke, s.dones = s.byInvoke[:0], s.dones[:0]
	for _, i := range group {
		s.byInvoke = append(s.byInvoke, stamp{ops[i].InvokeNs, i})
		s.dones = append(s.dones, stamp{ops[i].CompleteNs, i})
	}
	sortStamps(s.byInvoke)
	sortStamps(s.dones)
	for j := range s.byInvoke {
		group[j] = s.byInvoke[j].i
	}

	// Before each op's invocation, take in the ops that completed strictly
	// before it.
	latestInvoke, latestW := int64(math.MinInt64), NoOp // latest-invoked acked write completed so far
	if key < cfg.seeded {
		latestInvoke, latestW = seedInvokeNs, SeedOp
	}
	topV, topVOp := NoVersion, NoOp // highest version hint completed so far
	j := 0
	for _, i := range group {
		op := &ops[i]
		for ; j < len(s.dones) && s.dones[j].t < op.InvokeNs; j++ {
			d := &ops[s.dones[j].i]
			if d.Write && d.InvokeNs > latestInvoke {
				latestInvoke, latestW = d.InvokeNs, s.dones[j].i
			}
			if d.Version > topV {
				topV, topVOp = d.Version, s.dones[j].i
			}
		}
		if op.Version != NoVersion && op.Version < topV {
			add(Anomaly{Kind: KindVersionRegression, Key: key, Op: i, Value: op.Value, Wrote: NoOp, Witness: topVOp})
		}
		if op.Write {
			continue
		}
		wc, wrote, reason := x.resolve(ops, op.Value, key, op.CompleteNs)
		switch {
		case reason != "":
			add(Anomaly{Kind: KindImpossibleRead, Key: key, Op: i, Value: op.Value, Wrote: wrote, Witness: NoOp, Reason: reason})
		case latestInvoke > wc:
			add(Anomaly{Kind: KindStaleRead, Key: key, Op: i, Value: op.Value, Wrote: wrote, Witness: latestW})
		}
	}
}

// finalAnomalies judges one key's final state against its acknowledged
// writes (group: the key's OK ops by invocation).
func finalAnomalies(ops []Op, x *index, final Final, key uint32, group []int32, add func(Anomaly)) {
	acked, latestInvoke := false, int64(math.MinInt64)
	for _, i := range group {
		if ops[i].Write {
			acked, latestInvoke = true, max(latestInvoke, ops[i].InvokeNs)
		}
	}
	if !acked {
		return
	}
	st, read := final.States[key]
	if !read {
		add(Anomaly{Kind: KindUnconverged, Key: key, Op: FinalOp, Wrote: NoOp, Witness: NoOp, Reason: "the final state could not be read"})
		return
	}
	wc, wrote, reason := x.resolve(ops, st.Value, key, math.MaxInt64)
	if reason != "" {
		add(Anomaly{Kind: KindImpossibleRead, Key: key, Op: FinalOp, Value: st.Value, Wrote: wrote, Witness: NoOp, Reason: reason})
	}
	var lost []int32
	for _, i := range group {
		w := &ops[i]
		if !w.Write {
			continue
		}
		// A value nobody could have left: the writes nothing acknowledged
		// certainly followed are lost. Otherwise: those begun after the
		// final value's write completed.
		if reason != "" && w.CompleteNs >= latestInvoke || reason == "" && w.InvokeNs > wc {
			lost = append(lost, i)
		}
	}
	switch {
	case len(lost) == 0:
	case final.Moving:
		add(Anomaly{Kind: KindUnconverged, Key: key, Op: FinalOp, Value: st.Value, Wrote: wrote, Witness: lost[len(lost)-1],
			Reason: "the store was still changing when settle ended"})
	default:
		for _, i := range lost {
			add(Anomaly{Kind: KindLostWrite, Key: key, Op: i, Value: st.Value, Wrote: wrote, Witness: FinalOp})
		}
	}
}

// groupByKey returns the indices of the OK ops grouped by key (each group
// in op order) and where each group starts. Keys of a load run are dense
// small indices: one counting pass distributes them; sparse keys go
// through a map first.
func groupByKey(ops []Op, okOps int, maxKey uint32) (groups []int32, starts []int) {
	slot := func(k uint32) uint32 { return k }
	nslots := int(maxKey) + 1
	if uint64(maxKey) >= 4*uint64(len(ops))+1024 {
		dense := map[uint32]uint32{}
		for i := range ops {
			if _, ok := dense[ops[i].Key]; !ok {
				dense[ops[i].Key] = uint32(len(dense))
			}
		}
		slot, nslots = func(k uint32) uint32 { return dense[k] }, len(dense)
	}
	starts = make([]int, nslots+1)
	for i := range ops {
		if ops[i].Outcome == OK {
			starts[slot(ops[i].Key)+1]++
		}
	}
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	groups = make([]int32, okOps)
	next := slices.Clone(starts[:nslots])
	for i := range ops {
		if ops[i].Outcome == OK {
			s := slot(ops[i].Key)
			groups[next[s]] = int32(i)
			next[s]++
		}
	}
	return groups, starts
}

// stamp is an op at a time, for sorting one key's ops cache-friendly.
type stamp struct {
	t int64
	i int32
}

func (a stamp) before(b stamp) bool { return a.t < b.t || a.t == b.t && a.i < b.i }

// sortStamps sorts by time, ties by op index. The input is nearly in order,
// so an insertion pass does it unless it finds too much disorder.
func sortStamps(s []stamp) {
	moves := 0
	for i := 1; i < len(s); i++ {
		if !s[i].before(s[i-1]) {
			continue
		}
		v := s[i]
		j := i
		for ; j > 0 && v.before(s[j-1]); j-- {
			s[j] = s[j-1]
		}
		s[j] = v
		if moves += i - j; moves > 8*len(s)+64 {
			slices.SortFunc(s, func(a, b stamp) int {
				if c := cmp.Compare(a.t, b.t); c != 0 {
					return c
				}
				return cmp.Compare(int64(a.i), int64(b.i))
			})
			return
		}
	}
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
