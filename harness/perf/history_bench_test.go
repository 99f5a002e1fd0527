package perf

import (
	"math/rand/v2"
	"testing"

	"github.com/loadlab/loadlab/harness/history"
)

// syntheticHistory makes n operations shaped like a partition run at 20k
// req/s: three streams over 1000 seeded keys (reads, writes, a hot-key
// reader), time-ordered invocations with overlapping completions, a few
// failed and unknown outcomes, version hints and sources as the backend
// reports them, occasional stale reads and, in the final state, a few lost
// writes. Every write sends its own value, every read returns one.
func syntheticHistory(n int) ([]history.Op, history.Final) {
	rng := rand.New(rand.NewPCG(11, 12))
	const keys = 1000
	type kv struct {
		v       history.Value
		version int64
	}
	latest := make([][2]kv, keys) // per key: latest and previous acked write
	for k := range latest {
		latest[k][0] = kv{history.SeedValue(uint32(k)), 1}
		latest[k][1] = latest[k][0]
	}
	ops := make([]history.Op, n)
	seq := uint64(0)
	for i := range ops {
		invoke := int64(i) * 50_000
		op := history.Op{
			InvokeNs: invoke, CompleteNs: invoke + 200_000 + int64(rng.IntN(8_000_000)),
			Code: 200, Outcome: history.OK, Source: history.SourceDB,
		}
		switch x := rng.IntN(100); {
		case x < 25: // writes
			op.Stream, op.Write, op.Key = 1, true, uint32(rng.IntN(keys))
			op.Value = history.WriteValue(1, seq)
			seq++
			op.Version = latest[op.Key][0].version + 1
			switch y := rng.IntN(1000); {
			case y < 5:
				op.Outcome, op.Code, op.Source, op.Version = history.Unknown, 0, history.SourceNone, history.NoVersion
			case y < 15:
				op.Outcome, op.Code, op.Source, op.Version = history.Fail, 503, history.SourceNone, history.NoVersion
			case y < 100:
				op.Source = history.SourceQueue
			}
			if op.Outcome == history.OK {
				latest[op.Key] = [2]kv{{op.Value, op.Version}, latest[op.Key][0]}
			}
		case x < 35: // hot-key reads
			op.Stream, op.Key, op.Source = 2, uint32(rng.IntN(3)), history.SourceCache
			op.Value, op.Version = latest[op.Key][0].v, latest[op.Key][0].version
		default: // reads
			op.Key = uint32(rng.IntN(keys))
			got := latest[op.Key][0]
			if rng.IntN(200) == 0 {
				got, op.Source = latest[op.Key][1], history.SourceStale
			} else if rng.IntN(2) == 0 {
				op.Source = history.SourceCache
			}
			op.Value, op.Version = got.v, got.version
		}
		ops[i] = op
	}
	final := history.Final{States: make(map[uint32]history.State, keys)}
	for k, l := range latest {
		st := history.State{Value: l[0].v, Version: l[0].version}
		if k%97 == 0 {
			st = history.State{Value: l[1].v, Version: l[1].version} // lost
		}
		final.States[uint32(k)] = st
	}
	return ops, final
}

// BenchmarkHistoryCheck1M runs history.Check — stale, impossible and lost,
// version regressions, examples and timelines — over a million synthetic
// operations and reports operations per second.
func BenchmarkHistoryCheck1M(b *testing.B) {
	ops, final := syntheticHistory(1_000_000)
	names := []string{"reads", "writes", "hot"}
	machine := noteLoad(b)
	b.ReportAllocs()
	for b.Loop() {
		res := history.Check(ops, final, history.WithStreamNames(names), history.WithSeededKeys(1000))
		if res.LostWrites == 0 || res.StaleReads == 0 || res.ImpossibleReads != 0 {
			b.Fatalf("synthetic anomalies not found: %+v", res)
		}
	}
	b.ReportMetric(float64(len(ops))*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	machine.report(b)
}
