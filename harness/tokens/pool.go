package tokens

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Pool holds the tokens of a load stream's simulated clients, taken in
// turn. A client logs in on its first request, again once its token is
// past half its life (as a client refreshes before expiry, with room for
// a slow login), and again after the target refused its token.
type Pool struct {
	rt      http.RoundTripper
	base    string
	prefix  string
	clients []client
	next    atomic.Uint64
	logins  atomic.Int64
	now     func() time.Time
}

type client struct {
	mu    sync.Mutex // held across a login: the client's requests wait for it
	token Token
	asked time.Time // when the token was asked for: its life counts from then
}

// NewPool makes a pool of n clients named prefix-0 … prefix-(n-1), logging
// in through rt to the target at base.
func NewPool(rt http.RoundTripper, base, prefix string, n int) *Pool {
	return &Pool{rt: rt, base: base, prefix: prefix, clients: make([]client, max(n, 1)), now: time.Now}
}

// Take returns the next client in turn and its token, logging it in when
// it needs a token.
func (p *Pool) Take(ctx context.Context) (int, string, error) {
	i := int(p.next.Add(1)-1) % len(p.clients)
	c := &p.clients[i]
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := p.now(); c.token.Value == "" || c.token.Lifetime > 0 && !now.Before(c.asked.Add(c.token.Lifetime/2)) {
		t, err := Login(ctx, p.rt, p.base, p.prefix+"-"+strconv.Itoa(i))
		p.logins.Add(1)
		if err != nil {
			c.token = Token{}
			return i, "", err
		}
		c.token, c.asked = t, now
	}
	return i, c.token.Value, nil
}

// Refused drops client i's token if it is still token: the target refused
// it (401), so the client's next request logs in again.
func (p *Pool) Refused(i int, token string) {
	c := &p.clients[i]
	c.mu.Lock()
	if c.token.Value == token {
		c.token = Token{}
	}
	c.mu.Unlock()
}

// Logins is how many logins the pool has tried.
func (p *Pool) Logins() int64 { return p.logins.Load() }

// Transport is an http.RoundTripper that sends each request with the
// token of the pool's next client, logging it in first when it needs a
// token, and drops a token the target refused (401) so that its client
// logs in again.
type Transport struct {
	Next http.RoundTripper
	Pool *Pool
}

// Authorizing returns a Transport with a pool of one client named client,
// logging in to the target at base through next: the harness's own
// requests (seed writes, final reads) to a target that wants tokens.
func Authorizing(next http.RoundTripper, base, client string) *Transport {
	return &Transport{Next: next, Pool: NewPool(next, base, client, 1)}
}

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	client, token, err := t.Pool.Take(req.Context())
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	Authorize(r, token)
	resp, err := t.Next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		t.Pool.Refused(client, token)
	}
	return resp, err
}

// CloseIdleConnections closes the idle connections of the transport
// below, as http.Client.CloseIdleConnections expects.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.Next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
