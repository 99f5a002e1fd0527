package backend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Counter modes: how POST /counters/{key}/increment adds one, the lesson
// about lost updates (scenarios/catalogue/lost-update.yaml).
const (
	// CountersAtomic adds one in a single UPDATE: the row lock is held
	// for the statement, so no increment can be lost.
	CountersAtomic = "atomic"
	// CountersForUpdate reads the row with SELECT … FOR UPDATE and writes
	// value+1 in the same transaction: concurrent increments queue on the
	// row lock.
	CountersForUpdate = "for-update"
	// CountersOptimistic reads value and version, then writes value+1 only
	// if the version has not moved (or, given If-Match, only if it is the
	// version the client names); otherwise 412 Precondition Failed, and
	// the client retries.
	CountersOptimistic = "optimistic"
	// CountersRMW reads, then writes value+1 without any protection: two
	// increments that read the same value both write value+1, and one is
	// lost although both were acknowledged.
	CountersRMW = "rmw"
)

// counterSchemaSQL holds the counters; env.Reset empties it with the rest.
const counterSchemaSQL = `CREATE TABLE IF NOT EXISTS counters (
	key     text PRIMARY KEY,
	value   bigint NOT NULL,
	version bigint NOT NULL
)`

const (
	counterGetSQL       = `SELECT value, version FROM counters WHERE key = $1`
	counterLockSQL      = `SELECT value, version FROM counters WHERE key = $1 FOR UPDATE`
	counterCreateSQL    = `INSERT INTO counters (key, value, version) VALUES ($1, 0, 0) ON CONFLICT (key) DO NOTHING`
	counterIncrementSQL = `INSERT INTO counters (key, value, version) VALUES ($1, 1, 1)
ON CONFLICT (key) DO UPDATE SET value = counters.value + 1, version = counters.version + 1
RETURNING value, version`
	// counterWriteSQL is the blind write of read-modify-write: it sets what
	// the handler computed from its earlier read, whatever happened since.
	counterWriteSQL = `INSERT INTO counters (key, value, version) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version`
	// counterSwapSQL writes only over the version read (compare and swap).
	counterSwapSQL = `UPDATE counters SET value = $2, version = version + 1 WHERE key = $1 AND version = $3`
)

// errVersionMoved is an optimistic increment that lost its race.
var errVersionMoved = errors.New("the counter's version moved since it was read")

// counter is a counter's value and the version of its last write.
type counter struct{ value, version int64 }

func (s *Server) getCounter(w http.ResponseWriter, r *http.Request) {
	key, ok := s.readyKey(w, r)
	if !ok {
		return
	}
	var c counter
	err := s.db.call(r.Context(), "counter_get", func(ctx context.Context, conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, counterGetSQL, key).Scan(&c.value, &c.version)
	})
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		s.fail(w, err, false)
		return
	}
	writeCounter(w, http.StatusOK, c)
}

func (s *Server) incrementCounter(w http.ResponseWriter, r *http.Request) {
	key, ok := s.readyKey(w, r)
	if !ok {
		return
	}
	expected := int64(-1) // the version the client names with If-Match; -1: none
	if m := r.Header.Get("If-Match"); m != "" {
		v, err := strconv.ParseInt(unquoteETag(m), 10, 64)
		if err != nil || v < 0 {
			http.Error(w, "If-Match: want the counter's version, e.g. \"12\"", http.StatusBadRequest)
			return
		}
		expected = v
	}
	c, err := s.increment(r.Context(), key, expected)
	switch {
	case errors.Is(err, errVersionMoved):
		http.Error(w, err.Error(), http.StatusPreconditionFailed)
	case err != nil:
		s.fail(w, err, true)
	default:
		writeCounter(w, http.StatusOK, c)
	}
}

// increment adds one to key's counter as the configured mode does.
func (s *Server) increment(ctx context.Context, key string, expected int64) (c counter, err error) {
	switch s.cfg.Counters {
	case CountersAtomic:
		err = s.db.call(ctx, "counter_increment", func(ctx context.Context, conn *pgxpool.Conn) error {
			return conn.QueryRow(ctx, counterIncrementSQL, key).Scan(&c.value, &c.version)
		})
	case CountersForUpdate:
		err = s.db.call(ctx, "counter_increment", func(ctx context.Context, conn *pgxpool.Conn) error {
			return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, counterCreateSQL, key); err != nil {
					return err
				}
				if err := tx.QueryRow(ctx, counterLockSQL, key).Scan(&c.value, &c.version); err != nil {
					return err
				}
				c.value, c.version = c.value+1, c.version+1
				_, err := tx.Exec(ctx, counterWriteSQL, key, c.value, c.version)
				return err
			})
		})
	case CountersOptimistic, CountersRMW:
		// Two round trips on two pool connections, as application code
		// that reads, computes and writes does: the race window.
		if c, err = s.readCounter(ctx, key); err != nil {
			return c, err
		}
		if s.cfg.Counters == CountersRMW {
			c.value, c.version = c.value+1, c.version+1
			err = s.db.call(ctx, "counter_write", func(ctx context.Context, conn *pgxpool.Conn) error {
				_, err := conn.Exec(ctx, counterWriteSQL, key, c.value, c.version)
				return err
			})
			return c, err
		}
		if expected >= 0 && expected != c.version {
			return c, errVersionMoved
		}
		swapped := false
		err = s.db.call(ctx, "counter_swap", func(ctx context.Context, conn *pgxpool.Conn) error {
			tag, err := conn.Exec(ctx, counterSwapSQL, key, c.value+1, c.version)
			swapped = tag.RowsAffected() == 1
			return err
		})
		if err == nil && !swapped {
			return c, errVersionMoved // a lost race, not a store failure
		}
		c.value, c.version = c.value+1, c.version+1
	default:
		err = fmt.Errorf("backend: counters=%q", s.cfg.Counters) // Validate forbids it
	}
	return c, err
}

// readCounter reads a counter, creating it at zero when absent so that a
// compare-and-swap has a row to compare against.
func (s *Server) readCounter(ctx context.Context, key string) (c counter, err error) {
	err = s.db.call(ctx, "counter_get", func(ctx context.Context, conn *pgxpool.Conn) error {
		err := conn.QueryRow(ctx, counterGetSQL, key).Scan(&c.value, &c.version)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err = conn.Exec(ctx, counterCreateSQL, key); err == nil {
				err = conn.QueryRow(ctx, counterGetSQL, key).Scan(&c.value, &c.version)
			}
		}
		return err
	})
	return c, err
}

// writeCounter answers with the counter's value; its version is the ETag
// (what If-Match names) and X-Version.
func writeCounter(w http.ResponseWriter, code int, c counter) {
	v := strconv.FormatInt(c.version, 10)
	h := w.Header()
	h.Set("ETag", `"`+v+`"`)
	h.Set("X-Version", v)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"value\":%d,\"version\":%d}\n", c.value, c.version)
}

// unquoteETag strips a strong ETag's quotes: "12" → 12.
func unquoteETag(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
