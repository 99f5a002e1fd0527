package tokens

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// target is a small target of the token contract: it issues numbered
// tokens valid for ttl seconds (0: no expires_in), refuses revoked and
// unknown ones with 401, and counts logins per client.
type target struct {
	mu      sync.Mutex
	ttl     int
	next    int
	owner   map[string]string // token → client
	logins  map[string]int
	failing bool // logins answer 503
}

func newTarget(t *testing.T, ttl int) (*target, *httptest.Server) {
	tg := &target{ttl: ttl, owner: map[string]string{}, logins: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/login", func(w http.ResponseWriter, r *http.Request) {
		tg.mu.Lock()
		defer tg.mu.Unlock()
		if tg.failing {
			http.Error(w, "redis down", http.StatusServiceUnavailable)
			return
		}
		client := r.URL.Query().Get("client")
		tg.next++
		tok := fmt.Sprintf("t%d", tg.next)
		tg.owner[tok] = client
		tg.logins[client]++
		fmt.Fprintf(w, `{"token": %q, "expires_in": %d}`, tok, tg.ttl)
	})
	mux.HandleFunc("POST /auth/logout", func(w http.ResponseWriter, r *http.Request) {
		tg.mu.Lock()
		defer tg.mu.Unlock()
		delete(tg.owner, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /items/{key}", func(w http.ResponseWriter, r *http.Request) {
		tg.mu.Lock()
		client, ok := tg.owner[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		tg.mu.Unlock()
		if !ok {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, client)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return tg, srv
}

func (tg *target) revokeAll() {
	tg.mu.Lock()
	clear(tg.owner)
	tg.mu.Unlock()
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestTransportTakesTurnsAndLogsInOnce: clients take turns, each logs in
// on its first request and keeps its token.
func TestTransportTakesTurnsAndLogsInOnce(t *testing.T) {
	tg, srv := newTarget(t, 0)
	pool := NewPool(http.DefaultTransport, srv.URL, "reads", 3)
	c := &http.Client{Transport: &Transport{Next: http.DefaultTransport, Pool: pool}}
	var served []string
	for range 6 {
		code, who := get(t, c, srv.URL+"/items/k1")
		if code != http.StatusOK {
			t.Fatalf("GET: %d", code)
		}
		served = append(served, who)
	}
	if got := strings.Join(served, " "); got != "reads-0 reads-1 reads-2 reads-0 reads-1 reads-2" {
		t.Errorf("served as %s, want the three clients in turn", got)
	}
	if pool.Logins() != 3 || tg.logins["reads-0"] != 1 {
		t.Errorf("%d logins (%v), want one per client", pool.Logins(), tg.logins)
	}
}

// TestTransportRefreshes: a token past half its life is replaced before
// it is sent, and one the target refused (401) is replaced on the next
// request.
func TestTransportRefreshes(t *testing.T) {
	tg, srv := newTarget(t, 10)
	pool := NewPool(http.DefaultTransport, srv.URL, "c", 1)
	now := time.Now()
	pool.now = func() time.Time { return now }
	c := &http.Client{Transport: &Transport{Next: http.DefaultTransport, Pool: pool}}
	get(t, c, srv.URL+"/items/k")
	now = now.Add(4 * time.Second)
	get(t, c, srv.URL+"/items/k")
	if n := pool.Logins(); n != 1 {
		t.Fatalf("%d logins 4s into a 10s token, want 1", n)
	}
	now = now.Add(2 * time.Second)
	get(t, c, srv.URL+"/items/k")
	if n := pool.Logins(); n != 2 {
		t.Fatalf("%d logins 6s into a 10s token, want 2 (refreshed at half its life)", n)
	}

	tg.revokeAll()
	if code, _ := get(t, c, srv.URL+"/items/k"); code != http.StatusUnauthorized {
		t.Fatalf("GET with a revoked token: %d, want 401", code)
	}
	if code, _ := get(t, c, srv.URL+"/items/k"); code != http.StatusOK || pool.Logins() != 3 {
		t.Errorf("GET after a 401: %d with %d logins, want 200 after a third login", code, pool.Logins())
	}
}

// TestFailedLoginFailsTheRequest: a login the target refuses fails the
// request it was for, and the next request tries again.
func TestFailedLoginFailsTheRequest(t *testing.T) {
	tg, srv := newTarget(t, 0)
	tg.failing = true
	c := &http.Client{Transport: Authorizing(http.DefaultTransport, srv.URL, "h")}
	if _, err := c.Get(srv.URL + "/items/k"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("GET with a failing login: %v, want the login's 503", err)
	}
	tg.mu.Lock()
	tg.failing = false
	tg.mu.Unlock()
	if code, who := get(t, c, srv.URL+"/items/k"); code != http.StatusOK || who != "h-0" {
		t.Errorf("GET once logins work: %d as %q", code, who)
	}
}

// TestLogoutAndTry: Try tells a taken token from a refused one.
func TestLogoutAndTry(t *testing.T) {
	_, srv := newTarget(t, 0)
	ctx := context.Background()
	tok, err := Login(ctx, http.DefaultTransport, srv.URL, "p")
	if err != nil {
		t.Fatal(err)
	}
	if err := Try(ctx, http.DefaultTransport, srv.URL, "/items/x", tok.Value); err != nil {
		t.Fatalf("Try with a fresh token: %v", err)
	}
	if code, err := Logout(ctx, http.DefaultTransport, srv.URL, tok.Value); err != nil || code != http.StatusNoContent {
		t.Fatalf("Logout: %d, %v", code, err)
	}
	if err := Try(ctx, http.DefaultTransport, srv.URL, "/items/x", tok.Value); err != ErrRejected {
		t.Errorf("Try after the logout: %v, want ErrRejected", err)
	}
}

// TestTransient: what may pass if tried again (no answer, a 5xx) against
// the target's considered answer (a 4xx).
func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{fmt.Errorf("tokens: login p: %w", &StatusError{Status: http.StatusServiceUnavailable}), true},
		{fmt.Errorf("tokens: login p: %w", &StatusError{Status: http.StatusNotFound}), false},
		{fmt.Errorf("tokens: login p: %w", errors.New("connection refused")), true},
	} {
		if got := Transient(tc.err); got != tc.want {
			t.Errorf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
