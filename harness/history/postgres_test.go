package history

import (
	"context"
	"maps"
	"strings"
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
	// The table of docs/CONTRACTS.md; without the backend, the test makes
	// it. k0 holds its seed value, as the run's seeding writes it (padded
	// to the run's write size).
	values := NewValues("cafe", []int{0, 40})
	for _, sql := range []string{
		`CREATE TABLE IF NOT EXISTS items(key text primary key, value bytea not null, version bigint not null, updated_at timestamptz not null default now())`,
		`INSERT INTO items(key, value, version) VALUES ('k0', $1, 3), ('k17', 'b', 1), ('k4294967295', 'c', 9),
			('hello', 'd', 5), ('k01', 'e', 6), ('k-1', 'f', 7)
		 ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version`,
	} {
		var args []any
		if strings.Contains(sql, "$1") {
			args = append(args, values.Body(SeedValue(0)))
		}
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	st := NewPostgresStore(e.PostgresDSN, values)
	defer st.Close()
	got, err := st.Read(ctx, []uint32{0, 17, 4294967295, 5})
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]State{0: {Value: SeedValue(0), Version: 3}, 17: {Value: Foreign, Version: 1}, 4294967295: {Value: Foreign, Version: 9}, 5: {}}
	if !maps.Equal(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}

	// The store follows updates, and WaitHolds sees them.
	body := values.Body(WriteValue(1, 7))
	if _, err := conn.Exec(ctx, `UPDATE items SET value = $1, version = 2 WHERE key = 'k17'`, body); err != nil {
		t.Fatal(err)
	}
	if err := WaitHolds(ctx, st, map[uint32]Value{17: WriteValue(1, 7), 0: SeedValue(0)}, 50*time.Millisecond); err != nil {
		t.Errorf("WaitHolds: %v", err)
	}
	if line := CrossCheck(ctx, "postgres", st, map[uint32]State{17: {Value: WriteValue(1, 7), Version: 2}, 0: {Value: Foreign, Version: 3}}); !strings.Contains(line, "differs from the API on 1 of 2 keys (e.g. k0: api foreign, postgres seed:k0)") {
		t.Errorf("cross-check: %s", line)
	}

	// A closed store reconnects on its next read.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Read(ctx, []uint32{0}); err != nil {
		t.Errorf("read after close: %v", err)
	}

	bad := NewPostgresStore("postgres://nobody:wrong@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", values)
	defer bad.Close()
	if _, err := bad.Read(ctx, []uint32{0}); err == nil {
		t.Error("read from nowhere succeeded")
	}
}
