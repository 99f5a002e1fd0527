// Package history records every operation the load generator performs and
// checks the record, Jepsen-style, against the final state of the store:
// lost writes, stale reads and convergence time after a heal.
package history

// Outcome of one operation, as Jepsen classifies it.
type Outcome uint8

const (
	OK      Outcome = iota // acknowledged: a write took effect, a read returned a value (or 404)
	Fail                   // definitely did not take effect (4xx, 503, 429, connection refused)
	Unknown                // may or may not have taken effect (timeouts, resets, other 5xx)
)

func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Fail:
		return "fail"
	default:
		return "unknown"
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

// Op is one operation. It is kept small (40 bytes) because a run keeps one
// per request: a million requests cost about 40 MB.
type Op struct {
	InvokeNs   int64   // when the request was sent, ns since the variant's T0
	CompleteNs int64   // when the response (or error) arrived, ns since T0
	Version    int64   // version written (X-Version of a write) or read (X-Version of a read; 0 = not found)
	Key        uint32  // key index: the key is fmt.Sprintf("k%d", Key)
	Code       uint16  // HTTP status, 0 on transport error
	Stream     uint8   // index of the scenario stream
	Write      bool    // PUT (true) or GET (false)
	Outcome    Outcome //
	Source     Source  //
}

// KeyName is the item key of a key index, as the load generator sends it.
func KeyName(i uint32) string { return "k" + itoa(i) }

func itoa(u uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			return string(b[i:])
		}
	}
}
