package faults

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
)

// The toxiproxy client of v2.12.0 takes no context and has a fixed 30 s HTTP
// timeout that cannot be changed from outside its package; every call below
// therefore goes through call/callValue, which stop waiting at our deadline.

// addToxic adds p's toxic in one API call. A bare proxy handle (NewProxy +
// Name) is enough for toxic calls and saves the GET a looked-up handle costs.
func addToxic(ctx context.Context, c *toxiproxy.Client, timeout time.Duration, p plannedFault) error {
	attrs := make(toxiproxy.Attributes, len(p.fault.Toxic.Attributes))
	for k, v := range p.fault.Toxic.Attributes {
		attrs[k] = v
	}
	err := call(ctx, timeout, func() error {
		h := c.NewProxy()
		h.Name = p.proxy
		_, err := h.AddToxic(p.toxicName, p.fault.Toxic.Type, p.stream, float32(p.toxicity), attrs)
		return err
	})
	if err != nil {
		return fmt.Errorf("add toxic %s to proxy %s: %w", p.toxicName, p.proxy, err)
	}
	return nil
}

func removeToxic(ctx context.Context, c *toxiproxy.Client, timeout time.Duration, proxy, toxic string) error {
	err := call(ctx, timeout, func() error {
		h := c.NewProxy()
		h.Name = proxy
		return h.RemoveToxic(toxic)
	})
	if err != nil {
		return fmt.Errorf("remove toxic %s from proxy %s: %w", toxic, proxy, err)
	}
	return nil
}

// disableProxy looks the proxy up (saving a proxy needs its listen and
// upstream addresses) and disables it: the listener closes, open
// connections drop and new ones are refused.
func disableProxy(ctx context.Context, c *toxiproxy.Client, timeout time.Duration, proxy string) (*toxiproxy.Proxy, error) {
	h, err := callValue(ctx, timeout, func() (*toxiproxy.Proxy, error) {
		h, err := c.Proxy(proxy)
		if err != nil {
			return nil, err
		}
		return h, h.Disable()
	})
	if err != nil {
		return nil, fmt.Errorf("disable proxy %s: %w", proxy, err)
	}
	return h, nil
}

// enableProxy re-enables the proxy through h, or looks it up first when h is
// nil. h must not be shared with a call still in flight.
func enableProxy(ctx context.Context, c *toxiproxy.Client, timeout time.Duration, proxy string, h *toxiproxy.Proxy) error {
	err := call(ctx, timeout, func() error {
		if h == nil {
			var err error
			if h, err = c.Proxy(proxy); err != nil {
				return err
			}
		}
		return h.Enable()
	})
	if err != nil {
		return fmt.Errorf("enable proxy %s: %w", proxy, err)
	}
	return nil
}

// isNotFound reports whether toxiproxy answered 404: removing what is not
// there is success for a cleanup.
func isNotFound(err error) bool {
	var api *toxiproxy.ApiError
	return errors.As(err, &api) && api.Status == http.StatusNotFound
}

// Reset removes every toxic from the lab's proxies (the values of proxies,
// keyed by link) and enables every one of them. It runs between variants and
// on teardown, so it tries every proxy even after a failure and reports all
// failures together. Each API call is bounded by DefaultActionTimeout and by
// ctx.
func Reset(ctx context.Context, c *toxiproxy.Client, proxies map[string]string) error {
	if c == nil {
		return errors.New("faults: reset: nil toxiproxy client")
	}
	names := make([]string, 0, len(proxies))
	for _, n := range proxies {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		if err := resetProxy(ctx, c, name); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("faults: reset: %w", err)
	}
	return nil
}

func resetProxy(ctx context.Context, c *toxiproxy.Client, name string) error {
	h, err := callValue(ctx, DefaultActionTimeout, func() (*toxiproxy.Proxy, error) { return c.Proxy(name) })
	if err != nil {
		return fmt.Errorf("look up proxy %s: %w", name, err)
	}
	var errs []error
	for _, t := range h.ActiveToxics {
		if err := removeToxic(ctx, c, DefaultActionTimeout, name, t.Name); err != nil && !isNotFound(err) {
			errs = append(errs, err)
		}
	}
	if !h.Enabled {
		if err := enableProxy(ctx, c, DefaultActionTimeout, name, h); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
