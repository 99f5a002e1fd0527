package history

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// WriteJSONL writes the history as JSON lines, one operation per line in
// order of invocation, for another checker to verify the verdict
// (docs/HISTORY.md describes the format):
//
//	{"index":0,"process":3,"type":"ok","f":"write","key":"k17","value":"w1:42","invoke_ns":1200,"complete_ns":5300,"stream":"writes","code":200,"version":7,"source":"db"}
//
// type is the completion, as Jepsen's: ok, fail or info (outcome unknown:
// it may have taken effect, at any time after invoke_ns). A process
// performs one operation at a time and is never reused after an info
// operation, as in Jepsen, so {type invoke, time invoke_ns} followed by
// {type, time complete_ns} per line gives a Jepsen history. value is what
// the write sent or the read returned: "w<stream>:<seq>" (a write of the
// run), "seed:k<N>" (the harness's seed of that key before the load),
// "nil" (no value: a 404) or "foreign" (a body this run never sent).
// version and source are the target's hints, omitted when absent.
func WriteJSONL(w io.Writer, ops []Op, streams []string) error {
	cfg := checkConfig{streams: streams}
	order := make([]int32, len(ops))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(ops[a].InvokeNs, ops[b].InvokeNs) })
	procs := Lanes(ops, order, true)
	bw := bufio.NewWriterSize(w, 64<<10)
	var b []byte
	for j, i := range order {
		op := &ops[i]
		f := "read"
		if op.Write {
			f = "write"
		}
		b = append(b[:0], `{"index":`...)
		b = strconv.AppendInt(b, int64(j), 10)
		b = append(b, `,"process":`...)
		b = strconv.AppendInt(b, int64(procs[j]), 10)
		b = append(b, `,"type":"`...)
		b = append(b, op.Outcome.String()...)
		b = append(b, `","f":"`...)
		b = append(b, f...)
		b = append(b, `","key":"`...)
		b = append(b, KeyName(op.Key)...)
		b = append(b, `","value":"`...)
		b = append(b, op.Value.String()...)
		b = append(b, `","invoke_ns":`...)
		b = strconv.AppendInt(b, op.InvokeNs, 10)
		b = append(b, `,"complete_ns":`...)
		b = strconv.AppendInt(b, op.CompleteNs, 10)
		b = append(b, `,"stream":`...)
		b = strconv.AppendQuote(b, cfg.stream(op.Stream))
		b = append(b, `,"code":`...)
		b = strconv.AppendInt(b, int64(op.Code), 10)
		if op.Version != NoVersion {
			b = append(b, `,"version":`...)
			b = strconv.AppendInt(b, op.Version, 10)
		}
		if op.Source != SourceNone {
			b = append(b, `,"source":"`...)
			b = append(b, op.Source.String()...)
			b = append(b, '"')
		}
		b = append(b, "}\n"...)
		if _, err := bw.Write(b); err != nil {
			return fmt.Errorf("history: export: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("history: export: %w", err)
	}
	return nil
}

// Export writes ops as JSON lines to dir/history-<variant>.jsonl and
// returns the file's name.
func Export(dir, variant string, ops []Op, streams []string) (string, error) {
	name := "history-" + fileSafe(variant) + ".jsonl"
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return "", fmt.Errorf("history: export: %w", err)
	}
	if err := WriteJSONL(f, ops, streams); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("history: export: %w", err)
	}
	return name, nil
}

func fileSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}
