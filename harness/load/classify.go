package load

import (
	"strings"

	"github.com/loadlab/loadlab/harness/history"
)

// errClass is the class of a transport error (a request with no HTTP status).
type errClass uint8

const (
	errNone errClass = iota
	errTimeout
	errRefused
	errReset
	errEOF
	errOther
	numErrClasses
)

var errClassNames = [numErrClasses]string{"", "timeout", "refused", "reset", "eof", "other"}

func (c errClass) String() string { return errClassNames[c] }

// classifyError sorts a transport error by its text: vegeta hands results
// over with the error already flattened to a string.
func classifyError(msg string) errClass {
	switch {
	case msg == "":
		return errNone
	case strings.Contains(msg, "Client.Timeout"),
		strings.Contains(msg, "deadline exceeded"),
		strings.Contains(msg, "timeout"):
		return errTimeout
	case strings.Contains(msg, "connection refused"):
		return errRefused
	case strings.Contains(msg, "connection reset"),
		strings.Contains(msg, "broken pipe"):
		return errReset
	case strings.Contains(msg, "EOF"):
		return errEOF
	default:
		return errOther
	}
}

// isSuccess reports whether a response counts as a success: any 2xx, and a
// 404 on a read (the key was never written).
func isSuccess(write bool, code uint16) bool {
	return code >= 200 && code < 300 || !write && code == 404
}

// outcome classifies one operation as Jepsen does. A write is Fail only when
// it certainly did not take effect: a 4xx, a 503 (refused by contract), or a
// connection that was never made. Anything that may have reached the store
// (timeouts, resets, other 5xx) is Unknown. A read has no effect, so
// anything but a value or a 404 is simply Fail.
func outcome(write bool, code uint16, class errClass) history.Outcome {
	if !write {
		if isSuccess(false, code) {
			return history.OK
		}
		return history.Fail
	}
	switch {
	case code == 0 && class == errRefused:
		return history.Fail
	case code == 0:
		return history.Unknown
	case code >= 200 && code < 300:
		return history.OK
	case code >= 400 && code < 500, code == 503:
		return history.Fail
	default: // other 5xx, and 1xx/3xx the contract does not define
		return history.Unknown
	}
}
