package backend

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// TestAbandonedStatementRunsToItsEnd: when a caller gives up while its
// statement runs, the statement and the rest of db_hold run to their end,
// as Postgres would run a heavier query for a client that has gone, and the
// connection goes back to the pool. Cancelled in flight, pgx closes the
// connection: the retry-storm backend then reopened one per abandoned
// request and stayed down after its latency spike had ended; and work that
// stops with its caller cannot keep a retry storm going.
// Planted: the statement under the caller's context opens a second
// connection below; the hold under it returns early; both fail the test.
func TestAbandonedStatementRunsToItsEnd(t *testing.T) {
	l := getLab(t)
	cfg := l.testConfig("abandon")
	cfg.DBPool = 1
	cfg.DBHold = 600 * time.Millisecond
	cfg.DBTimeout = 5 * time.Second
	counter := func(name string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name}, []string{"op"})
	}
	db, err := newPGStore(cfg, counter("q"), counter("e"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec := func(sql string) func(context.Context, *pgxpool.Conn) error {
		return func(ctx context.Context, conn *pgxpool.Conn) error {
			_, err := conn.Exec(ctx, sql)
			return err
		}
	}
	if err := db.call(ctx, "get", exec("SELECT 1")); err != nil {
		t.Fatal(err)
	}
	if opened := db.stats().opened; opened != 1 {
		t.Fatalf("%d connections opened by the first call, want 1", opened)
	}

	caller, gaveUp := context.WithTimeout(ctx, 100*time.Millisecond)
	defer gaveUp()
	start := time.Now()
	if err := db.call(caller, "get", exec("SELECT pg_sleep(0.3)")); err != nil {
		t.Fatalf("the abandoned statement: %v", err)
	}
	if took := time.Since(start); took < 550*time.Millisecond {
		t.Errorf("the abandoned call returned after %s: its statement (0.3 s) or its hold (0.6 s) was cut short", took)
	}

	if err := db.call(ctx, "get", exec("SELECT 1")); err != nil {
		t.Fatal(err)
	}
	if opened := db.stats().opened; opened != 1 {
		t.Errorf("%d connections opened: the abandoned statement's connection was closed", opened)
	}
}
