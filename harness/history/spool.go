package history

import (
	"encoding/binary"
	"fmt"
	"os"
)

// spoolChunk is how many ops a Spool holds in memory before writing them
// out: 4096 ops, 168 KB on disk, so one write per second or so at the rates
// the lab sends.
const spoolChunk = 4096

// opSize is an Op's encoded size: little-endian, fields in declaration order.
const opSize = 8 + 8 + 8 + 8 + 4 + 2 + 1 + 1 + 1 + 1

// Spool records a run's operations on disk as they arrive, so that the
// harness's memory stays flat however long the run: it holds at most one
// chunk of ops, and the rest is in an unlinked temporary file that vanishes
// with the process however it ends. Ops are read back once, after the run.
//
// Nothing measured is lost to the disk: if the file cannot be created or a
// write fails, the spool keeps the ops from then on in memory, and Err says
// why. A Spool is not safe for concurrent use.
type Spool struct {
	file    *os.File
	flushed int    // ops in the file
	mem     []Op   // ops after those in the file
	buf     []byte // encoding buffer, reused
	err     error  // why ops are being kept in memory, if they are
}

// NewSpool returns a spool whose file is in dir (os.TempDir() if empty).
func NewSpool(dir string) *Spool {
	s := &Spool{mem: make([]Op, 0, spoolChunk)}
	f, err := os.CreateTemp(dir, "loadlab-ops-*")
	if err != nil {
		s.err = fmt.Errorf("history: spool: %w", err)
		return s
	}
	// Unlink at once: the open file keeps the data, and nothing is left
	// behind by a crash or a kill.
	if err := os.Remove(f.Name()); err != nil {
		_ = f.Close()
		s.err = fmt.Errorf("history: spool: %w", err)
		return s
	}
	s.file = f
	return s
}

// Append records op.
func (s *Spool) Append(op Op) {
	s.mem = append(s.mem, op)
	if len(s.mem) >= spoolChunk && s.file != nil && s.err == nil {
		s.flush()
	}
}

// Len is the number of ops appended.
func (s *Spool) Len() int { return s.flushed + len(s.mem) }

// Err reports why the spool fell back to memory, or nil.
func (s *Spool) Err() error { return s.err }

func (s *Spool) flush() {
	b := s.buf[:0]
	for i := range s.mem {
		b = appendOp(b, &s.mem[i])
	}
	s.buf = b
	if _, err := s.file.WriteAt(b, int64(s.flushed)*opSize); err != nil {
		// Keep this chunk and every later op in memory; what the file
		// already holds stays readable.
		s.err = fmt.Errorf("history: spool: %w", err)
		return
	}
	s.flushed += len(s.mem)
	s.mem = s.mem[:0]
}

// ReadAll appends every op to dst, in the order they were appended, and
// closes the spool; size dst with Len to read without regrowing. On a read error it returns what it could read with the
// error.
func (s *Spool) ReadAll(dst []Op) ([]Op, error) {
	defer s.Close()
	var readErr error
	if s.file != nil && s.flushed > 0 {
		buf := make([]byte, spoolChunk*opSize)
		for off, end := int64(0), int64(s.flushed)*opSize; off < end; {
			n := min(int64(len(buf)), end-off)
			if _, err := s.file.ReadAt(buf[:n], off); err != nil {
				readErr = fmt.Errorf("history: spool: read back: %w", err)
				break
			}
			for p := buf[:n]; len(p) >= opSize; p = p[opSize:] {
				dst = append(dst, decodeOp(p))
			}
			off += n
		}
	}
	dst = append(dst, s.mem...)
	s.mem = nil
	return dst, readErr
}

// Close releases the file. ReadAll calls it; call it directly only to
// discard a spool.
func (s *Spool) Close() error {
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file = nil
	return err
}

func appendOp(b []byte, op *Op) []byte {
	le := binary.LittleEndian
	b = le.AppendUint64(b, uint64(op.InvokeNs))
	b = le.AppendUint64(b, uint64(op.CompleteNs))
	b = le.AppendUint64(b, uint64(op.Version))
	b = le.AppendUint64(b, uint64(op.Value))
	b = le.AppendUint32(b, op.Key)
	b = le.AppendUint16(b, op.Code)
	var w byte
	if op.Write {
		w = 1
	}
	return append(b, op.Stream, w, byte(op.Outcome), byte(op.Source))
}

func decodeOp(p []byte) Op {
	le := binary.LittleEndian
	return Op{
		InvokeNs:   int64(le.Uint64(p[0:])),
		CompleteNs: int64(le.Uint64(p[8:])),
		Version:    int64(le.Uint64(p[16:])),
		Value:      Value(le.Uint64(p[24:])),
		Key:        le.Uint32(p[32:]),
		Code:       le.Uint16(p[36:]),
		Stream:     p[38],
		Write:      p[39] == 1,
		Outcome:    Outcome(p[40]),
		Source:     Source(p[41]),
	}
}
