package history

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// APIReader reads the final state through the target's own items API
// (GET /items/k<N>), so a target may keep its data wherever it likes: the
// items contract is all the checker relies on. Point it around toxiproxy.
type APIReader struct {
	base    string
	values  *Values
	client  *http.Client
	workers int
}

// NewAPIReader reads from the target at baseURL (e.g. http://127.0.0.1:49170),
// decoding bodies with values.
func NewAPIReader(baseURL string, values *Values, opts ...APIReaderOption) *APIReader {
	var rt http.RoundTripper = &http.Transport{MaxIdleConnsPerHost: apiReaders, DisableCompression: true}
	for _, o := range opts {
		rt = o(rt)
	}
	return &APIReader{
		base:    strings.TrimRight(baseURL, "/"),
		values:  values,
		client:  &http.Client{Timeout: 5 * time.Second, Transport: rt},
		workers: apiReaders,
	}
}

// apiReaders is how many reads an APIReader has in flight at once: as many
// as the seed has writes (harness/seed.go), so that reading the seed back
// meets a target's database pool as warm as the writes left it (every read
// more in flight could open one more connection).
const apiReaders = 4

// APIReaderOption wraps the reader's HTTP transport.
type APIReaderOption func(http.RoundTripper) http.RoundTripper

// WithTransport wraps the reader's HTTP transport in wrap: to send a
// bearer token to a target that wants one (tokens.Authorizing).
func WithTransport(wrap func(http.RoundTripper) http.RoundTripper) APIReaderOption {
	return APIReaderOption(wrap)
}

// Close releases idle connections.
func (a *APIReader) Close() { a.client.CloseIdleConnections() }

// Read GETs every key, 16 at a time. A 200 is the value its body carries,
// a 404 is NoValue; any other answer leaves the key out and counts as an
// error.
func (a *APIReader) Read(ctx context.Context, keys []uint32) (map[uint32]State, error) {
	out := make(map[uint32]State, len(keys))
	var (
		mu     sync.Mutex
		failed int
		first  error
		wg     sync.WaitGroup
	)
	work := make(chan uint32)
	for range min(a.workers, max(1, len(keys))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				st, err := a.get(ctx, k)
				mu.Lock()
				if err != nil {
					failed++
					if first == nil {
						first = err
					}
				} else {
					out[k] = st
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, k := range keys {
		select {
		case work <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil && len(out) < len(keys) {
		return out, fmt.Errorf("history: read %d of %d keys: %w", len(out), len(keys), errors.Join(err, first))
	}
	if failed > 0 {
		return out, fmt.Errorf("history: %d of %d keys unreadable, first: %w", failed, len(keys), first)
	}
	return out, nil
}

func (a *APIReader) get(ctx context.Context, k uint32) (State, error) {
	url := a.base + "/items/" + KeyName(k)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return State{}, err
	}
	res, err := a.client.Do(req)
	if err != nil {
		return State{}, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, int64(a.values.MaxLen())+1))
	if err != nil {
		return State{}, fmt.Errorf("GET %s: %w", url, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	st := State{Version: ParseVersion(res.Header.Get("X-Version")), Source: ParseSource(strings.TrimSpace(res.Header.Get("X-Source")))}
	switch res.StatusCode {
	case http.StatusOK:
		st.Value = a.values.Parse(body)
	case http.StatusNotFound:
		st.Value = NoValue
	default:
		return State{}, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return st, nil
}

// ParseVersion reads an X-Version hint: NoVersion when absent or garbled.
func ParseVersion(h string) int64 {
	v, err := strconv.ParseInt(strings.TrimSpace(h), 10, 64)
	if err != nil || v == NoVersion {
		return NoVersion
	}
	return v
}
