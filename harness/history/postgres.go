package history

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresStore reads the items table of the sample backend (and of any
// target following docs/CONTRACTS.md) straight from Postgres, bypassing the
// target and toxiproxy: the ground truth of the history checks.
type PostgresStore struct {
	dsn string

	mu   sync.Mutex
	conn *pgx.Conn // opened on first use, reopened after an error
}

// NewPostgresStore returns a store reading from the database at dsn. It
// connects lazily, on the first Versions call.
func NewPostgresStore(dsn string) *PostgresStore { return &PostgresStore{dsn: dsn} }

// Versions returns the version of every item whose key the load generator
// could have written ("k<N>"); other keys are ignored.
func (s *PostgresStore) Versions(ctx context.Context) (map[uint32]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		conn, err := pgx.Connect(ctx, s.dsn)
		if err != nil {
			return nil, fmt.Errorf("history: connect to postgres: %w", err)
		}
		s.conn = conn
	}
	versions, err := s.read(ctx)
	if err != nil {
		// The connection may be broken (the run just partitioned things):
		// start afresh next time.
		s.closeLocked()
		return nil, err
	}
	return versions, nil
}

func (s *PostgresStore) read(ctx context.Context) (map[uint32]int64, error) {
	rows, err := s.conn.Query(ctx, "SELECT key, version FROM items")
	if err != nil {
		return nil, fmt.Errorf("history: read items: %w", err)
	}
	defer rows.Close()
	versions := map[uint32]int64{}
	var key string
	var version int64
	for rows.Next() {
		if err := rows.Scan(&key, &version); err != nil {
			return nil, fmt.Errorf("history: read items: %w", err)
		}
		if k, ok := ParseKey(key); ok {
			versions[k] = version
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: read items: %w", err)
	}
	return versions, nil
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
