package backend

import (
	"net/http"
	"testing"
	"time"
)

// TestETagsRevalidate: with etags, a GET names the value's version as its
// ETag; naming it back in If-None-Match gets 304 and no body while the
// value stands, and the new value (200, new ETag) once a write replaced
// it. Without etags the header is ignored and every GET carries the body.
func TestETagsRevalidate(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.ETags, c.MaxAge = true, 30*time.Second })
	k := ts.key("page")
	if r := ts.put(k, "first"); r.code != http.StatusOK {
		t.Fatalf("PUT: %d", r.code)
	}
	got := ts.get(k)
	etag := got.header.Get("ETag")
	if got.code != http.StatusOK || etag != `"1"` || got.header.Get("Cache-Control") != "max-age=30" {
		t.Fatalf("GET: %d, ETag %q, Cache-Control %q; want 200, \"1\", max-age=30", got.code, etag, got.header.Get("Cache-Control"))
	}
	path := "/items/" + k
	for _, inm := range []string{etag, `W/"1"`, `"7", "1"`, "*"} {
		r := ts.doWith(http.MethodGet, path, http.Header{"If-None-Match": {inm}})
		if r.code != http.StatusNotModified || r.body != "" || r.header.Get("ETag") != etag || r.version != 1 {
			t.Errorf("If-None-Match %s: %d, body %q, ETag %q, version %d; want 304, no body, %s, 1", inm, r.code, r.body, r.header.Get("ETag"), r.version, etag)
		}
	}
	ts.put(k, "second")
	r := ts.doWith(http.MethodGet, path, http.Header{"If-None-Match": {etag}})
	if r.code != http.StatusOK || r.body != "second" || r.header.Get("ETag") != `"2"` {
		t.Errorf("after a write: %d %q, ETag %q; want 200 \"second\", \"2\"", r.code, r.body, r.header.Get("ETag"))
	}

	plain := newTestServer(t, nil)
	plain.put(k, "first")
	r = plain.doWith(http.MethodGet, path, http.Header{"If-None-Match": {"*"}})
	if r.code != http.StatusOK || r.body != "first" || r.header.Get("ETag") != "" || r.header.Get("Cache-Control") != "" {
		t.Errorf("without etags: %d %q, ETag %q, Cache-Control %q; want 200 with the body and neither header",
			r.code, r.body, r.header.Get("ETag"), r.header.Get("Cache-Control"))
	}
}

func TestMatchesETag(t *testing.T) {
	for _, c := range []struct {
		header string
		want   bool
	}{{"", false}, {`"2"`, false}, {`"1"`, true}, {`W/"1"`, true}, {` "3" , "1" `, true}, {"*", true}, {`"12"`, false}} {
		if got := matchesETag(c.header, `"1"`); got != c.want {
			t.Errorf("If-None-Match %q vs \"1\": %v, want %v", c.header, got, c.want)
		}
	}
}
