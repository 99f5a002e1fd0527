package history

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

const ms = int64(time.Millisecond)

// w and r build acknowledged writes and reads, times in milliseconds.
func w(key uint32, version, invokeMs, completeMs int64) Op {
	return Op{Key: key, Version: version, InvokeNs: invokeMs * ms, CompleteNs: completeMs * ms, Write: true, Outcome: OK, Code: 200, Source: SourceDB}
}

func r(key uint32, version, invokeMs, completeMs int64) Op {
	return Op{Key: key, Version: version, InvokeNs: invokeMs * ms, CompleteNs: completeMs * ms, Outcome: OK, Code: 200, Source: SourceDB}
}

func with(op Op, f func(*Op)) Op { f(&op); return op }

func TestCheckCounts(t *testing.T) {
	ops := []Op{
		w(1, 1, 0, 10),
		with(w(1, 0, 20, 30), func(o *Op) { o.Outcome = Fail; o.Code = 503 }),
		with(w(2, 0, 20, 2000), func(o *Op) { o.Outcome = Unknown; o.Code = 0 }),
		r(1, 1, 40, 50),
		with(r(3, 0, 40, 2040), func(o *Op) { o.Outcome = Unknown }),
		r(4, 0, 60, 61), // 404 of a never-written key: an OK read
	}
	h := Check(ops, map[uint32]int64{1: 1})
	if h.Operations != 6 || h.Writes != 3 || h.AckedWrites != 1 || h.Reads != 3 || h.Unknown != 2 || h.Keys != 4 {
		t.Errorf("counts %+v", h)
	}
	if h.LostWrites != 0 || h.StaleReads != 0 || h.StaleRatio != 0 || len(h.Examples) != 0 {
		t.Errorf("clean history flagged: %+v", h)
	}
}

func TestCheckLostWrite(t *testing.T) {
	ops := []Op{
		w(7, 1, 0, 10),
		with(w(7, 2, 20, 30), func(o *Op) { o.Code = 202; o.Source = SourceQueue; o.Stream = 1 }),
		w(8, 1, 20, 30),
	}
	h := Check(ops, map[uint32]int64{7: 1, 8: 1}, WithStreamNames([]string{"reads", "writes"}))
	if h.LostWrites != 1 || len(h.Examples) != 1 {
		t.Fatalf("lost %d, examples %+v", h.LostWrites, h.Examples)
	}
	x := h.Examples[0]
	if x.Kind != KindLostWrite || x.Key != "k7" || x.Version != 2 || x.Expected != 1 || x.Stream != "writes" || x.Source != "queue" {
		t.Errorf("example %+v", x)
	}
	for _, want := range []string{"k7", "version 2", "version 1", "HTTP 202", "queue", "lost"} {
		if !strings.Contains(x.Explanation, want) {
			t.Errorf("explanation %q lacks %q", x.Explanation, want)
		}
	}

	// A key missing from the final state is at version 0: all its acked writes are lost.
	if h := Check(ops, map[uint32]int64{7: 2}); h.LostWrites != 1 || h.Examples[0].Key != "k8" || h.Examples[0].Expected != 0 {
		t.Errorf("missing key: %+v", h)
	}
}

func TestCheckUnknownWritesAreNeverLost(t *testing.T) {
	ops := []Op{
		w(1, 1, 0, 10),
		with(w(1, 2, 20, 2020), func(o *Op) { o.Outcome = Unknown }),           // a timeout that the backend did apply
		with(w(1, 3, 30, 40), func(o *Op) { o.Outcome = Unknown; o.Code = 0 }), // never reached the store
		with(w(1, 9, 50, 60), func(o *Op) { o.Outcome = Fail; o.Code = 503 }),
		r(1, 1, 3000, 3001), // may miss unknown writes: not stale either
	}
	h := Check(ops, map[uint32]int64{1: 1})
	if h.LostWrites != 0 || h.StaleReads != 0 || h.Unknown != 2 {
		t.Errorf("%+v", h)
	}
}

func TestCheckStaleRead(t *testing.T) {
	ops := []Op{
		w(3, 1, 0, 10),
		w(3, 2, 100, 110),
		with(r(3, 1, 200, 210), func(o *Op) { o.Source = SourceStale }), // v2 was acked at 110 < 200: stale
		r(3, 2, 220, 230),
		r(5, 0, 300, 301), // never-written key: fine
		w(6, 4, 0, 5),
		r(6, 0, 50, 51), // 404 after an acked write: stale
	}
	h := Check(ops, map[uint32]int64{3: 2, 6: 4})
	if h.StaleReads != 2 || h.LostWrites != 0 {
		t.Fatalf("stale %d lost %d", h.StaleReads, h.LostWrites)
	}
	if want := 2.0 / 4; h.StaleRatio != want {
		t.Errorf("stale ratio %g, want %g", h.StaleRatio, want)
	}
	// Examples come in invocation order.
	a, b := h.Examples[0], h.Examples[1]
	if a.Key != "k6" || a.Version != 0 || a.Expected != 4 || !strings.Contains(a.Explanation, "not found") {
		t.Errorf("first example %+v", a)
	}
	if b.Kind != KindStaleRead || b.Key != "k3" || b.Version != 1 || b.Expected != 2 || b.Source != "stale" || b.InvokeS != 0.2 {
		t.Errorf("second example %+v", b)
	}
	for _, want := range []string{"k3", "returned version 1", "version 2", "0.110s", "before the read began"} {
		if !strings.Contains(b.Explanation, want) {
			t.Errorf("explanation %q lacks %q", b.Explanation, want)
		}
	}
}

