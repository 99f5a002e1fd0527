package load

import (
	"context"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkEngine measures the engine's ceiling: one second per iteration
// of a rate above what two cores can serve, against a trivial server.
// Compare req/s with the target rate and late_ratio to see where it gives up.
func BenchmarkEngine(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Version", "1")
	}))
	defer srv.Close()
	stream := Stream{Name: "reads", Method: "GET", Path: "/items/{key}", Rate: perSecond(30000), Keys: Keys{Count: 1000}}
	var sent, late int64
	var took time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		res, err := Run(context.Background(), srv.URL, []Stream{stream},
			WithDuration(time.Second), WithMaxWorkers(256), WithLogger(discardLogger()))
		took += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		sent += res.ByStream[0].Health.Sent
		late += res.ByStream[0].Health.LateSends
	}
	b.ReportMetric(float64(sent)/took.Seconds(), "req/s")
	b.ReportMetric(float64(late)/float64(max(sent, 1)), "late_ratio")
}

// BenchmarkSummary merges 600 seconds of 500 requests each into one phase
// summary, as a threshold check over a 10-minute run does.
func BenchmarkSummary(b *testing.B) {
	r, _ := syntheticResult(1, 600, 500, rand.New(rand.NewSource(3)))
	b.ReportAllocs()
	for b.Loop() {
		if s := Merge(r.ByStream, 0, 600); s.Requests != 600*500 {
			b.Fatalf("%d requests", s.Requests)
		}
	}
}
