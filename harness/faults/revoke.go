package faults

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/loadlab/loadlab/harness/tokens"
)

// WithTarget gives the schedule the target's base URL (as the load sees
// it), which revoke faults log their probe client in and out of; a
// schedule with a revoke fault and no target is refused.
func WithTarget(baseURL string) Option { return func(s *Schedule) { s.target = baseURL } }

var errNoTarget = errors.New("revoke faults need the target's URL (faults.WithTarget)")

// Revoke probes: how often the revoked token is tried, what it asks for
// (any item: a 404 still means the token was taken), and the client name.
const (
	revokeProbeEvery  = 50 * time.Millisecond
	revokeProbePath   = "/items/revocation-probe"
	revokeProbeClient = "revocation-probe"
)

// revocation is a revoke fault at work: the probe client's token, logged
// out, tried until the target refuses it or the fault ends.
type revocation struct {
	stop chan struct{}
	done chan struct{}
	lag  float64 // seconds from the logout's answer to the first 401; -1: still taken
}

// revoke logs the probe client in, checks its token works, logs it out and
// starts trying it in the background.
func (s *Schedule) revoke(ctx context.Context) (*revocation, error) {
	ctx, cancel := context.WithTimeout(ctx, s.actionTimeout)
	defer cancel()
	rt := http.DefaultTransport
	// A target whose token store was cut a moment ago may still refuse the
	// login (a session store fails closed, 503): that says nothing about
	// revocation, so such a login is retried until the action's deadline.
	// A 4xx (a target without the token contract) is its answer.
	retry := time.NewTicker(100 * time.Millisecond)
	defer retry.Stop()
	var tok tokens.Token
	var last error // what the target said, not the deadline that cut the last try
	for {
		var err error
		if tok, err = tokens.Login(ctx, rt, s.target, revokeProbeClient); err == nil {
			break
		}
		if ctx.Err() == nil || last == nil {
			last = err
		}
		if !tokens.Transient(err) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, last
		case <-retry.C:
		}
	}
	if err := tokens.Try(ctx, rt, s.target, revokeProbePath, tok.Value); err != nil {
		return nil, fmt.Errorf("a fresh token did not work: %w", err)
	}
	if _, err := tokens.Logout(ctx, rt, s.target, tok.Value); err != nil {
		return nil, err
	}
	loggedOut := time.Now()
	r := &revocation{stop: make(chan struct{}), done: make(chan struct{}), lag: -1}
	go r.watch(rt, s.target, tok.Value, loggedOut, s.actionTimeout)
	return r, nil
}

// watch tries the token every revokeProbeEvery until the target refuses
// it or stop closes. An answer that cannot tell (a 5xx, a timeout) is
// neither: the next try decides.
func (r *revocation) watch(rt http.RoundTripper, base, token string, loggedOut time.Time, timeout time.Duration) {
	defer close(r.done)
	tick := time.NewTicker(revokeProbeEvery)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := tokens.Try(ctx, rt, base, revokeProbePath, token)
		cancel()
		if errors.Is(err, tokens.ErrRejected) {
			r.lag = time.Since(loggedOut).Seconds()
			return
		}
		select {
		case <-r.stop:
			return
		case <-tick.C:
		}
	}
}

// end stops the probe; its lag is final from then on.
func (r *revocation) end() {
	close(r.stop)
	<-r.done
}
