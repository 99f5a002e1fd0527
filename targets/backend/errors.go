package backend

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
)

// errMarkedDown is the cause of a call refused because the store's breaker
// is open: nothing was sent.
var errMarkedDown = errors.New("marked down by the circuit breaker")

// unavailableError says a store could not be reached within the call's
// deadline (or is marked down). It tells the caller whether the call may
// still have taken effect, which decides between "refused" (503) and
// "outcome unknown" (504/500) for writes.
type unavailableError struct {
	store          string // postgres or redis
	op             string
	mayHaveApplied bool // the request may have reached the store
	err            error
}

func (e *unavailableError) Error() string {
	return e.store + " " + e.op + ": unavailable: " + e.err.Error()
}

func (e *unavailableError) Unwrap() error { return e.err }

// asUnavailable returns the unavailableError in err's chain, if any.
func asUnavailable(err error) (*unavailableError, bool) {
	var u *unavailableError
	ok := errors.As(err, &u)
	return u, ok
}

func isUnavailable(err error) bool {
	_, ok := asUnavailable(err)
	return ok
}

// mayHaveApplied reports whether a failed write could still have taken
// effect. Errors that are not unavailability (bugs, constraint violations)
// count as unknown too.
func mayHaveApplied(err error) bool {
	if u, ok := asUnavailable(err); ok {
		return u.mayHaveApplied
	}
	return true
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// classifyPostgres turns the error of a Postgres call into an
// unavailableError when it is about reaching the server. acquired says
// whether a connection had been obtained: a failure to get one means nothing
// was sent. Errors the server reports for a statement mean the statement
// did not take effect (each runs in its own transaction).
func classifyPostgres(op string, err error, acquired bool) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "53", "57": // connection exception, insufficient resources, operator intervention
			return &unavailableError{store: "postgres", op: op, err: err}
		}
		return err
	}
	return &unavailableError{
		store:          "postgres",
		op:             op,
		mayHaveApplied: acquired && !pgconn.SafeToRetry(err),
		err:            err,
	}
}

// classifyRedis does the same for Redis. Error replies are bugs or data
// problems, except the ones a server sends while it cannot serve.
func classifyRedis(op string, err error) error {
	var replyErr redis.Error
	if errors.As(err, &replyErr) {
		msg := replyErr.Error()
		for _, busy := range []string{"LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN"} {
			if strings.HasPrefix(msg, busy) {
				return &unavailableError{store: "redis", op: op, err: err}
			}
		}
		return err
	}
	var opErr *net.OpError
	notSent := (errors.As(err, &opErr) && opErr.Op == "dial") || errors.Is(err, redis.ErrPoolTimeout)
	return &unavailableError{store: "redis", op: op, mayHaveApplied: !notSent, err: err}
}
