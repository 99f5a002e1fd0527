package history

import (
	"testing"
)

// incs are n increments of key with the given outcome.
func incs(key uint32, o Outcome, n int) []Op {
	ops := make([]Op, n)
	for i := range ops {
		ops[i] = Op{Key: key, Write: true, Outcome: o, Stream: 1}
	}
	return ops
}

// TestCheckIncrements plants each verdict on its own key: k0 counted every
// acknowledged increment (the null case), k1 lost two, k2's final value is
// explained by one of its unknown increments having counted (not lost, not
// extra), k3 counted one more than could have, and k4 (never in the final
// state) lost all three.
func TestCheckIncrements(t *testing.T) {
	var ops []Op
	ops = append(ops, incs(0, OK, 5)...)
	ops = append(ops, incs(0, Fail, 2)...)
	ops = append(ops, incs(1, OK, 6)...)
	ops = append(ops, incs(2, OK, 3)...)
	ops = append(ops, incs(2, Unknown, 2)...)
	ops = append(ops, incs(3, OK, 1)...)
	ops = append(ops, incs(4, OK, 3)...)
	got := CheckIncrements(ops, map[uint32]int64{0: 5, 1: 4, 2: 4, 3: 2, 9: 7})
	want := struct {
		sent, acked, unknown, final, lost, extra int64
		keys, losing                             int
	}{sent: 22, acked: 18, unknown: 2, final: 15, lost: 5, extra: 1, keys: 5, losing: 2}
	if got.Sent != want.sent || got.Acked != want.acked || got.Unknown != want.unknown || got.Final != want.final ||
		got.Lost != want.lost || got.Extra != want.extra || got.Keys != want.keys || got.KeysLosing != want.losing {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if r := got.LostRatio; r != 5.0/18 {
		t.Errorf("lost ratio %v, want 5/18", r)
	}
}

// TestSplitIncrements: ops of increment streams go apart, in order; without
// increment streams the ops come back as they are.
func TestSplitIncrements(t *testing.T) {
	ops := []Op{{Stream: 0, Key: 1}, {Stream: 1, Key: 2}, {Stream: 0, Key: 3}, {Stream: 1, Key: 4}}
	items, increments := SplitIncrements(ops, []bool{false, true})
	if len(items) != 2 || items[1].Key != 3 || len(increments) != 2 || increments[1].Key != 4 {
		t.Errorf("items %v, increments %v", items, increments)
	}
	if items, increments := SplitIncrements(ops, []bool{false, false}); len(items) != 4 || &items[0] != &ops[0] || increments != nil {
		t.Errorf("without increment streams: items %v, increments %v", items, increments)
	}
}
