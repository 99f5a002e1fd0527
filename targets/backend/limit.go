package backend

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// rateLimit refuses item requests beyond cfg.RateLimit per second with 429
// and a Retry-After saying when a token will be free. The bucket holds a
// tenth of a second of requests (at least one), so bursts are cut short.
func rateLimit(perSecond float64, m *metrics, next http.Handler) http.Handler {
	if perSecond <= 0 {
		return next
	}
	burst := max(1, int(math.Ceil(perSecond/10)))
	limiter := rate.NewLimiter(rate.Limit(perSecond), burst)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := limiter.Reserve()
		if delay := res.Delay(); delay > 0 {
			res.Cancel()
			m.limited.Inc()
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(delay.Seconds())))))
			http.Error(w, "rate limited", http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitInflight sheds item requests beyond maxInflight concurrent ones with
// 503 rather than letting them queue without bound: a shed request was not
// applied, and the client can retry elsewhere or later.
func limitInflight(maxInflight int, m *metrics, next http.Handler) http.Handler {
	if maxInflight <= 0 {
		return next
	}
	slots := make(chan struct{}, maxInflight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
		default:
			m.shed.Inc()
			w.Header().Set("Retry-After", "1")
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		defer func() { <-slots }()
		next.ServeHTTP(w, r)
	})
}

// retryAfter is the hint sent with 503s caused by an unreachable store.
func retryAfter(cooldown time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(cooldown.Seconds()))))
}
