package backend

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// login asks for a token for client.
func (ts *testServer) login(client string) string {
	ts.tb.Helper()
	r := ts.do(http.MethodPost, "/auth/login?client="+client, nil)
	if r.code != http.StatusOK {
		ts.tb.Fatalf("login: %d %s", r.code, r.body)
	}
	var body struct {
		Token     string `json:"token"`
		ExpiresIn int    `json:"expires_in"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Token == "" {
		ts.tb.Fatalf("login: %q: %v", r.body, err)
	}
	return body.Token
}

func bearerHeader(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// TestAuthSchemes: every scheme refuses item requests without a valid
// token (401 with a WWW-Authenticate challenge) and serves them with one;
// a session's logout takes effect at once, a JWT's cannot (409, and the
// token keeps working until it expires); with Redis cut, sessions fail
// closed (503) and JWTs keep working.
func TestAuthSchemes(t *testing.T) {
	for _, scheme := range []string{AuthHS256, AuthEdDSA, AuthSession} {
		t.Run(scheme, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) { c.Auth = scheme })
			k := ts.key("k")
			item := "/items/" + k
			for _, h := range []http.Header{nil, bearerHeader("not-a-token"), {"Authorization": {"Basic dXNlcjpwYXNz"}}} {
				r := ts.send(http.MethodGet, item, nil, h)
				if r.code != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("GET with %v: %d (WWW-Authenticate %q), want 401 with a Bearer challenge", h, r.code, r.header.Get("WWW-Authenticate"))
				}
			}
			token := ts.login("alice")
			if r := ts.send(http.MethodPut, item, strings.NewReader("v"), bearerHeader(token)); r.code != http.StatusOK {
				t.Fatalf("PUT with a token: %d %s", r.code, r.body)
			}
			if r := ts.send(http.MethodGet, item, nil, bearerHeader(token)); r.code != http.StatusOK || r.body != "v" {
				t.Fatalf("GET with a token: %d %q", r.code, r.body)
			}

			heal := ts.lab.cut(t, "backend->redis", "down")
			r := ts.send(http.MethodGet, item, nil, bearerHeader(token))
			heal()
			if want := map[bool]int{true: http.StatusServiceUnavailable, false: http.StatusOK}[scheme == AuthSession]; r.code != want {
				t.Errorf("GET with Redis cut: %d, want %d (%s)", r.code, want, map[bool]string{true: "sessions fail closed", false: "a JWT is checked locally"}[scheme == AuthSession])
			}

			r = ts.send(http.MethodPost, "/auth/logout", nil, bearerHeader(token))
			after := ts.send(http.MethodGet, item, nil, bearerHeader(token))
			if scheme == AuthSession {
				if r.code != http.StatusNoContent || after.code != http.StatusUnauthorized {
					t.Errorf("logout: %d, then GET %d; want 204, then 401", r.code, after.code)
				}
				return
			}
			left, err := strconv.ParseFloat(r.header.Get("X-Expires-In"), 64)
			if r.code != http.StatusConflict || err != nil || left <= 0 || after.code != http.StatusOK {
				t.Errorf("logout: %d (X-Expires-In %q), then GET %d; want 409 with the time left, then 200: a JWT cannot be revoked", r.code, r.header.Get("X-Expires-In"), after.code)
			}
		})
	}
}

// TestJWTExpires: a JWT stops working when it expires, and a new one works.
func TestJWTExpires(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Auth = AuthHS256; c.AuthTTL = time.Second })
	token := ts.login("bob")
	issued := time.Now()
	item := "/items/" + ts.key("k")
	eventually(t, 5*time.Second, "the token expires", func() (bool, string) {
		r := ts.send(http.MethodGet, item, nil, bearerHeader(token))
		return r.code == http.StatusUnauthorized, strconv.Itoa(r.code)
	})
	// exp has whole seconds (truncated): a 1s token lasts at most 1s.
	if took := time.Since(issued); took > 3*time.Second {
		t.Errorf("a 1s token expired after %s", took)
	}
	if r := ts.send(http.MethodGet, item, nil, bearerHeader(ts.login("bob"))); r.code != http.StatusNotFound {
		t.Errorf("GET with a fresh token: %d, want 404 (no such item)", r.code)
	}
}
