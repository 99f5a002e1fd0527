package backend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// StreamGroup is the consumer group of the write stream. The stream's key is
// "<redis_prefix>:writes"; each message has the fields key, version and value.
const StreamGroup = "appliers"

// counterTTL is how long a key's version counter survives without writes.
// The counter only guards against a clock that stepped back between
// processes; versions come from the hybrid clock.
const counterTTL = 24 * time.Hour

// QueuedWrite is one write in the stream: its key, the version it was
// acknowledged with, and its value.
type QueuedWrite struct {
	ID      string // stream entry ID; empty for a write that is not from the stream
	Key     string
	Version int64
	Value   []byte
}

// enqueue allocates the write's version (never below floor) and appends it
// to the stream, updating ts in the same step.
func (r *redisStore) enqueue(ctx context.Context, key string, value []byte, floor int64, ts []target) (int64, error) {
	keys := []string{r.counterKey(key), r.streamKey()}
	for _, t := range ts {
		keys = append(keys, t.rkey)
	}
	args := appendTargetArgs([]any{floor, key, value, time.Now().UnixMilli(), counterTTL.Milliseconds()}, ts)
	var version int64
	err := r.call(ctx, "enqueue", 0, func(ctx context.Context) error {
		var err error
		version, err = enqueueScript.Run(ctx, r.client, keys, args...).Int64()
		return err
	})
	return version, err
}

func parseQueuedWrite(m redis.XMessage) (QueuedWrite, error) {
	key, _ := m.Values["key"].(string)
	version, _ := m.Values["version"].(string)
	value, _ := m.Values["value"].(string)
	v, err := strconv.ParseInt(version, 10, 64)
	if err != nil || !validKey(key) || v <= 0 {
		return QueuedWrite{}, fmt.Errorf("backend: malformed queued write %s: key %q version %q", m.ID, key, version)
	}
	return QueuedWrite{ID: m.ID, Key: key, Version: v, Value: []byte(value)}, nil
}

// worker applies queued writes to Postgres. It first drains its own pending
// messages (delivered before but not acknowledged: a failed apply), then
// claims messages another consumer left pending for queue_claim_idle, then
// reads new ones. A message is acknowledged and deleted only after Postgres
// holds its version, so the stream's length is the number of writes not yet
// applied. Applying twice is harmless (see applySQL).
type worker struct {
	s        *Server
	consumer string
	batch    int64
	block    time.Duration
}

func newWorker(s *Server) *worker {
	host, _ := os.Hostname()
	return &worker{
		s:        s,
		consumer: fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano()),
		batch:    64,
		block:    500 * time.Millisecond,
	}
}

func (w *worker) run(ctx context.Context) {
	log := w.s.log.With("component", "queue-worker", "consumer", w.consumer)
	backoff := newBackoff(50*time.Millisecond, time.Second)
	groupReady := false
	lastClaim := time.Time{}
	for ctx.Err() == nil {
		if !groupReady {
			if err := w.createGroup(ctx); err != nil {
				log.Debug("creating consumer group", "err", err)
				backoff.wait(ctx)
				continue
			}
			groupReady = true
		}
		msgs, err := w.readPending(ctx)
		if err == nil && len(msgs) == 0 && time.Since(lastClaim) >= w.s.cfg.QueueClaimIdle/2 {
			lastClaim = time.Now()
			msgs, err = w.claim(ctx)
		}
		if err == nil && len(msgs) == 0 {
			msgs, err = w.readNew(ctx)
		}
		if err != nil {
			if strings.Contains(err.Error(), "NOGROUP") {
				groupReady = false // Redis lost the stream: recreate the group
			}
			if ctx.Err() == nil {
				log.Debug("reading the write stream", "err", err)
			}
			backoff.wait(ctx)
			continue
		}
		if err := w.applyAll(ctx, msgs); err != nil {
			if ctx.Err() == nil {
				log.Debug("applying queued writes", "err", err)
			}
			backoff.wait(ctx)
			continue
		}
		backoff.reset()
		if len(msgs) > 0 {
			w.s.pollQueue(ctx)
		}
	}

}

func (w *worker) createGroup(ctx context.Context) error {
	r := w.s.redis
	err := r.call(ctx, "queue_group", 0, func(ctx context.Context) error {
		return r.client.XGroupCreateMkStream(ctx, r.streamKey(), StreamGroup, "0").Err()
	})
	if err != nil && strings.Contains(err.Error(), "BUSYGROUP") {
		return nil
	}
	return err
}

