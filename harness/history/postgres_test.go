package history

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/labtest"
)

// TestPostgresStore reads a real Postgres of the lab (Docker; skipped
// without it unless LOADLAB_REQUIRE_DOCKER=1).
func TestPostgresStore(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Docker")
	}
	e := labtest.Up(t, env.Config{NoBackend: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	conn, err := pgx.Connect(ctx, e.PostgresDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// The table of docs/CONTRACTS.md; without the backend, the test makes it.
	for _, sql := range []string{
		`CREATE TABLE IF NOT EXISTS items(key text primary key, value bytea not null, version bigint not null, updated_at timestamptz not null default now())`,
		`INSERT INTO items(key, value, version) VALUES ('k0', 'a', 3), ('k17', 'b', 1), ('k4294967295', 'c', 9),
			('hello', 'd', 5), ('k01', 'e', 6), ('k-1', 'f', 7)
		 ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	st := NewPostgresStore(e.PostgresDSN)
	defer st.Close()
	got, err := st.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[uint32]int64{0: 3, 17: 1, 4294967295: 9}; !maps.Equal(got, want) {
		t.Errorf("versions %v, want %v", got, want)
	}

	// The store follows updates, and WaitConverged sees them.
	if _, err := conn.Exec(ctx, `UPDATE items SET version = 2 WHERE key = 'k17'`); err != nil {
		t.Fatal(err)
	}
	if d, err := WaitConverged(ctx, st, map[uint32]int64{17: 2, 0: 3}, 50*time.Millisecond); err != nil || d > 5*time.Second {
		t.Errorf("WaitConverged: %s, %v", d, err)
	}

	// A closed store reconnects on its next read.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Versions(ctx); err != nil {
		t.Errorf("read after close: %v", err)
	}

	bad := NewPostgresStore("postgres://nobody:wrong@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	defer bad.Close()
	if _, err := bad.Versions(ctx); err == nil {
		t.Error("read from nowhere succeeded")
	}
}
