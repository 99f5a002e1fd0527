// Package tokens is the client side of a target's bearer-token contract
// (targets/README.md, "Authentication"): POST /auth/login?client=NAME
// answers {"token": "...", "expires_in": seconds}; POST /auth/logout with
// the token revokes it if the target can (204) or says it cannot (409).
//
// The load engine keeps one token per simulated client (Pool, Transport);
// the revoke fault logs a probe client in and out (Login, Logout) and times
// how long its token still works (Try).
package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Token is a bearer token and how long the target said it lasts.
type Token struct {
	Value    string
	Lifetime time.Duration // 0 when the target did not say
}

// maxAnswer bounds what is read of an auth answer.
const maxAnswer = 64 << 10

// StatusError is an answer of the target that refused a request.
type StatusError struct{ Status int }

func (e *StatusError) Error() string {
	return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
}

// Transient reports whether err may pass if tried again: the request never
// got an answer, or the target answered 5xx (a store it needs was down). A
// 4xx is the target's considered answer.
func Transient(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status >= 500
	}
	return err != nil
}

// Login asks the target at base (http://127.0.0.1:P) for a token for client.
func Login(ctx context.Context, rt http.RoundTripper, base, client string) (Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/auth/login?client="+url.QueryEscape(client), nil)
	if err != nil {
		return Token{}, fmt.Errorf("tokens: login: %w", err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return Token{}, fmt.Errorf("tokens: login %s: %w", client, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return Token{}, fmt.Errorf("tokens: login %s: %w", client, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Token{}, fmt.Errorf("tokens: login %s: %w", client, &StatusError{Status: resp.StatusCode})
	}
	var answer struct {
		Token     string  `json:"token"`
		ExpiresIn float64 `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Token == "" {
		return Token{}, fmt.Errorf("tokens: login %s: want {\"token\": ..., \"expires_in\": ...}, got %.80q", client, body)
	}
	return Token{Value: answer.Token, Lifetime: time.Duration(max(answer.ExpiresIn, 0) * float64(time.Second))}, nil
}

// Logout asks the target to revoke token and returns its answer's status:
// 204 revoked, 409 the target cannot revoke it (a JWT).
func Logout(ctx context.Context, rt http.RoundTripper, base, token string) (int, error) {
	status, err := send(ctx, rt, http.MethodPost, base+"/auth/logout", token)
	switch {
	case err != nil:
		return 0, fmt.Errorf("tokens: logout: %w", err)
	case status != http.StatusNoContent && status != http.StatusConflict:
		return status, fmt.Errorf("tokens: logout: %w", &StatusError{Status: status})
	}
	return status, nil
}

// Authorize sets req's bearer token.
func Authorize(req *http.Request, token string) {
	req.Header.Set("Authorization", "Bearer "+token)
}

// ErrRejected is Try's error when the target refused the token (401).
var ErrRejected = errors.New("tokens: token rejected (401)")

// Try sends GET base+path with token: nil when the target took the token
// (any answer but 401 and 5xx), ErrRejected on 401, another error when it
// could not tell (a 5xx, a transport error).
func Try(ctx context.Context, rt http.RoundTripper, base, path, token string) error {
	status, err := send(ctx, rt, http.MethodGet, base+path, token)
	switch {
	case err != nil:
		return fmt.Errorf("tokens: try: %w", err)
	case status == http.StatusUnauthorized:
		return ErrRejected
	case status >= 500:
		return fmt.Errorf("tokens: try: %w", &StatusError{Status: status})
	}
	return nil
}

// send sends a request without a body, with token, and returns the
// answer's status; the body is drained so the connection is reused.
func send(ctx context.Context, rt http.RoundTripper, method, url, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, err
	}
	Authorize(req, token)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	return resp.StatusCode, nil
}
