// Package history records every operation the load generator performs and
// checks the record, Jepsen-style, against the final state of the store as
// read through the target's own API: stale reads, impossible reads, lost
// writes, versions going backwards, unconverged keys. Every write carries a
// value no other write carries (Values), so the checker decides from values
// and real-time order alone; what the target says about itself (X-Version,
// X-Source) is kept as a hint and cross-checked.
package history

import (
	"math"
	"strconv"
)

// Outcome of one operation, as Jepsen classifies it.
type Outcome uint8

const (
	OK      Outcome = iota // acknowledged: a write took effect, a read returned a value (or 404)
	Fail                   // definitely did not take effect (4xx, 503, 429, connection refused)
	Unknown                // may or may not have taken effect (timeouts, resets, other 5xx): Jepsen's :info
)

func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Fail:
		return "fail"
	default:
		return "info"
	}
}

// Source is where the target said a response's data came from (X-Source).
type Source uint8

const (
	SourceNone  Source = iota
	SourceDB           // db
	SourceCache        // cache
	SourceStale        // stale: served from cache while the primary was unreachable
	SourceQueue        // queue: a write accepted into the queue
)

var sourceNames = [...]string{"", "db", "cache", "stale", "queue"}

func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "?"
}

// ParseSource maps an X-Source header value to a Source.
func ParseSource(v string) Source {
	for i, n := range sourceNames[1:] {
		if n == v {
			return Source(i + 1)
		}
	}
	return SourceNone
}

// NoVersion is Op.Version when the response carried no X-Version, or one
// that is not an integer: the version is only ever a hint.
const NoVersion int64 = math.MinInt64

// Op is one operation. It is kept small (48 bytes) because a run keeps one
// per request: a million requests cost about 48 MB (on disk while the load
// runs: Spool).
type Op struct {
	InvokeNs   int64   // when the request was sent, ns since the variant's T0
	CompleteNs int64   // when the response (or error) arrived, ns since T0
	Version    int64   // X-Version of the response, a hint (404: usually 0); NoVersion when absent or garbled
	Value      Value   // the value a write sent, or the value a read returned (NoValue: 404 or no answer)
	Key        uint32  // key index: the key is fmt.Sprintf("k%d", Key)
	Code       uint16  // HTTP status, 0 on transport error
	Stream     uint8   // index of the scenario stream
	Write      bool    // PUT (true) or GET (false)
	Outcome    Outcome //
	Source     Source  //
}

// KeyName is the item key of a key index, as the load generator sends it.
func KeyName(i uint32) string { return "k" + strconv.FormatUint(uint64(i), 10) }
