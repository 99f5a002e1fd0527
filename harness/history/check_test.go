package history

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

const ms = int64(time.Millisecond)

// w builds an acknowledged write of stream 1, sequence seq; r an OK read
// returning v. Times in milliseconds.
func w(key uint32, seq uint64, invokeMs, completeMs int64) Op {
	return Op{Key: key, Value: WriteValue(1, seq), Version: NoVersion, InvokeNs: invokeMs * ms, CompleteNs: completeMs * ms,
		Write: true, Outcome: OK, Code: 200, Stream: 1, Source: SourceDB}
}

func r(key uint32, v Value, invokeMs, completeMs int64) Op {
	return Op{Key: key, Value: v, Version: NoVersion, InvokeNs: invokeMs * ms, CompleteNs: completeMs * ms,
		Outcome: OK, Code: 200, Source: SourceDB}
}

func with(op Op, f func(*Op)) Op { f(&op); return op }

func final(states map[uint32]Value) Final {
	f := Final{States: map[uint32]State{}}
	for k, v := range states {
		f.States[k] = State{Value: v, Version: NoVersion}
	}
	return f
}

func kinds(as []Anomaly) map[string]int {
	n := map[string]int{}
	for _, a := range as {
		n[a.Kind]++
	}
	return n
}

func TestCheckCounts(t *testing.T) {
	ops := []Op{
		w(1, 0, 0, 10),
		with(w(1, 1, 20, 30), func(o *Op) { o.Outcome = Fail; o.Code = 503 }),
		with(w(2, 2, 20, 2000), func(o *Op) { o.Outcome = Unknown; o.Code = 0 }),
		r(1, WriteValue(1, 0), 40, 50),
		with(r(3, NoValue, 40, 2040), func(o *Op) { o.Outcome = Fail; o.Code = 0 }),
		r(4, NoValue, 60, 61), // 404 of a never-written key: an OK read
	}
	h := Check(ops, final(map[uint32]Value{1: WriteValue(1, 0)}))
	if h.Operations != 6 || h.Writes != 3 || h.AckedWrites != 1 || h.Reads != 3 || h.OKReads != 2 || h.Unknown != 1 || h.Keys != 4 {
		t.Errorf("counts %+v", h)
	}
	if h.LostWrites+h.StaleReads+h.ImpossibleReads+h.VersionRegressions+h.UnconvergedKeys != 0 || len(h.Examples) != 0 {
		t.Errorf("clean history flagged: %+v", h)
	}
}

// TestStaleRead: the rule is "another write W2 began after W completed and
// completed before the read began"; overlapping ops never make a read stale.
func TestStaleRead(t *testing.T) {
	w0, w1 := w(1, 0, 0, 10), w(1, 1, 20, 30)
	for _, tc := range []struct {
		name  string
		read  Op
		stale bool
	}{
		{"old value after the newer write completed", r(1, w0.Value, 40, 41), true},
		{"old value while the newer write was in flight", r(1, w0.Value, 25, 41), false},
		{"old value, read began the instant the write completed", r(1, w0.Value, 30, 41), false},
		{"new value", r(1, w1.Value, 40, 41), false},
		{"nil after a write completed", r(1, NoValue, 40, 41), true},
		{"nil before any write completed", r(1, NoValue, 5, 6), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ops := []Op{w0, w1, tc.read}
			h, as := Analyse(ops, final(map[uint32]Value{1: w1.Value}))
			if got := h.StaleReads == 1; got != tc.stale || h.ImpossibleReads+h.LostWrites != 0 {
				t.Fatalf("%+v %+v", h, as)
			}
			if tc.stale && (as[0].Op != 2 || as[0].Witness != 1) {
				t.Errorf("evidence %+v", as[0])
			}
		})
	}
	// W2 must have begun after W completed: two overlapping writes can be
	// ordered either way, so reading the "older" is fine.
	ops := []Op{w(1, 0, 0, 20), w(1, 1, 10, 30), r(1, WriteValue(1, 1), 40, 41), r(1, WriteValue(1, 0), 42, 43)}
	if h := Check(ops, final(map[uint32]Value{1: WriteValue(1, 0)})); h.StaleReads != 0 || h.LostWrites != 0 {
		t.Errorf("concurrent writes: %+v", h)
	}
	// A write with an unknown outcome may take effect any time: never stale.
	ops = []Op{with(w(1, 0, 0, 10), func(o *Op) { o.Outcome = Unknown }), w(1, 1, 20, 30), r(1, WriteValue(1, 0), 40, 41)}
	if h := Check(ops, final(map[uint32]Value{1: WriteValue(1, 1)})); h.StaleReads != 0 {
		t.Errorf("unknown write: %+v", h)
	}
}

