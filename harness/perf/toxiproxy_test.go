package perf

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	toxiserver "github.com/Shopify/toxiproxy/v2"
	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
	"github.com/rs/zerolog"
)

// proxyName is the lab's name for the client->backend proxy.
const proxyName = "client_backend"

// toxiLab is a real toxiproxy server embedded in the benchmark process, its
// API on a loopback listener, with one proxy in front of the target.
type toxiLab struct {
	client   *toxiproxy.Client
	proxies  map[string]string // link -> proxy name, as faults.NewSchedule wants
	proxyURL string            // http://127.0.0.1:P through the proxy
}

func newToxiLab(tb testing.TB, targetURL string) *toxiLab {
	tb.Helper()
	u, err := url.Parse(targetURL)
	if err != nil {
		tb.Fatal(err)
	}
	// The bandwidth toxic logs through zerolog's global logger at trace
	// level on every interruption; in a test binary that is only noise.
	zerolog.SetGlobalLevel(zerolog.WarnLevel)
	srv := toxiserver.NewServer(toxiserver.NewMetricsContainer(nil), zerolog.Nop())
	api := httptest.NewServer(srv.Routes())
	tb.Cleanup(func() {
		api.Close()
		srv.Collection.Clear()
	})
	c := toxiproxy.NewClient(api.URL)
	var p *toxiproxy.Proxy
	err = withDeadline(context.Background(), 5*time.Second, func() (err error) {
		p, err = c.CreateProxy(proxyName, "127.0.0.1:0", u.Host)
		return err
	})
	if err != nil {
		tb.Fatalf("perf: create proxy: %v", err)
	}
	return &toxiLab{
		client:   c,
		proxies:  map[string]string{"client->backend": proxyName},
		proxyURL: "http://" + p.Listen,
	}
}

// withDeadline runs fn, which cannot be cancelled (the toxiproxy client
// takes no context), and stops waiting for it after d: a hung control-plane
// call must fail the benchmark, not hang it.
func withDeadline(ctx context.Context, d time.Duration, fn func() error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	done := make(chan error, 1) // buffered: an abandoned fn must not block forever
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("perf: no answer within %s: %w", d, ctx.Err())
	}
}

// addLatency puts a latency toxic on the proxy's downstream.
func (l *toxiLab) addLatency(tb testing.TB, name string, latency time.Duration) {
	tb.Helper()
	err := withDeadline(context.Background(), 5*time.Second, func() error {
		p, err := l.client.Proxy(proxyName)
		if err != nil {
			return err
		}
		_, err = p.AddToxic(name, "latency", "downstream", 1, toxiproxy.Attributes{"latency": latency.Milliseconds()})
		return err
	})
	if err != nil {
		tb.Fatalf("perf: add latency toxic: %v", err)
	}
}
