package perf

import (
	"math/rand/v2"
	"testing"

	"github.com/loadlab/loadlab/harness/history"
)

// syntheticHistory makes n operations shaped like a partition run at 20k
// req/s: three streams over 1000 keys (reads, writes, a hot-key reader),
// time-ordered invocations with overlapping completions, a few failed and
// unknown outcomes, sources as the backend reports them, occasional stale
// reads and, in the final state, a few lost writes.
func syntheticHistory(n int) ([]history.Op, map[uint32]int64) {
	rng := rand.New(rand.NewPCG(11, 12))
	const keys = 1000
	acked := make([]int64, keys)
	ops := make([]history.Op, n)
	for i := range ops {
		invoke := int64(i) * 50_000
		op := history.Op{
			InvokeNs: invoke, CompleteNs: invoke + 200_000 + int64(rng.IntN(8_000_000)),
			Code: 200, Outcome: history.OK, Source: history.SourceDB,
		}
		switch x := rng.IntN(100); {
		case x < 25: // writes
			op.Stream, op.Write, op.Key = 1, true, uint32(rng.IntN(keys))
			acked[op.Key]++
			op.Version = acked[op.Key]
			switch y := rng.IntN(1000); {
			case y < 5:
				op.Outcome, op.Code, op.Source = history.Unknown, 0, history.SourceNone
			case y < 15:
				op.Outcome, op.Code, op.Source = history.Fail, 503, history.SourceNone
				acked[op.Key]--
			case y < 100:
				op.Source = history.SourceQueue
			}
		case x < 35: // hot-key reads
			op.Stream, op.Key = 2, uint32(rng.IntN(3))
			op.Version, op.Source = acked[op.Key], history.SourceCache
		default: // reads
			op.Key = uint32(rng.IntN(keys))
			op.Version = acked[op.Key]
			if rng.IntN(200) == 0 && op.Version > 0 {
				op.Version--
				op.Source = history.SourceStale
			} else if rng.IntN(2) == 0 {
				op.Source = history.SourceCache
			}
		}
		ops[i] = op
	}
	final := make(map[uint32]int64, keys)
	for k, v := range acked {
		if k%97 == 0 && v > 0 {
			v-- // lost
		}
		final[uint32(k)] = v
	}
	return ops, final
}

// BenchmarkHistoryCheck1M runs history.Check, lost writes and stale reads,
// over a million synthetic operations and reports operations per second.
func BenchmarkHistoryCheck1M(b *testing.B) {
	ops, final := syntheticHistory(1_000_000)
	names := []string{"reads", "writes", "hot"}
	machine := noteLoad(b)
	b.ReportAllocs()
	for b.Loop() {
		res := history.Check(ops, final, history.WithStreamNames(names))
		if res.LostWrites == 0 || res.StaleReads == 0 {
			b.Fatalf("synthetic anomalies not found: %+v", res)
		}
	}
	b.ReportMetric(float64(len(ops))*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	machine.report(b)
}
