package history

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
)

// Value identifies what a write sent or a read returned. Every write of a
// run sends a value no other write carries, so a read is mapped to the one
// write whose value it returned, and the checker needs nothing the target
// says about itself.
//
// The top byte is the kind; the rest depends on it:
//
//	NoValue                  nothing: a 404, or an op with no value
//	Foreign                  a body this run never sent (garbled, truncated, made up, another run's)
//	seed:  kindSeed  | key   the value the harness wrote to key before the load
//	write: kindWrite | stream<<40 | seq   the seq-th request of a write stream
type Value uint64

const (
	NoValue Value = 0
	Foreign Value = 1 << 56

	kindShift        = 56
	kindSeed  uint64 = 2
	kindWrite uint64 = 3
	seqBits          = 40
	seqMask          = 1<<seqBits - 1
)

// SeedValue is the value the harness seeds key with.
func SeedValue(key uint32) Value { return Value(kindSeed<<kindShift | uint64(key)) }

// WriteValue is the value of the seq-th request of write stream stream.
func WriteValue(stream uint8, seq uint64) Value {
	return Value(kindWrite<<kindShift | uint64(stream)<<seqBits | seq&seqMask)
}

func (v Value) kind() uint64 { return uint64(v) >> kindShift }

// Seed returns the key whose seed value v is.
func (v Value) Seed() (uint32, bool) { return uint32(v), v.kind() == kindSeed }

// Write returns the stream and sequence number of the write v is the value of.
func (v Value) Write() (stream uint8, seq uint64, ok bool) {
	return uint8(uint64(v) >> seqBits), uint64(v) & seqMask, v.kind() == kindWrite
}

// String is the value's name in reports and exports: "nil", "foreign",
// "seed:k17", "w1:42" (stream 1, request 42).
func (v Value) String() string {
	if k, ok := v.Seed(); ok {
		return "seed:" + KeyName(k)
	}
	if s, q, ok := v.Write(); ok {
		return "w" + strconv.Itoa(int(s)) + ":" + strconv.FormatUint(q, 10)
	}
	if v == NoValue {
		return "nil"
	}
	return "foreign"
}

// Values encodes the bodies of one run's writes and decodes what reads
// returned. A body is a tag naming the run, stream and sequence (or seed key),
// padded with a filler that depends only on its position to the stream's
// body size: "ll<nonce>.w<stream>.<seq>." then "abcd…". Decoding checks the
// whole body, so a truncated, padded or altered value is Foreign.
type Values struct {
	nonce string
	sizes []int // body size by stream index (0: not a write stream)
	max   int   // longest body this run sends
	// seedSize pads seed values to the largest write body.
	seedSize int
}

// minTag bounds the tag length from below (for sizing read buffers).
const minTag = 32

// NewValues returns the codec of a run. nonce tells this run's values from
// any other's (NewNonce); sizes are the body sizes of the write streams by
// stream index (0 for read streams). A body is never shorter than its tag.
func NewValues(nonce string, sizes []int) *Values {
	v := &Values{nonce: nonce, sizes: sizes, max: minTag + len(nonce)}
	for _, s := range sizes {
		v.max = max(v.max, s)
		v.seedSize = max(v.seedSize, s)
	}
	return v
}

// NewNonce returns a random run nonce (8 hex digits).
func NewNonce() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// MaxLen is the longest body of the run: a reader needs MaxLen+1 bytes of a
// response to tell a value from a longer body.
func (vs *Values) MaxLen() int { return vs.max }

// Body returns the body that carries v (a seed or write value).
func (vs *Values) Body(v Value) []byte {
	b := make([]byte, 0, vs.max)
	b = append(b, "ll"...)
	b = append(b, vs.nonce...)
	size := 0
	if k, ok := v.Seed(); ok {
		b = append(b, ".s."...)
		b = strconv.AppendUint(b, uint64(k), 10)
		size = vs.seedSize // as large as the run's writes: a read of a seeded key costs what a read of a written one does
	} else {
		s, q, _ := v.Write()
		b = append(b, ".w"...)
		b = strconv.AppendUint(b, uint64(s), 10)
		b = append(b, '.')
		b = strconv.AppendUint(b, q, 10)
		if int(s) < len(vs.sizes) {
			size = vs.sizes[s]
		}
	}
	b = append(b, '.')
	for i := len(b); i < size; i++ {
		b = append(b, filler(i))
	}
	return b
}

func filler(i int) byte { return 'a' + byte(i%26) }

// Parse maps a response body to the value it carries: NoValue for an empty
// body, Foreign for anything this run's writes did not send byte for byte.
func (vs *Values) Parse(body []byte) Value {
	if len(body) == 0 {
		return NoValue
	}
	p, ok := cut(body, "ll")
	if !ok {
		return Foreign
	}
	if p, ok = cut(p, vs.nonce); !ok || len(p) < 2 || p[0] != '.' {
		return Foreign
	}
	var v Value
	size := 0
	switch p[1] {
	case 's':
		if p, ok = cut(p[2:], "."); !ok {
			return Foreign
		}
		k, rest, ok := number(p, 1<<32-1)
		if !ok {
			return Foreign
		}
		v, p, size = SeedValue(uint32(k)), rest, vs.seedSize
	case 'w':
		s, rest, ok := number(p[2:], 255)
		if !ok || len(rest) == 0 || rest[0] != '.' {
			return Foreign
		}
		q, rest, ok := number(rest[1:], seqMask)
		if !ok {
			return Foreign
		}
		v, p = WriteValue(uint8(s), q), rest
		if int(s) < len(vs.sizes) {
			size = vs.sizes[s]
		}
	default:
		return Foreign
	}
	if len(p) == 0 || p[0] != '.' {
		return Foreign
	}
	tag := len(body) - len(p) + 1
	if len(body) != max(tag, size) {
		return Foreign
	}
	for i := tag; i < len(body); i++ {
		if body[i] != filler(i) {
			return Foreign
		}
	}
	return v
}

func cut(b []byte, prefix string) ([]byte, bool) {
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return b, false
	}
	return b[len(prefix):], true
}

// number reads a decimal without leading zeros, at most limit.
func number(b []byte, limit uint64) (uint64, []byte, bool) {
	i, n := 0, uint64(0)
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + uint64(b[i]-'0')
		if n > limit || i > 20 {
			return 0, b, false
		}
	}
	if i == 0 || b[0] == '0' && i > 1 {
		return 0, b, false
	}
	return n, b[i:], true
}
