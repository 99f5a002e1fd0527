package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
)

// TestWriteJSONL: one op per line, in order of invocation; a process never
// has two ops in flight and is not reused after an info op.
func TestWriteJSONL(t *testing.T) {
	ops := []Op{
		w(1, 0, 0, 10),
		with(w(1, 1, 5, 2005), func(o *Op) { o.Outcome, o.Code = Unknown, 0 }),
		with(r(1, WriteValue(1, 0), 11, 20), func(o *Op) { o.Version = 3 }),
		with(r(2, NoValue, 12, 13), func(o *Op) { o.Code = 404; o.Source = SourceNone }),
		with(w(2, 2, 14, 15), func(o *Op) { o.Outcome, o.Code = Fail, 503 }),
		r(1, Foreign, 30, 31),
	}
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, ops, []string{"reads", "writes"}); err != nil {
		t.Fatal(err)
	}
	type line struct {
		Index, Process      int
		Type, F, Key, Value string
		InvokeNs            int64 `json:"invoke_ns"`
		CompleteNs          int64 `json:"complete_ns"`
		Stream, Source      string
		Code                int
		Version             *int64
	}
	var got []line
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", sc.Bytes(), err)
		}
		got = append(got, l)
	}
	if len(got) != len(ops) {
		t.Fatalf("%d lines", len(got))
	}
	busy := map[int]int64{}
	retired := map[int]bool{}
	for i, l := range got {
		if l.Index != i || i > 0 && l.InvokeNs < got[i-1].InvokeNs {
			t.Errorf("line %d out of order: %+v", i, l)
		}
		if retired[l.Process] || busy[l.Process] > l.InvokeNs {
			t.Errorf("process %d reused: %+v", l.Process, l)
		}
		busy[l.Process] = l.CompleteNs
		if l.Type == "info" {
			retired[l.Process] = true
		}
	}
	want := []struct{ typ, f, key, value, stream string }{
		{"ok", "write", "k1", "w1:0", "writes"}, {"info", "write", "k1", "w1:1", "writes"}, {"ok", "read", "k1", "w1:0", "reads"},
		{"ok", "read", "k2", "nil", "reads"}, {"fail", "write", "k2", "w1:2", "writes"}, {"ok", "read", "k1", "foreign", "reads"},
	}
	for i, w := range want {
		l := got[i]
		if l.Type != w.typ || l.F != w.f || l.Key != w.key || l.Value != w.value || l.Stream != w.stream {
			t.Errorf("line %d: %+v, want %+v", i, l, w)
		}
	}
	if got[2].Version == nil || *got[2].Version != 3 || got[0].Version != nil {
		t.Errorf("version hints: %v %v", got[2].Version, got[0].Version)
	}
}
