package history

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresStore reads the items table of the sample backend straight from
// Postgres, bypassing the target and toxiproxy: a cross-check of what the
// target's API says it holds (APIReader is the reader the checks trust).
type PostgresStore struct {
	dsn    string
	values *Values

	mu   sync.Mutex
	conn *pgx.Conn // opened on first use, reopened after an error
}

// NewPostgresStore returns a store reading from the database at dsn and
// decoding values with values. It connects lazily, on the first Read.
func NewPostgresStore(dsn string, values *Values) *PostgresStore {
	return &PostgresStore{dsn: dsn, values: values}
}

// Read returns the state of each of keys the table holds (a key it does
// not hold has NoValue).
func (s *PostgresStore) Read(ctx context.Context, keys []uint32) (map[uint32]State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		conn, err := pgx.Connect(ctx, s.dsn)
		if err != nil {
			return nil, fmt.Errorf("history: connect to postgres: %w", err)
		}
		s.conn = conn
	}
	states, err := s.read(ctx, keys)
	if err != nil {
		// The connection may be broken (the run just partitioned things):
		// start afresh next time.
		s.closeLocked()
		return nil, err
	}
	return states, nil
}

func (s *PostgresStore) read(ctx context.Context, keys []uint32) (map[uint32]State, error) {
	names := make([]string, len(keys))
	states := make(map[uint32]State, len(keys))
	for i, k := range keys {
		names[i] = KeyName(k)
		states[k] = State{Value: NoValue, Version: 0}
	}
	rows, err := s.conn.Query(ctx, "SELECT key, value, version FROM items WHERE key = ANY($1)", names)
	if err != nil {
		return nil, fmt.Errorf("history: read items: %w", err)
	}
	defer rows.Close()
	var key string
	var value []byte
	var version int64
	for rows.Next() {
		if err := rows.Scan(&key, &value, &version); err != nil {
			return nil, fmt.Errorf("history: read items: %w", err)
		}
		if k, ok := ParseKey(key); ok {
			states[k] = State{Value: s.values.Parse(value), Version: version}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: read items: %w", err)
	}
	return states, nil
}

// CrossCheck compares the final state the checks used with a second
// reader's view of the same keys, in one line for results.json.
func CrossCheck(ctx context.Context, name string, rd Reader, final map[uint32]State) string {
	keys := make([]uint32, 0, len(final))
	for k := range final {
		keys = append(keys, k)
	}
	other, err := rd.Read(ctx, keys)
	if err != nil {
		return fmt.Sprintf("%s: unreadable: %v", name, err)
	}
	differ, first, firstKey := 0, "", uint32(0)
	for _, k := range keys {
		a, b := final[k], other[k]
		if a.Value != b.Value {
			if differ == 0 || k < firstKey {
				firstKey, first = k, fmt.Sprintf("%s: api %s, %s %s", KeyName(k), a.Value, name, b.Value)
			}
			differ++
		}
	}
	if differ == 0 {
		return fmt.Sprintf("%s holds the same value as the API for all %d keys", name, len(keys))
	}
	return fmt.Sprintf("%s differs from the API on %d of %d keys (e.g. %s)", name, differ, len(keys), first)
}

// Close closes the connection, if any.
func (s *PostgresStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeLocked()
}

func (s *PostgresStore) closeLocked() error {
	if s.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.conn.Close(ctx)
	s.conn = nil
	if err != nil {
		return fmt.Errorf("history: close postgres: %w", err)
	}
	return nil
}

// ParseKey is the inverse of KeyName: "k17" → 17. Anything else, including
// leading zeros the load generator never produces, is not one of ours.
func ParseKey(key string) (uint32, bool) {
	if len(key) < 2 || key[0] != 'k' || (key[1] == '0' && len(key) > 2) {
		return 0, false
	}
	n, err := strconv.ParseUint(key[1:], 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}
