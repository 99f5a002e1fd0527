package harness

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/scenarios"
)

// maxSeedKeys bounds seeding: beyond it a scenario's reads start on an
// empty store (a log line says so).
const maxSeedKeys = 100_000

// seedWorkers is how many seed writes are in flight at once.
const seedWorkers = 16

// seed writes every key of the scenario's key space once, through the
// target's own API (so versions, caches and queues are the target's), and
// waits until the store holds them. Without it, reads of keys no write has
// touched yet are 404s that bypass every cache, and a scenario about
// caching would measure misses of absent keys.
func seed(ctx context.Context, baseURL string, sc *scenarios.Scenario, store history.Store) (int, error) {
	keys := 0
	for _, s := range sc.Load {
		keys = max(keys, s.Keys.Count)
	}
	if keys == 0 || keys > maxSeedKeys {
		return 0, nil
	}
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	work := make(chan uint32)
	var (
		mu      sync.Mutex
		acked   = make(map[uint32]int64, keys)
		firstEr error
		wg      sync.WaitGroup
	)
	for range seedWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				v, err := putRetrying(ctx, client, baseURL+"/items/"+history.KeyName(k))
				mu.Lock()
				if err != nil && firstEr == nil {
					firstEr = err
				}
				if err == nil {
					acked[k] = v
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for k := range uint32(keys) {
		select {
		case work <- k:
		case <-ctx.Done():
			break feed
		}
		mu.Lock()
		failed := firstEr != nil
		mu.Unlock()
		if failed {
			break
		}
	}
	close(work)
	wg.Wait()
	if firstEr != nil {
		return len(acked), fmt.Errorf("harness: seed: %w", firstEr)
	}
	if err := ctx.Err(); err != nil {
		return len(acked), err
	}
	// Queued writes must land before the load starts reading.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := history.WaitConverged(wctx, store, acked, 100*time.Millisecond); err != nil {
		return len(acked), fmt.Errorf("harness: seed: the store did not take the seed writes: %w", err)
	}
	return len(acked), nil
}

// putRetrying retries a seed write for a while: right after start a target
// may still be warming its pools and answer 5xx, and on a loaded machine its
// breaker may mark a slow store down for a second or two (seen with two
// environments side by side, harness/duet).
func putRetrying(ctx context.Context, client *http.Client, url string) (int64, error) {
	var err error
	for attempt := 1; attempt <= 10; attempt++ {
		var v int64
		if v, err = put(ctx, client, url); err == nil {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(min(time.Duration(attempt)*200*time.Millisecond, time.Second)):
		}
	}
	return 0, err
}

func put(ctx context.Context, client *http.Client, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader("seed"))
	if err != nil {
		return 0, err
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return 0, fmt.Errorf("PUT %s: %s", url, res.Status)
	}
	v, err := strconv.ParseInt(res.Header.Get("X-Version"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("PUT %s: X-Version %q: %w", url, res.Header.Get("X-Version"), err)
	}
	return v, nil
}
