package history

import (
	"bytes"
	"strings"
	"testing"
)

func TestValuesRoundTrip(t *testing.T) {
	vs := NewValues("0a1b2c3d", []int{0, 64, 10, 1 << 20})
	for _, v := range []Value{SeedValue(0), SeedValue(1<<32 - 1), WriteValue(1, 0), WriteValue(1, 1<<40-1), WriteValue(2, 7), WriteValue(3, 12345), WriteValue(255, 3)} {
		b := vs.Body(v)
		if got := vs.Parse(b); got != v {
			t.Errorf("%s: body %q parses as %s", v, b, got)
		}
		if s, _, ok := v.Write(); ok && int(s) < 4 && len(b) != max(vs.sizes[s], len(b)) {
			t.Errorf("%s: %d bytes", v, len(b))
		}
		if len(b) > vs.MaxLen() {
			t.Errorf("%s: %d bytes, MaxLen %d", v, len(b), vs.MaxLen())
		}
	}
	if b := vs.Body(WriteValue(1, 5)); len(b) != 64 {
		t.Errorf("padded body %d bytes", len(b))
	}
	if b := vs.Body(WriteValue(2, 5)); len(b) <= 10 {
		t.Errorf("a body is never shorter than its tag: %q", b)
	}
}

func TestValuesRejectWhatNobodySent(t *testing.T) {
	vs := NewValues("0a1b2c3d", []int{0, 64})
	good := vs.Body(WriteValue(1, 42))
	other := NewValues("ffffffff", []int{0, 64}).Body(WriteValue(1, 42))
	flip := bytes.Clone(good)
	flip[len(flip)-1] ^= 1
	for name, b := range map[string][]byte{
		"another run": other, "truncated": good[:len(good)-1], "longer": append(bytes.Clone(good), 'x'),
		"altered padding": flip, "seed as sent by hand": []byte("seed"), "leading zero": []byte("ll0a1b2c3d.w1.042."),
		"no terminator": []byte("ll0a1b2c3d.w1.42"), "bad kind": []byte("ll0a1b2c3d.x1.42."),
		"huge sequence": []byte("ll0a1b2c3d.w1.99999999999999999999999."),
		"huge stream":   []byte("ll0a1b2c3d.w256.1."),
		"a write's tag of a padded stream, unpadded": good[:strings.IndexByte(string(good[11:]), '.')+12],
	} {
		if got := vs.Parse(b); got != Foreign {
			t.Errorf("%s: %q parses as %s", name, b, got)
		}
	}
	if vs.Parse(nil) != NoValue {
		t.Error("an empty body is no value")
	}
}

func TestValueNames(t *testing.T) {
	for v, want := range map[Value]string{NoValue: "nil", Foreign: "foreign", SeedValue(17): "seed:k17", WriteValue(2, 9): "w2:9"} {
		if v.String() != want {
			t.Errorf("%d: %q, want %q", v, v.String(), want)
		}
	}
}

func FuzzValuesParse(f *testing.F) {
	vs := NewValues("0a1b2c3d", []int{0, 48})
	f.Add(vs.Body(WriteValue(1, 3)))
	f.Add(vs.Body(SeedValue(9)))
	f.Fuzz(func(t *testing.T, b []byte) {
		v := vs.Parse(b)
		if v != Foreign && v != NoValue && !bytes.Equal(vs.Body(v), b) {
			t.Fatalf("%q parses as %s, whose body is %q", b, v, vs.Body(v))
		}
	})
}