func TestImpossibleReads(t *testing.T) {
	refused := with(w(1, 1, 20, 30), func(o *Op) { o.Outcome = Fail; o.Code = 503 })
	future := w(1, 2, 100, 110)
	other := w(2, 3, 0, 5)
	for _, tc := range []struct {
		name   string
		v      Value
		reason string
	}{
		{"foreign", Foreign, NeverWritten},
		{"a sequence nobody sent", WriteValue(1, 99), NeverWritten},
		{"a stream nobody sent", WriteValue(7, 0), NeverWritten},
		{"refused", refused.Value, OnlyRefused},
		{"future", future.Value, FromTheFuture},
		{"another key's write", other.Value, WrittenElsewhere},
		{"another key's seed", SeedValue(3), WrittenElsewhere},
		{"an unseeded key's seed", SeedValue(1000), NeverWritten},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ops := []Op{w(1, 0, 0, 10), refused, r(1, tc.v, 40, 50), future, other}
			h, as := Analyse(ops, final(map[uint32]Value{1: future.Value, 2: other.Value}), WithSeededKeys(10))
			if h.ImpossibleReads != 1 || as[0].Reason != tc.reason || as[0].Op != 2 {
				t.Fatalf("%+v %+v", h, as)
			}
		})
	}
	// A read may return a write that was invoked before it completed,
	// even one that completed after it (they overlapped), and its own seed.
	ops := []Op{w(1, 0, 30, 100), r(1, WriteValue(1, 0), 40, 50), r(1, SeedValue(1), 40, 50)}
	if h := Check(ops, final(map[uint32]Value{1: WriteValue(1, 0)}), WithSeededKeys(2)); h.ImpossibleReads != 0 || h.StaleReads != 0 {
		t.Errorf("%+v", h)
	}
}

func TestLostWrites(t *testing.T) {
	ops := []Op{
		w(7, 0, 0, 10),
		with(w(7, 1, 20, 30), func(o *Op) { o.Code, o.Source = 202, SourceQueue }),
		w(7, 2, 40, 50),
		w(8, 3, 20, 30),
		with(w(9, 4, 20, 30), func(o *Op) { o.Outcome = Unknown }),
	}
	streams := WithStreamNames([]string{"reads", "writes"})
	// k7 holds w0: w1 and w2 began after it completed: both lost. k8 holds
	// nil: lost. k9's write may not have happened.
	f := final(map[uint32]Value{7: WriteValue(1, 0), 8: NoValue, 9: NoValue})
	h := Check(ops, f, streams)
	if h.LostWrites != 3 || h.UnconvergedKeys != 0 {
		t.Fatalf("%+v", h)
	}
	x := h.Examples[0]
	if x.Kind != KindLostWrite || x.Key != "k7" || x.Value != "w1:1" || x.Stream != "writes" || x.Returned == nil || x.Returned.Value != "w1:0" {
		t.Errorf("example %+v", x)
	}
	for _, want := range []string{"k7", "w1:1", "HTTP 202", "w1:0", "lost"} {
		if !strings.Contains(x.Explanation, want) {
			t.Errorf("explanation %q lacks %q", x.Explanation, want)
		}
	}
	// The same, while the store was still moving: unconverged, not lost.
	f.Moving = true
	if h := Check(ops, f); h.LostWrites != 0 || h.UnconvergedKeys != 2 {
		t.Errorf("moving: %+v", h)
	}
	// A key whose final state nobody could read is unconverged.
	if h := Check(ops, final(map[uint32]Value{7: WriteValue(1, 2)})); h.LostWrites != 0 || h.UnconvergedKeys != 1 {
		t.Errorf("unread: %+v", h)
	}
	// A final value nobody wrote: impossible, and the writes it should
	// have held (w2 only: w0 and w1 were certainly overwritten) are lost.
	if h := Check(ops, final(map[uint32]Value{7: Foreign, 8: WriteValue(1, 3), 9: NoValue})); h.ImpossibleReads != 1 || h.LostWrites != 1 {
		t.Errorf("foreign final: %+v", h)
	}
	// The final state holds an unknown write's value: nothing is lost.
	ops = append(ops, with(w(7, 5, 60, 70), func(o *Op) { o.Outcome = Unknown }))
	if h := Check(ops, final(map[uint32]Value{7: WriteValue(1, 5), 8: WriteValue(1, 3), 9: NoValue})); h.LostWrites != 0 {
		t.Errorf("unknown final: %+v", h)
	}
}

