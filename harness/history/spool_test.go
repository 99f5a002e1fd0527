package history

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func spoolOps(n int) []Op {
	ops := make([]Op, n)
	for i := range ops {
		ops[i] = Op{
			InvokeNs: int64(i) * 1000, CompleteNs: int64(i)*1000 + 777, Version: int64(i) << 33, Value: Value(uint64(i) * 0x9E3779B97F4A7C15),
			Key: uint32(i * 7), Code: uint16(200 + i%400), Stream: uint8(i), Write: i%3 == 0,
			Outcome: Outcome(i % 3), Source: Source(i % 5),
		}
	}
	return ops
}

// TestSpoolRoundTrip: ops come back exactly, in order, across several
// chunks on disk and a partial chunk in memory, and none stays in memory
// once a chunk is written.
func TestSpoolRoundTrip(t *testing.T) {
	want := spoolOps(3*spoolChunk + 123)
	s := NewSpool(t.TempDir())
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	for i, op := range want {
		s.Append(op)
		if len(s.mem) > spoolChunk {
			t.Fatalf("after %d ops the spool holds %d in memory", i+1, len(s.mem))
		}
	}
	if s.Len() != len(want) || s.flushed != 3*spoolChunk {
		t.Fatalf("len %d, flushed %d", s.Len(), s.flushed)
	}
	prefix := []Op{{Key: 99}}
	got, err := s.ReadAll(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[1:], want) || got[0].Key != 99 {
		t.Fatal("ops differ after the round trip")
	}
	if s.file != nil {
		t.Error("ReadAll left the file open")
	}
}

// TestSpoolFallsBackToMemory: a spool that cannot create its file keeps
// every op in memory and says why.
func TestSpoolFallsBackToMemory(t *testing.T) {
	want := spoolOps(spoolChunk + 5)
	s := NewSpool(filepath.Join(t.TempDir(), "missing"))
	if s.Err() == nil {
		t.Fatal("no error for a missing directory")
	}
	for _, op := range want {
		s.Append(op)
	}
	got, err := s.ReadAll(nil)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %d ops, err %v; want %d", len(got), err, len(want))
	}
}

// TestSpoolWriteFailureKeepsOps: when writing fails midway (here the file
// becomes read-only under the spool), what was written and what was not
// both come back.
func TestSpoolWriteFailureKeepsOps(t *testing.T) {
	want := spoolOps(3 * spoolChunk)
	s := NewSpool(t.TempDir())
	for _, op := range want[:spoolChunk] {
		s.Append(op)
	}
	// Swap in a read-only handle on a copy, so that writes fail but the
	// first chunk can still be read back.
	data := make([]byte, spoolChunk*opSize)
	if _, err := s.file.ReadAt(data, 0); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ro")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s.file.Close()
	ro, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.file = ro
	for _, op := range want[spoolChunk:] {
		s.Append(op)
	}
	if s.Err() == nil {
		t.Fatal("no error after a failed write")
	}
	got, err := s.ReadAll(nil)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %d ops, err %v; want %d", len(got), err, len(want))
	}
}
