package supervise

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls a supervisor's control API.
type Client struct {
	URL string // http://127.0.0.1:P
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// Stop kills the child and returns once it has been reaped.
func (c Client) Stop(ctx context.Context) (Status, error) {
	return c.call(ctx, http.MethodPost, "/stop")
}

// Start starts a new child; it fails while one runs. The child's readiness
// is the caller's to wait for.
func (c Client) Start(ctx context.Context) (Status, error) {
	return c.call(ctx, http.MethodPost, "/start")
}

// Status says whether a child runs.
func (c Client) Status(ctx context.Context) (Status, error) { return c.call(ctx, http.MethodGet, "/") }

func (c Client) call(ctx context.Context, method, path string) (Status, error) {
	var st Status
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, nil)
	if err != nil {
		return st, fmt.Errorf("supervise: %w", err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("supervise: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return st, fmt.Errorf("supervise: %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("supervise: %s %s: %w", method, path, err)
	}
	return st, nil
}
