package load

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/history"
)

// TestRunWritesUniqueValues: every write sends a body of its own, of the
// stream's size, that names its op; a read records the value the target
// returned, whatever it says in X-Version.
func TestRunWritesUniqueValues(t *testing.T) {
	var mu sync.Mutex
	store := map[string][]byte{}
	bodies := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.URL.Path, "/items/")
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPut {
			b, _ := io.ReadAll(r.Body)
			if bodies[string(b)] {
				t.Errorf("body %q sent twice", b)
			}
			bodies[string(b)] = true
			store[key] = b
			w.Header().Set("X-Version", "garbage") // a hint, and a bad one: ignored
			return
		}
		b, ok := store[key]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if key == "k0" {
			b = append([]byte{}, b...)
			b[len(b)-1] ^= 1 // an altered value is nobody's
		}
		w.Write(b)
	}))
	defer srv.Close()

	wr, rd := writes(200), reads(200)
	wr.BodySize = 100
	wr.Keys, rd.Keys = Keys{Count: 5}, Keys{Count: 5}
	values := history.NewValues("beef", ValueSizes([]Stream{rd, wr}))
	res := run(t, srv.URL, []Stream{rd, wr}, WithDuration(time.Second), WithValues(values))

	written := map[history.Value]bool{}
	for _, op := range res.Ops {
		if op.Write {
			if written[op.Value] || op.Stream != 1 || op.Version != history.NoVersion {
				t.Fatalf("write op %+v", op)
			}
			written[op.Value] = true
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(written) < 100 || len(bodies) != len(written) {
		t.Fatalf("%d write ops, %d bodies", len(written), len(bodies))
	}
	for b := range bodies {
		if len(b) != 100 || !written[values.Parse([]byte(b))] {
			t.Fatalf("body %q (%d bytes) is not a write op's value", b, len(b))
		}
	}
	var mapped, foreign int
	for _, op := range res.Ops {
		if op.Write || op.Code != 200 {
			continue
		}
		switch {
		case op.Key == 0 && op.Value == history.Foreign:
			foreign++
		case written[op.Value]:
			mapped++
		default:
			t.Errorf("read of k%d returned %s", op.Key, op.Value)
		}
	}
	if mapped == 0 || foreign == 0 {
		t.Errorf("reads mapped to writes %d, foreign %d", mapped, foreign)
	}
}