// TestSeededKeys: a seeded key's nil is stale once the load starts; its
// seed value is what a read may return until a write completes.
func TestSeededKeys(t *testing.T) {
	ops := []Op{r(3, NoValue, 0, 1), r(3, SeedValue(3), 0, 1), w(3, 0, 5, 10), r(3, SeedValue(3), 20, 21)}
	h, as := Analyse(ops, final(map[uint32]Value{3: WriteValue(1, 0)}), WithSeededKeys(4))
	if h.StaleReads != 2 || as[0].Witness != SeedOp || as[1].Witness != 2 {
		t.Errorf("%+v %+v", h, as)
	}
	if h := Check(ops[2:3], final(map[uint32]Value{3: SeedValue(3)}), WithSeededKeys(4)); h.LostWrites != 1 {
		t.Errorf("seed held over an acked write: %+v", h)
	}
}

func TestVersionRegression(t *testing.T) {
	v := func(op Op, version int64) Op { op.Version = version; return op }
	ops := []Op{
		v(w(1, 0, 0, 10), 5),
		v(r(1, WriteValue(1, 0), 20, 30), 5),
		v(r(1, WriteValue(1, 0), 40, 50), 4), // the value is right, the hint went back
		v(r(1, WriteValue(1, 0), 5, 60), 1),  // overlapped the write: fine
		r(1, WriteValue(1, 0), 70, 80),       // no hint: fine
	}
	h, as := Analyse(ops, final(map[uint32]Value{1: WriteValue(1, 0)}))
	if h.VersionRegressions != 1 || as[0].Op != 2 || as[0].Witness != 0 || h.StaleReads != 0 {
		t.Errorf("%+v %+v", h, as)
	}
}

// TestNewestVersionWithPreviousValue is the case that motivated the
// checker: every version is right, the value is the previous one.
func TestNewestVersionWithPreviousValue(t *testing.T) {
	v := func(op Op, version int64) Op { op.Version = version; return op }
	ops := []Op{v(w(1, 0, 0, 10), 1), v(w(1, 1, 20, 30), 2), v(r(1, WriteValue(1, 0), 40, 50), 2)}
	h := Check(ops, final(map[uint32]Value{1: WriteValue(1, 1)}))
	if h.StaleReads != 1 || h.VersionRegressions != 0 || len(h.Timelines) != 1 {
		t.Fatalf("%+v", h)
	}
	tl := h.Timelines[0]
	marks := map[string]bool{}
	for _, op := range tl.Ops {
		marks[op.Anomaly] = true
	}
	if tl.Key != "k1" || len(tl.Ops) != 3 || !marks[KindStaleRead] || !marks["returned"] || !marks["witness"] {
		t.Errorf("timeline %+v", tl)
	}
}

func TestCheckExamplesAreCappedToTheEarliest(t *testing.T) {
	var ops []Op
	fin := map[uint32]Value{}
	for k := range uint32(30) {
		ops = append(ops, w(k, uint64(k), int64(100-k), int64(101-k)))
		fin[k] = NoValue
	}
	h := Check(ops, final(fin), WithMaxExamples(3))
	if h.LostWrites != 30 || len(h.Examples) != 3 || h.Examples[0].Key != "k29" || h.Examples[2].Key != "k27" {
		t.Errorf("%+v", h.Examples)
	}
	if h := Check(ops, final(fin), WithMaxExamples(0)); len(h.Examples) != 0 || h.LostWrites != 30 {
		t.Errorf("%+v", h)
	}
}