func (w *worker) readGroup(ctx context.Context, op, id string, block time.Duration) ([]redis.XMessage, error) {
	r := w.s.redis
	var streams []redis.XStream
	err := r.call(ctx, op, block, func(ctx context.Context) error {
		var err error
		streams, err = r.client.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group:    StreamGroup,
			Consumer: w.consumer,
			Streams:  []string{r.streamKey(), id},
			Count:    w.batch,
			Block:    block,
		}).Result()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil || len(streams) == 0 {
		return nil, err
	}
	return streams[0].Messages, nil
}

// readPending returns this consumer's delivered but unacknowledged messages.
func (w *worker) readPending(ctx context.Context) ([]redis.XMessage, error) {
	return w.readGroup(ctx, "queue_read", "0", -1) // -1: no BLOCK argument
}

func (w *worker) readNew(ctx context.Context) ([]redis.XMessage, error) {
	return w.readGroup(ctx, "queue_read", ">", w.block)
}

// claim takes over messages pending on other consumers (a crashed process)
// for longer than queue_claim_idle.
func (w *worker) claim(ctx context.Context) ([]redis.XMessage, error) {
	r := w.s.redis
	var msgs []redis.XMessage
	err := r.call(ctx, "queue_claim", 0, func(ctx context.Context) error {
		var err error
		msgs, _, err = r.client.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream:   r.streamKey(),
			Group:    StreamGroup,
			Consumer: w.consumer,
			MinIdle:  w.s.cfg.QueueClaimIdle,
			Start:    "0-0",
			Count:    w.batch,
		}).Result()
		return err
	})
	return msgs, err
}

// applyAll applies msgs in order and acknowledges the applied prefix. It
// stops at the first failure; the rest stay pending and are retried.
func (w *worker) applyAll(ctx context.Context, msgs []redis.XMessage) error {
	done := make([]string, 0, len(msgs))
	var failed error
	for _, m := range msgs {
		qw, err := parseQueuedWrite(m)
		if err != nil {
			w.s.log.Error("dropping queued write", "err", err)
			done = append(done, m.ID)
			continue
		}
		if _, err := w.s.Apply(ctx, qw); err != nil {
			if isUnavailable(err) {
				failed = err
				break
			}
			// Postgres refused this write for good (a bug or bad data):
			// retrying would block the queue forever.
			w.s.log.Error("dropping queued write Postgres refused", "key", qw.Key, "version", qw.Version, "err", err)
		}
		done = append(done, m.ID)
	}
	if len(done) > 0 {
		if err := w.ack(ctx, done); err != nil && failed == nil {
			failed = err
		}
	}
	return failed
}

// ack acknowledges and deletes applied messages; a message whose ack is
// lost is delivered again and applies as a no-op.
func (w *worker) ack(ctx context.Context, ids []string) error {
	r := w.s.redis
	return r.call(ctx, "queue_ack", 0, func(ctx context.Context) error {
		_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.XAck(ctx, r.streamKey(), StreamGroup, ids...)
			p.XDel(ctx, r.streamKey(), ids...)
			return nil
		})
		return err
	})
}

// queueStats returns the number of writes not yet applied and the age of the
// oldest one, read from its stream ID (milliseconds since the epoch).
func (r *redisStore) queueStats(ctx context.Context) (depth int64, lag time.Duration, err error) {
	var oldest []redis.XMessage
	err = r.call(ctx, "queue_depth", 0, func(ctx context.Context) error {
		cmds, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.XLen(ctx, r.streamKey())
			p.XRangeN(ctx, r.streamKey(), "-", "+", 1)
			return nil
		})
		if err != nil {
			return err
		}
		depth = cmds[0].(*redis.IntCmd).Val()
		oldest = cmds[1].(*redis.XMessageSliceCmd).Val()
		return nil
	})
	if err != nil || len(oldest) == 0 {
		return depth, 0, err
	}
	ms, perr := strconv.ParseInt(strings.SplitN(oldest[0].ID, "-", 2)[0], 10, 64)
	if perr != nil {
		return depth, 0, nil
	}
	return depth, max(0, time.Since(time.UnixMilli(ms))), nil
}

// backoff is an exponential delay between retries of a background loop.
type backoff struct {
	min, max, cur time.Duration
}

func newBackoff(lo, hi time.Duration) *backoff { return &backoff{min: lo, max: hi, cur: lo} }

func (b *backoff) wait(ctx context.Context) {
	t := time.NewTimer(b.cur)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	b.cur = min(2*b.cur, b.max)
}

func (b *backoff) reset() { b.cur = b.min }
