package load

import (
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync/atomic"
	"time"
)

// Retry is a stream's client-side retry policy: a request answered with
// one of the On statuses is sent again, at most Max more times, after
// Backoff doubled at each retry, with full jitter (a uniform wait between
// zero and that), or at once when Backoff is 0. The hit's latency and
// outcome are those of the whole exchange, as the user behind the client
// sees it.
type Retry struct {
	Max     int
	On      []int
	Backoff time.Duration
}

var errNoRewind = errors.New("load: retry: the request's body cannot be sent again")

// maxBackoff caps one wait between retries.
const maxBackoff = 10 * time.Second

// retryingTransport sends a request again while the policy says so. It
// sits inside countingTransport: the hit is in flight, and holds its
// worker, through every attempt.
type retryingTransport struct {
	next    http.RoundTripper
	policy  Retry
	retries *atomic.Int64 // sent again, over the run
}

func (t *retryingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if err != nil || attempt >= t.policy.Max || !slices.Contains(t.policy.On, resp.StatusCode) {
			return resp, err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		resp.Body.Close()
		if err := t.wait(req, attempt); err != nil {
			return nil, err
		}
		if req, err = rewound(req); err != nil {
			return nil, err
		}
		t.retries.Add(1)
	}
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
