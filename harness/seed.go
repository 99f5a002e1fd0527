package harness

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/harness/tokens"
	"github.com/loadlab/loadlab/scenarios"
)

// maxSeedKeys bounds seeding: beyond it a scenario's reads start on an
// empty store (a log line says so).
const maxSeedKeys = 100_000

// seedWorkers is how many seed writes are in flight at once. Few: each one
// in flight can make a freshly started target open a database connection
// (a Postgres process forked and authenticated), and on 2 cores four keep
// up with sixteen once connected. 200 PUTs to a sample backend just started
// took 450–530 ms with 16 in flight (some answered 5xx, retried after
// 200 ms), 160–200 ms with 4; 110–170 ms either way once warm.
const seedWorkers = 4

// seed writes every key of the scenario's key space once (when a stream
// reads items), through the target's own API (so versions, caches and
// queues are the target's), each with its own seed value
// (history.SeedValue), and waits until the target's API returns them.
// Without it, reads of keys no write has touched yet are 404s that bypass
// every cache, and a scenario about caching would measure misses of absent
// keys.
func seed(ctx context.Context, baseURL string, sc *scenarios.Scenario, values *history.Values, rd history.Reader) (int, error) {
	keys, reads := 0, false
	for _, s := range sc.Load {
		if !s.IsIncrement() { // counters start at zero
			keys = max(keys, s.Keys.Count)
		}
		reads = reads || !s.IsWrite()
	}
	if !reads {
		return 0, nil // nothing reads a key before a write of the run: keys start absent
	}
	if keys == 0 || keys > maxSeedKeys {
		return 0, nil
	}
	client := &http.Client{Timeout: 5 * time.Second}
	if sc.Authenticates() {
		client.Transport = tokens.Authorizing(http.DefaultTransport, baseURL, harnessClient)
	}
	defer client.CloseIdleConnections()
	work := make(chan uint32)
	var (
		mu      sync.Mutex
		acked   = make(map[uint32]history.Value, keys)
		firstEr error
		wg      sync.WaitGroup
	)
	for range seedWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				err := putRetrying(ctx, client, baseURL+"/items/"+history.KeyName(k), values.Body(history.SeedValue(k)))
				mu.Lock()
				if err != nil && firstEr == nil {
					firstEr = err
				}
				if err == nil {
					acked[k] = history.SeedValue(k)
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
	if err := history.WaitHolds(wctx, rd, acked, 100*time.Millisecond); err != nil {
		return len(acked), fmt.Errorf("harness: seed: the store did not take the seed writes: %w", err)
	}
	return len(acked), nil
}

// putRetrying retries a seed write for a while: right after start a target
// may still be warming its pools and answer 5xx, and on a loaded machine its
// breaker may mark a slow store down for a second or two (seen with two
// environments side by side, harness/duet).
func putRetrying(ctx context.Context, client *http.Client, url string, body []byte) error {
	var err error
	for attempt := 1; attempt <= 10; attempt++ {
		if err = put(ctx, client, url, body); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(time.Duration(attempt)*200*time.Millisecond, time.Second)):
		}
	}
	return err
}

func put(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("PUT %s: %s", url, res.Status)
	}
	return nil
}