func TestCheckConcurrentReadIsNotStale(t *testing.T) {
	ops := []Op{
		w(1, 1, 0, 10),
		w(1, 2, 100, 200), // in flight from 100 to 200
		r(1, 1, 150, 160), // overlaps the write: may see either version
		r(1, 1, 90, 250),  // invoked before the write was acked
		r(1, 2, 120, 130), // may see the new version early
		r(1, 1, 200, 210), // invoked at the very instant of the ack: not strictly after
	}
	if h := Check(ops, map[uint32]int64{1: 2}); h.StaleReads != 0 {
		t.Errorf("concurrent reads flagged: %+v", h.Examples)
	}
	// One nanosecond later it is stale.
	ops = append(ops, Op{Key: 1, Version: 1, InvokeNs: 200*ms + 1, CompleteNs: 210 * ms, Outcome: OK})
	if h := Check(ops, map[uint32]int64{1: 2}); h.StaleReads != 1 {
		t.Errorf("read after the ack not flagged: %+v", h)
	}
}

func TestCheckExamplesAreCappedToTheEarliest(t *testing.T) {
	var ops []Op
	for i := range 50 {
		k := uint32(i)
		ops = append(ops, w(k, 2, 1000-int64(i)*10, 1001-int64(i)*10)) // lost: final is 1; later keys earlier in time
		ops = append(ops, r(k, 1, 2000-int64(i)*10, 2001-int64(i)*10)) // stale
	}
	final := map[uint32]int64{}
	for i := range 50 {
		final[uint32(i)] = 1
	}
	h := Check(ops, final)
	if h.LostWrites != 50 || h.StaleReads != 50 {
		t.Fatalf("lost %d stale %d", h.LostWrites, h.StaleReads)
	}
	if len(h.Examples) != 2*DefaultMaxExamples {
		t.Fatalf("%d examples", len(h.Examples))
	}
	if h.Examples[0].Key != "k49" || h.Examples[DefaultMaxExamples-1].Key != "k40" || h.Examples[DefaultMaxExamples].Kind != KindStaleRead {
		t.Errorf("not the earliest examples: %+v", h.Examples)
	}
	if h := Check(ops, final, WithMaxExamples(3)); len(h.Examples) != 6 {
		t.Errorf("cap 3: %d examples", len(h.Examples))
	}
	if h := Check(ops, final, WithMaxExamples(0)); len(h.Examples) != 0 || h.StaleReads != 50 {
		t.Errorf("cap 0: %+v", h)
	}
}

func TestCheckEmptyHistory(t *testing.T) {
	h := Check(nil, nil)
	if h.Operations != 0 || h.StaleRatio != 0 || h.Keys != 0 {
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
// real run: time-ordered invocations, a few stale reads and lost writes.
func synthetic(n int) ([]Op, map[uint32]int64) {
	rng := rand.New(rand.NewPCG(1, 2))
	ops := make([]Op, n)
	version := make([]int64, 1000)
	for i := range ops {
		k := uint32(rng.IntN(len(version)))
		invoke := int64(i) * 50_000 // 20k ops/s
		op := Op{Key: k, InvokeNs: invoke, CompleteNs: invoke + int64(rng.IntN(5_000_000)), Outcome: OK, Code: 200}
		if rng.IntN(5) == 0 {
			version[k]++
			op.Write, op.Version = true, version[k]
		} else {
			op.Version = version[k]
			if rng.IntN(100) == 0 && op.Version > 0 {
				op.Version-- // occasionally stale
			}
		}
		ops[i] = op
	}
	final := make(map[uint32]int64, len(version))
	for k, v := range version {
		if k%100 == 0 && v > 0 {
			v-- // a few lost writes
		}
		final[uint32(k)] = v
	}
	return ops, final
}

func TestCheckSpeed(t *testing.T) {
	if testing.Short() {
		t.Skip("speed check")
	}
	ops, final := synthetic(1_000_000)
	start := time.Now()
	h := Check(ops, final)
	d := time.Since(start)
	t.Logf("1M ops checked in %s (%.1fM ops/s): %d stale, %d lost", d, 1/d.Seconds(), h.StaleReads, h.LostWrites)
	if h.StaleReads == 0 || h.LostWrites == 0 {
		t.Errorf("synthetic anomalies not found: %+v", h)
	}
	// The target is 1M ops/s; the bound leaves room for a busy 2-core machine and -race.
	if d > 5*time.Second {
		t.Errorf("1M ops took %s", d)
	}
}

func BenchmarkCheck(b *testing.B) {
	ops, final := synthetic(1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Check(ops, final)
	}
	b.ReportMetric(float64(len(ops))*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func TestCheckSparseKeysGiveTheSameAnswer(t *testing.T) {
	ops, final := synthetic(20_000)
	dense := Check(ops, final)
	// Spread the keys far apart: the counting sort gives way to a comparison sort.
	const stride = 1 << 22
	sparseFinal := map[uint32]int64{}
	for k, v := range final {
		sparseFinal[k*stride] = v
	}
	for i := range ops {
		ops[i].Key *= stride
	}
	sparse := Check(ops, sparseFinal, WithMaxExamples(0))
	if sparse.StaleReads != dense.StaleReads || sparse.LostWrites != dense.LostWrites || sparse.Keys != dense.Keys || dense.StaleReads == 0 {
		t.Errorf("dense %+v\nsparse %+v", dense, sparse)
	}
}
