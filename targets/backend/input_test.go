package backend

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRejectsBadKeysAndBodies: keys outside ^[A-Za-z0-9_.:-]{1,128}$ are
// 400 (SQL stays parameterized regardless), bodies above max_body are 413,
// and neither changes anything in Postgres.
func TestRejectsBadKeysAndBodies(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.MaxBody = 1024; c.Cache = CacheAside })
	count := func() int {
		var n int
		if err := ts.lab.pg.QueryRow(t.Context(), "SELECT count(*) FROM items").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ok := ts.key("ok")
	ts.put(ok, "kept")
	before := count()

	bad := []string{
		"x'; DROP TABLE items; --",
		"a' OR '1'='1",
		`k"; DELETE FROM items WHERE ''='`,
		"a b",
		"../../etc/passwd",
		"k%00",
		"ключ",
		strings.Repeat("k", 129),
		"a/b",
	}
	for _, k := range bad {
		path := "/items/" + url.PathEscape(k)
		for _, method := range []string{http.MethodGet, http.MethodPut} {
			r := ts.do(method, path, strings.NewReader("evil"))
			if r.code != http.StatusBadRequest {
				t.Errorf("%s %q: %d, want 400", method, k, r.code)
			}
		}
	}
	if r := ts.put(strings.Repeat("k", 128), "max length"); r.code != http.StatusOK {
		t.Errorf("PUT of a 128-byte key: %d, want 200", r.code)
	}
	before++

	big := strings.Repeat("x", 1025)
	if r := ts.put(ok, big); r.code != http.StatusRequestEntityTooLarge {
		t.Errorf("PUT of %d bytes with max_body 1024: %d, want 413", len(big), r.code)
	}
	// Without Content-Length (chunked) the limit holds while reading.
	req, _ := http.NewRequest(http.MethodPut, ts.http.URL+"/items/"+ok, struct{ *strings.Reader }{strings.NewReader(big)})
	req.ContentLength = -1
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked PUT of %d bytes: %d, want 413", len(big), resp.StatusCode)
	}
	if r := ts.put(ok, strings.Repeat("x", 1024)); r.code != http.StatusOK {
		t.Errorf("PUT of exactly max_body: %d, want 200", r.code)
	}

	if n := count(); n != before {
		t.Errorf("items rows: %d, want %d", n, before)
	}
	if it, _ := ts.lab.stored(t, ok); len(it.Value) != 1024 || it.Version != 2 {
		t.Errorf("%s: %d bytes version %d, want 1024 bytes version 2", ok, len(it.Value), it.Version)
	}
}
