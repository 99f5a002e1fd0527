package load

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/loadlab/loadlab/harness/history"
)

// ErrorClass is the class of a transport error (a request with no HTTP
// status).
type ErrorClass uint8

// The transport error classes.
const (
	ErrNone    ErrorClass = iota
	ErrTimeout            // the request timeout or a network deadline expired
	ErrRefused            // the connection was refused: nothing listens
	ErrReset              // the peer reset the connection or the pipe broke
	ErrEOF                // the connection ended before a whole response
	ErrOther
	numErrClasses
)

var errClassNames = [numErrClasses]string{"", "timeout", "refused", "reset", "eof", "other"}

func (c ErrorClass) String() string { return errClassNames[c] }

// classifyError sorts a transport error by its type, where it still has
// one: the engine's transport sees it before vegeta flattens it to text.
func classifyError(err error) ErrorClass {
	var netErr net.Error
	switch {
	case err == nil:
		return ErrNone
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return ErrTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return ErrReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrEOF
	default:
		return ErrOther
	}
}

// isSuccess reports whether a response counts as a success: any 2xx, and a
// 404 on a read (the key was never written).
func isSuccess(write bool, code uint16) bool {
	return code >= 200 && code < 300 || !write && code == 404
}

// opOutcome is outcome, but for a read revalidated by a 304: that read
// returned the value the client held, so it is OK.
func opOutcome(write bool, code uint16, class ErrorClass, revalidated bool) history.Outcome {
	if revalidated {
		return history.OK
	}
	return outcome(write, code, class)
}

// outcome classifies one operation as Jepsen does. A write is Fail only when
// it certainly did not take effect: a 4xx, a 503 (refused by contract), or a
// connection that was never made. Anything that may have reached the store
// (timeouts, resets, other 5xx) is Unknown. A read has no effect, so
// anything but a value or a 404 is simply Fail.
func outcome(write bool, code uint16, class ErrorClass) history.Outcome {
	if !write {
		if isSuccess(false, code) {
			return history.OK
		}
		return history.Fail
	}
	switch {
	case code == 0 && class == ErrRefused:
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
