package backend

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"
)

// Authentication schemes (auth): how the item routes check a bearer token.
const (
	AuthNone    = "none"
	AuthHS256   = "hs256"   // a JWT signed with a shared secret (HMAC-SHA256), verified locally
	AuthEdDSA   = "eddsa"   // a JWT signed with an Ed25519 key, verified locally with the public key
	AuthSession = "session" // an opaque token looked up in Redis on every request
)

// errBadToken is the cause of a 401: no token, or one that is not (or no
// longer) valid.
var errBadToken = errors.New("invalid or expired token")

// authenticator issues, checks and revokes bearer tokens for one scheme.
type authenticator interface {
	// issue returns a new token for client, valid for the configured TTL.
	issue(ctx context.Context, client string) (string, error)
	// check returns nil for a valid token, errBadToken (wrapped) for an
	// invalid one, and an unavailableError when it cannot tell.
	check(ctx context.Context, token string) error
	// revoke ends token's validity, if the scheme can; revoked says
	// whether it did.
	revoke(ctx context.Context, token string) (revoked bool, err error)
}

func newAuthenticator(cfg Config, r *redisStore) (authenticator, error) {
	switch cfg.Auth {
	case AuthHS256:
		secret := make([]byte, 32)
		rand.Read(secret)
		return &jwtAuth{ttl: cfg.AuthTTL, method: jwt.SigningMethodHS256, signKey: secret, verifyKey: secret}, nil
	case AuthEdDSA:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("backend: auth=eddsa: %w", err)
		}
		return &jwtAuth{ttl: cfg.AuthTTL, method: jwt.SigningMethodEdDSA, signKey: priv, verifyKey: pub}, nil
	case AuthSession:
		return &sessionAuth{ttl: cfg.AuthTTL, r: r}, nil
	}
	return nil, nil
}

// jwtAuth issues signed JWTs and verifies them locally, without a store:
// nothing to look up, so nothing to revoke. A token stays valid until it
// expires, whatever happened to its client since.
type jwtAuth struct {
	ttl       time.Duration
	method    jwt.SigningMethod
	signKey   any
	verifyKey any
}

func (a *jwtAuth) issue(_ context.Context, client string) (string, error) {
	now := time.Now()
	id := make([]byte, 8)
	rand.Read(id)
	claims := jwt.RegisteredClaims{
		Subject:   client,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(a.ttl)),
		ID:        hex.EncodeToString(id),
	}
	return jwt.NewWithClaims(a.method, claims).SignedString(a.signKey)
}

func (a *jwtAuth) check(_ context.Context, token string) error {
	_, err := jwt.ParseWithClaims(token, &jwt.RegisteredClaims{},
		func(*jwt.Token) (any, error) { return a.verifyKey, nil },
		jwt.WithValidMethods([]string{a.method.Alg()}), jwt.WithExpirationRequired())
	if err != nil {
		return fmt.Errorf("%w: %w", errBadToken, err)
	}
	return nil
}

func (a *jwtAuth) revoke(ctx context.Context, token string) (bool, error) {
	return false, a.check(ctx, token)
}

// sessionAuth issues random opaque tokens and keeps them in Redis (by
// their SHA-256, so a read of Redis does not hand out live tokens), with
// the TTL as expiry. Every request costs a lookup; a logout takes effect
// at once. When Redis cannot be reached no token can be checked, and the
// routes fail closed.
type sessionAuth struct {
	ttl time.Duration
	r   *redisStore
}

func (a *sessionAuth) key(token string) string {
	sum := sha256.Sum256([]byte(token))
	return a.r.prefix + ":s:" + hex.EncodeToString(sum[:])
}

func (a *sessionAuth) issue(ctx context.Context, client string) (string, error) {
	raw := make([]byte, 24)
	rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	err := a.r.call(ctx, "session_set", 0, func(ctx context.Context) error {
		return a.r.client.Set(ctx, a.key(token), client, a.ttl).Err()
	})
	return token, err
}

func (a *sessionAuth) check(ctx context.Context, token string) error {
	err := a.r.call(ctx, "session_get", 0, func(ctx context.Context) error {
		return a.r.client.Get(ctx, a.key(token)).Err()
	})
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("%w: no such session", errBadToken)
	}
	return err
}

func (a *sessionAuth) revoke(ctx context.Context, token string) (bool, error) {
	var n int64
	err := a.r.call(ctx, "session_del", 0, func(ctx context.Context) error {
		var err error
		n, err = a.r.client.Del(ctx, a.key(token)).Result()
		return err
	})
	if err == nil && n == 0 {
		return false, fmt.Errorf("%w: no such session", errBadToken)
	}
	return err == nil, err
}

// bearer is the request's bearer token, or "".
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// requireToken lets through only requests with a valid bearer token: 401
// for a missing or invalid one, 503 when the token cannot be checked (a
// session store out of reach: fail closed, never open).
func (s *Server) requireToken(next http.Handler) http.Handler {
	if s.auth == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := bearer(r)
		err := errBadToken
		if token != "" {
			err = s.auth.check(r.Context(), token)
		}
		s.metrics.authChecks.WithLabelValues(authResult(err)).Inc()
		switch {
		case err == nil:
			next.ServeHTTP(w, r)
		case errors.Is(err, errBadToken):
			s.unauthorized(w, err)
		case isUnavailable(err):
			s.unavailable(w, "cannot check the token: "+err.Error())
		default:
			s.log.Error("token check failed", "err", err)
			http.Error(w, "cannot check the token", http.StatusInternalServerError)
		}
	})
}

func authResult(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, errBadToken):
		return "rejected"
	}
	return "error"
}

func (s *Server) unauthorized(w http.ResponseWriter, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	http.Error(w, err.Error(), http.StatusUnauthorized)
}

// login answers POST /auth/login?client=NAME with a new token for NAME:
// {"token": "...", "expires_in": seconds}. There are no passwords: the lab
// measures what checking a token costs, not what issuing one does.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	client := r.URL.Query().Get("client")
	if !validKey(client) {
		http.Error(w, "client must match [A-Za-z0-9_.:-]{1,128}", http.StatusBadRequest)
		return
	}
	token, err := s.auth.issue(r.Context(), client)
	if err != nil {
		s.fail(w, err, false)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": token, "expires_in": int(s.cfg.AuthTTL.Seconds())})
}

// logout answers POST /auth/logout: the bearer token is revoked (204) when
// the scheme can revoke it; a JWT cannot be (409: it stays valid until it
// expires, which X-Expires-In says).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	token := bearer(r)
	if token == "" {
		s.unauthorized(w, errBadToken)
		return
	}
	revoked, err := s.auth.revoke(r.Context(), token)
	switch {
	case errors.Is(err, errBadToken):
		s.unauthorized(w, err)
	case err != nil:
		s.fail(w, err, true)
	case revoked:
		w.WriteHeader(http.StatusNoContent)
	default:
		if exp, err := jwtExpiry(token); err == nil {
			w.Header().Set("X-Expires-In", strconv.FormatFloat(time.Until(exp).Seconds(), 'f', 3, 64))
		}
		http.Error(w, "a JWT cannot be revoked: it stays valid until it expires", http.StatusConflict)
	}
}

// jwtExpiry reads a (verified) JWT's expiry.
func jwtExpiry(token string) (time.Time, error) {
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err != nil {
		return time.Time{}, err
	}
	if claims.ExpiresAt == nil {
		return time.Time{}, errors.New("no expiry")
	}
	return claims.ExpiresAt.Time, nil
}
