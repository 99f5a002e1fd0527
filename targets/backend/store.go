package backend

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// The schema the harness reads for its history checks (docs/CONTRACTS.md).
const schemaSQL = `CREATE TABLE IF NOT EXISTS items (
	key        text PRIMARY KEY,
	value      bytea NOT NULL,
	version    bigint NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
)`

const getSQL = `SELECT value, version FROM items WHERE key = $1`

// putSQL is a synchronous write. Postgres allocates the version under the
// row lock, never below the floor the caller passes: 0 gives the plain
// sequence 1, 2, 3...; a hybrid-clock floor keeps sync and queued writes in
// one order (see hybridClock).
const putSQL = `INSERT INTO items (key, value, version) VALUES ($1, $2, GREATEST(1, $3::bigint))
ON CONFLICT (key) DO UPDATE
	SET value = EXCLUDED.value, version = GREATEST(items.version + 1, $3::bigint), updated_at = now()
RETURNING version`

// applySQL applies a queued write whose version was allocated at accept
// time. It only ever moves a key's version forward, so a redelivered message
// changes nothing and a lower version never overwrites a higher one.
const applySQL = `INSERT INTO items (key, value, version) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE
	SET value = EXCLUDED.value, version = EXCLUDED.version, updated_at = now()
	WHERE items.version < EXCLUDED.version`

// Item is a stored value with its version.
type Item struct {
	Value   []byte
	Version int64
}

// pgStore is the Postgres side: a pgx pool, a deadline on every call, and a
// breaker that turns a run of failures into immediate refusals.
type pgStore struct {
	pool    *pgxpool.Pool
	timeout time.Duration
	hold    time.Duration // db_hold: the least time a call keeps its connection
	breaker *breaker
	queries *prometheus.CounterVec // by op: statements sent
	errors  *prometheus.CounterVec // by op
}

func newPGStore(cfg Config, queries, errs *prometheus.CounterVec) (*pgStore, error) {
	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("backend: database_url: %w", err)
	}
	switch {
	case cfg.DBPool > 0:
		// A deliberately small pool bounds the backend's capacity at
		// pool ÷ service time: the lessons about overload need that bound.
		pc.MaxConns = int32(cfg.DBPool)
	case !strings.Contains(cfg.DatabaseURL, "pool_max_conns"):
		pc.MaxConns = 16 // pgxpool's default (max(4, CPUs)) is a bottleneck under load
	}
	// Every session of the pool commits as the setting says.
	pc.ConnConfig.RuntimeParams["synchronous_commit"] = cfg.SynchronousCommit
	if pc.ConnConfig.ConnectTimeout == 0 {
		// A connection attempt outlives the Acquire that started it; bound it
		// so attempts into a black-holed link do not pile up.
		pc.ConnConfig.ConnectTimeout = max(2*time.Second, 4*cfg.DBTimeout)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), pc) // connects lazily
	if err != nil {
		return nil, fmt.Errorf("backend: postgres pool: %w", err)
	}
	return &pgStore{
		pool:    pool,
		timeout: cfg.DBTimeout,
		hold:    cfg.DBHold,
		breaker: newBreaker(cfg.BreakerThreshold, cfg.BreakerCooldown),
		queries: queries,
		errors:  errs,
	}, nil
}

// waitReady creates the schema, retrying with backoff until it succeeds or
// ctx ends: Postgres may come up after the backend.
func (s *pgStore) waitReady(ctx context.Context, log *slog.Logger) error {
	backoff := 100 * time.Millisecond
	for {
		attempt, cancel := context.WithTimeout(ctx, max(2*time.Second, s.timeout))
		_, err := s.pool.Exec(attempt, schemaSQL)
		if err == nil {
			_, err = s.pool.Exec(attempt, counterSchemaSQL)
		}
		cancel()
		if err == nil {
			return nil
		}
		s.errors.WithLabelValues("schema").Inc()
		log.Info("waiting for postgres", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return fmt.Errorf("backend: postgres not ready: %w (last error: %w)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// call runs fn on a pooled connection under the store's deadline, through
// the breaker, and classifies its error.
func (s *pgStore) call(ctx context.Context, op string, fn func(ctx context.Context, conn *pgxpool.Conn) error) error {
	if !s.breaker.allow() {
		s.errors.WithLabelValues(op).Inc()
		return &unavailableError{store: "postgres", op: op, err: errMarkedDown}
	}
	deadline := time.Now().Add(s.timeout)
	cctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	acquired := false
	conn, err := s.pool.Acquire(cctx) // a caller that gives up stops waiting
	if err == nil {
		acquired = true
		s.queries.WithLabelValues(op).Inc()
		// Once sent, a statement, and db_hold (the rest of a heavier one),
		// runs to its end within db_timeout whether its caller is still
		// there or not. So does Postgres for a client that has gone: it
		// notices only when it answers. And pgx closes a connection whose
		// statement is cancelled in flight, so that a pool that cancelled
		// them would reopen one per abandoned request. The work done for
		// callers that gave up is what keeps a retry storm going after
		// its cause has passed (retry-storm); the reopening made recovery
		// a matter of luck (its budget variant stayed down in 3 runs of 13).
		qctx, qcancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		held := time.Now().Add(s.hold)
		err = fn(qctx, conn)
		if err == nil || errors.Is(err, pgx.ErrNoRows) {
			err = cmp.Or(holdUntil(qctx, held), err)
		}
		qcancel()
		conn.Release()
	}
	if err == nil || errors.Is(err, pgx.ErrNoRows) {
		s.breaker.success()
		return err
	}
	err = classifyPostgres(op, err, acquired)
	if ctx.Err() != nil {
		return err // the caller gave up; says nothing about Postgres
	}
	s.errors.WithLabelValues(op).Inc()
	if isUnavailable(err) {
		s.breaker.failure()
	} else {
		s.breaker.success()
	}
	return err
}

// holdUntil waits until t, as the rest of a heavier query would (db_hold),
// or until ctx ends (db_timeout).
func holdUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// get reads one item; found is false when the key was never written.
func (s *pgStore) get(ctx context.Context, key string) (it Item, found bool, err error) {
	err = s.call(ctx, "get", func(ctx context.Context, conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, getSQL, key).Scan(&it.Value, &it.Version)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Item{}, false, nil
	}
	return it, err == nil, err
}

// put writes synchronously and returns the version the write got.
func (s *pgStore) put(ctx context.Context, key string, value []byte, floor int64) (version int64, err error) {
	err = s.call(ctx, "put", func(ctx context.Context, conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, putSQL, key, value, floor).Scan(&version)
	})
	return version, err
}

// apply applies a queued write; applied is false when the key already had
// this version or a newer one.
func (s *pgStore) apply(ctx context.Context, w QueuedWrite) (applied bool, err error) {
	err = s.call(ctx, "apply", func(ctx context.Context, conn *pgxpool.Conn) error {
		tag, err := conn.Exec(ctx, applySQL, w.Key, w.Value, w.Version)
		applied = tag.RowsAffected() == 1
		return err
	})
	return applied, err
}

func (s *pgStore) stats() poolStats {
	st := s.pool.Stat()
	return poolStats{acquired: st.AcquiredConns(), idle: st.IdleConns(), constructing: st.ConstructingConns(), opened: st.NewConnsCount()}
}

func (s *pgStore) close() { s.pool.Close() }
