package faults

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"

	"github.com/loadlab/loadlab/scenarios"
)

// tokenTarget serves the token contract; a logout takes effect revokeAfter
// later (as behind a cache of sessions), or never when revokeAfter < 0 (a
// JWT: 409). Its first refusals logins answer 503, as a session store that
// is healing does.
func tokenTarget(t *testing.T, revokeAfter time.Duration, refusals int) string {
	var mu sync.Mutex
	revokedAt := map[string]time.Time{}
	issued, refused := 0, 0
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/login", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if refused < refusals {
			refused++
			mu.Unlock()
			http.Error(w, "session store down", http.StatusServiceUnavailable)
			return
		}
		issued++
		tok := fmt.Sprintf("t%d", issued)
		mu.Unlock()
		fmt.Fprintf(w, `{"token": %q, "expires_in": 60}`, tok)
	})
	mux.HandleFunc("POST /auth/logout", func(w http.ResponseWriter, r *http.Request) {
		if revokeAfter < 0 {
			http.Error(w, "a JWT cannot be revoked", http.StatusConflict)
			return
		}
		mu.Lock()
		revokedAt[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")] = time.Now().Add(revokeAfter)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /items/{key}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at, ok := revokedAt[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		mu.Unlock()
		if ok && !time.Now().Before(at) {
			http.Error(w, "revoked", http.StatusUnauthorized)
			return
		}
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestRevokeMeasuresTheLag: the revoke fault times a logout that takes
// effect late, reports a token still taken at the end as -1, and records a
// target without the token contract as a failed fault. A schedule with a
// revoke fault needs the target's URL.
func TestRevokeMeasuresTheLag(t *testing.T) {
	fault := scenarios.Fault{Name: "logout", Revoke: scenarios.RevokeToken, At: 50 * time.Millisecond, For: time.Second}
	none := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(none.Close)
	c := toxiproxy.NewClient("127.0.0.1:1") // revoke faults never call toxiproxy
	if _, err := NewSchedule(c, nil, []scenarios.Fault{fault}); err == nil || !strings.Contains(err.Error(), "target") {
		t.Fatalf("a revoke fault without the target's URL: %v", err)
	}
	for _, tc := range []struct {
		name     string
		target   string
		lo, hi   float64 // the lag's bounds; -1: still taken
		errorHas string
	}{
		{"revoked 300ms late", tokenTarget(t, 300*time.Millisecond, 0), 0.3, 0.8, ""},
		{"revoked at once", tokenTarget(t, 0, 0), 0, 0.2, ""},
		{"revoked at once, login refused twice first", tokenTarget(t, 0, 2), 0, 0.2, ""},
		{"never revoked", tokenTarget(t, -1, 0), -1, -1, ""},
		{"no token contract", none.URL, 0, 0, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSchedule(c, nil, []scenarios.Fault{fault}, WithTarget(tc.target), quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			w := s.Run(context.Background(), start)[0]
			if tc.errorHas != "" {
				if !strings.Contains(w.Error, tc.errorHas) || w.ActiveFromS >= 0 {
					t.Errorf("window %+v, want a failed apply saying %q", w, tc.errorHas)
				}
				// A 4xx is the target's answer: no retry until the deadline.
				if took := time.Since(start); took >= DefaultActionTimeout {
					t.Errorf("the failed apply took %v, want it without retrying for %v", took, DefaultActionTimeout)
				}
				return
			}
			if w.Error != "" || w.Revoke != scenarios.RevokeToken || w.RevocationLagS == nil {
				t.Fatalf("window %+v", w)
			}
			if lag := *w.RevocationLagS; lag < tc.lo || lag > tc.hi {
				t.Errorf("revocation lag %.3fs, want within [%g, %g]", lag, tc.lo, tc.hi)
			}
		})
	}
}
