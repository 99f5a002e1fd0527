package history

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/loadlab/loadlab/reports/results"
)

// Increments are the ops of counter streams (POST …/increment): each
// acknowledged one must add exactly one to its key's counter. Their check
// needs no values, only counts: a key's final counter must lie between its
// acknowledged increments and those plus the ones whose outcome is unknown.
// Below is a lost update (an acknowledged increment that did not count);
// above, an increment applied twice, or one that was refused yet applied.

// SplitIncrements separates the ops of the increment streams (increment[s]
// true for stream s) from the item ops the register checks take. Without
// increment streams it returns ops itself.
func SplitIncrements(ops []Op, increment []bool) (items, increments []Op) {
	if !slices.Contains(increment, true) {
		return ops, nil
	}
	for _, op := range ops {
		if int(op.Stream) < len(increment) && increment[op.Stream] {
			increments = append(increments, op)
		} else {
			items = append(items, op)
		}
	}
	return items, increments
}

// CheckIncrements compares the increments of each key with its final
// counter (final: counter value by key index, as the store holds it; a key
// absent from final holds 0).
func CheckIncrements(ops []Op, final map[uint32]int64) results.Increments {
	type count struct{ acked, unknown int64 }
	byKey := map[uint32]*count{}
	var c results.Increments
	for _, op := range ops {
		k := byKey[op.Key]
		if k == nil {
			k = &count{}
			byKey[op.Key] = k
		}
		c.Sent++
		switch op.Outcome {
		case OK:
			k.acked++
			c.Acked++
		case Unknown:
			k.unknown++
			c.Unknown++
		}
	}
	c.Keys = len(byKey)
	for key, k := range byKey {
		v := final[key]
		c.Final += v
		switch {
		case v < k.acked:
			c.Lost += k.acked - v
			c.KeysLosing++
		case v > k.acked+k.unknown:
			c.Extra += v - k.acked - k.unknown
		}
	}
	if c.Acked > 0 {
		c.LostRatio = float64(c.Lost) / float64(c.Acked)
	}
	return c
}

// ReadCounters reads every counter of the sample backend's counters table
// straight from Postgres: the final state of an increment check is the
// store's, not what the API says about it.
func ReadCounters(ctx context.Context, dsn string) (map[uint32]int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("history: connect to postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, "SELECT key, value FROM counters")
	if err != nil {
		return nil, fmt.Errorf("history: read counters: %w", err)
	}
	defer rows.Close()
	out := map[uint32]int64{}
	var key string
	var value int64
	for rows.Next() {
		if err := rows.Scan(&key, &value); err != nil {
			return nil, fmt.Errorf("history: read counters: %w", err)
		}
		if k, ok := ParseKey(key); ok {
			out[k] = value
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: read counters: %w", err)
	}
	return out, nil
}
