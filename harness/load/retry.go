package load

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Retry is a stream's client-side retry policy: a request answered with
// one of the On statuses (or failing as OnTimeout or OnError say) is sent
// again, at most Max more times, after Backoff doubled at each retry, with
// full jitter (a uniform wait between zero and that), or at once when
// Backoff is 0. Timeout bounds each attempt; Budget caps retries at that
// share of the stream's requests (a token bucket). The hit's latency and
// outcome are those of the whole exchange, as the user behind the client
// sees it.
type Retry struct {
	Max       int
	On        []int
	OnTimeout bool // an attempt that timed out
	OnError   bool // any other transport error
	Backoff   time.Duration
	Timeout   time.Duration
	Budget    float64
}

// maxBackoff caps one wait between retries.
const maxBackoff = 10 * time.Second

// budgetBurst is how many retries a budget allows at once, before any
// request has earned them.
const budgetBurst = 10

var errNoRewind = errors.New("load: retry: the request's body cannot be sent again")

// retryingTransport sends a request again while the policy says so. It
// sits inside countingTransport: the hit is in flight, and holds its
// worker, through every attempt.
type retryingTransport struct {
	next    http.RoundTripper
	policy  Retry
	retries *atomic.Int64 // sent again, over the run

	mu     sync.Mutex
	tokens float64 // the budget's bucket
}

func newRetryingTransport(next http.RoundTripper, p Retry, retries *atomic.Int64) *retryingTransport {
	return &retryingTransport{next: next, policy: p, retries: retries, tokens: budgetBurst}
}

func (t *retryingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.earn()
	for attempt := 0; ; attempt++ {
		resp, err := t.attempt(req)
		if attempt >= t.policy.Max || !t.retryable(req, resp, err) || !t.spend() {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
			resp.Body.Close()
		}
		if err := t.wait(req, attempt); err != nil {
			return nil, err
		}
		if req, err = rewound(req); err != nil {
			return nil, err
		}
		t.retries.Add(1)
	}
}

// attempt sends req once, under the policy's per-attempt timeout: the
// attempt's context lives until its response body is closed.
func (t *retryingTransport) attempt(req *http.Request) (*http.Response, error) {
	if t.policy.Timeout <= 0 {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.policy.Timeout)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		if ctx.Err() != nil && req.Context().Err() == nil {
			err = &attemptTimeout{err}
		}
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// retryable says whether the policy retries this outcome of an attempt; a
// request whose own context ended (the stream's timeout, the run's end) is
// never retried.
func (t *retryingTransport) retryable(req *http.Request, resp *http.Response, err error) bool {
	switch {
	case req.Context().Err() != nil:
		return false
	case err == nil:
		return slices.Contains(t.policy.On, resp.StatusCode)
	case isTimeout(err):
		return t.policy.OnTimeout
	default:
		return t.policy.OnError
	}
}

// earn credits the budget with a request's share.
func (t *retryingTransport) earn() {
	if t.policy.Budget <= 0 {
		return
	}
	t.mu.Lock()
	t.tokens = min(t.tokens+t.policy.Budget, budgetBurst)
	t.mu.Unlock()
}

// spend takes a retry from the budget; false when it is spent.
func (t *retryingTransport) spend() bool {
	if t.policy.Budget <= 0 {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tokens < 1 {
		return false
	}
	t.tokens--
	return true
}

// wait sleeps before retry attempt+1, or returns the request's context
// error when it ends first (the client's timeout bounds the exchange).
func (t *retryingTransport) wait(req *http.Request, attempt int) error {
	if t.policy.Backoff <= 0 {
		return req.Context().Err()
	}
	ceiling := min(t.policy.Backoff<<min(attempt, 20), maxBackoff)
	timer := time.NewTimer(rand.N(ceiling + 1))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-req.Context().Done():
		return req.Context().Err()
	}
}

// rewound is req with its body back at the start, for sending again.
func rewound(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	if req.GetBody == nil {
		return nil, errNoRewind
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = body
	return r, nil
}

// attemptTimeout is an attempt cut by the policy's per-attempt timeout.
type attemptTimeout struct{ err error }

func (e *attemptTimeout) Error() string   { return "attempt timed out: " + e.err.Error() }
func (e *attemptTimeout) Unwrap() error   { return context.DeadlineExceeded }
func (e *attemptTimeout) Timeout() bool   { return true }
func (e *attemptTimeout) Temporary() bool { return true }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// cancelOnClose ends an attempt's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