func TestCheckEmptyHistory(t *testing.T) {
	h := Check(nil, Final{})
	if h.Operations != 0 || h.StaleRatio != 0 || h.Keys != 0 {
		t.Errorf("%+v", h)
	}
	if h := Check(nil, Final{}, WithIncomplete("spool: EOF")); h.Incomplete != "spool: EOF" {
		t.Errorf("%+v", h)
	}
}

func TestKeySetLargeKeys(t *testing.T) {
	s := newKeySet()
	for _, k := range []uint32{0, 63, 64, 0, 1<<32 - 1, 1 << 30, 1<<32 - 1} {
		s.add(k)
	}
	if s.len() != 5 {
		t.Errorf("len %d", s.len())
	}
}

func TestParseKey(t *testing.T) {
	for key, want := range map[string]int64{"k0": 0, "k17": 17, "k4294967295": 4294967295, "k": -1, "k01": -1,
		"x1": -1, "k-1": -1, "k+1": -1, "k4294967296": -1, "k1a": -1, "": -1} {
		got, ok := ParseKey(key)
		if (want < 0 && ok) || (want >= 0 && (!ok || int64(got) != want)) {
			t.Errorf("ParseKey(%q) = %d, %v", key, got, ok)
		}
		if ok && KeyName(got) != key {
			t.Errorf("KeyName(ParseKey(%q)) = %q", key, KeyName(got))
		}
	}
}

// synthetic makes n operations over 1000 keys, 20% writes, the shape of a
// real run: time-ordered invocations, overlapping completions, a few stale
// reads and lost writes.
func synthetic(n int) ([]Op, Final) {
	rng := rand.New(rand.NewPCG(1, 2))
	ops := make([]Op, n)
	last := make([][2]Value, 1000) // per key: latest and previous write
	seq := uint64(0)
	for i := range ops {
		k := uint32(rng.IntN(len(last)))
		invoke := int64(i) * 50_000 // 20k ops/s
		op := Op{Key: k, InvokeNs: invoke, CompleteNs: invoke + int64(rng.IntN(5_000_000)), Outcome: OK, Code: 200, Version: NoVersion}
		if rng.IntN(5) == 0 {
			op.Write, op.Value, op.Stream = true, WriteValue(1, seq), 1
			seq++
			last[k] = [2]Value{op.Value, last[k][0]}
		} else {
			op.Value = last[k][0]
			if rng.IntN(100) == 0 {
				op.Value = last[k][1] // occasionally stale
			}
		}
		ops[i] = op
	}
	f := Final{States: map[uint32]State{}}
	for k, v := range last {
		st := State{Value: v[0], Version: NoVersion}
		if k%100 == 0 {
			st.Value = v[1] // a few lost writes
		}
		f.States[uint32(k)] = st
	}
	return ops, f
}

func TestCheckSpeed(t *testing.T) {
	if testing.Short() {
		t.Skip("speed check")
	}
	ops, f := synthetic(1_000_000)
	start := time.Now()
	h := Check(ops, f)
	d := time.Since(start)
	t.Logf("1M ops checked in %s (%.1fM ops/s): %d stale, %d lost", d, 1/d.Seconds(), h.StaleReads, h.LostWrites)
	if h.StaleReads == 0 || h.LostWrites == 0 || h.ImpossibleReads != 0 {
		t.Errorf("synthetic anomalies: %+v", h)
	}
	// The bound leaves room for a busy 2-core machine and -race.
	if d > 5*time.Second {
		t.Errorf("1M ops took %s", d)
	}
}

func BenchmarkCheck(b *testing.B) {
	ops, f := synthetic(1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		Check(ops, f)
	}
	b.ReportMetric(float64(len(ops))*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func TestCheckSparseKeysGiveTheSameAnswer(t *testing.T) {
	ops, f := synthetic(20_000)
	dense := Check(ops, f)
	// Spread the keys far apart: the counting sort gives way to a map.
	const stride = 1 << 22
	sparseFinal := Final{States: map[uint32]State{}}
	for k, v := range f.States {
		sparseFinal.States[k*stride] = v
	}
	for i := range ops {
		ops[i].Key *= stride
	}
	sparse := Check(ops, sparseFinal, WithMaxExamples(0))
	if sparse.StaleReads != dense.StaleReads || sparse.LostWrites != dense.LostWrites || sparse.Keys != dense.Keys || dense.StaleReads == 0 {
		t.Errorf("dense %+v\nsparse %+v", dense, sparse)
	}
}
