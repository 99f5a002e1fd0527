package env_test

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/harness/labtest"
	"github.com/moby/moby/client"
)

// TestReconfigureInPlace swaps two backends in one environment as a duet
// does (another image, other settings; then back; then again): the first
// swap to each starts a container, every later one restarts the parked
// container's program in place. What each swap must deliver is checked
// from outside: the front proxy reaches the backend with the wanted
// settings, the stores are empty, the program that answers is a fresh
// process (its request counters start at zero), and no container is
// created beyond the two.
func TestReconfigureInPlace(t *testing.T) {
	e := labtest.Up(t, env.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const body = "twelve bytes" // over max_body 4
	put := func(key string) int { return do(t, "PUT", e.BackendURL+"/items/"+key, body).code }
	puts := func() float64 { // PUTs the serving program has counted, straight from it
		r := do(t, "GET", e.DirectURL()+"/metrics", "")
		n := 0.0
		for sc := bufio.NewScanner(strings.NewReader(r.body)); sc.Scan(); {
			line := sc.Text()
			if strings.HasPrefix(line, "backend_http_requests_total{") && strings.Contains(line, `method="PUT"`) {
				v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
				n += v
			}
		}
		return n
	}
	backends := func() int {
		docker, err := images.NewDockerClient(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer docker.Close()
		f := make(client.Filters).Add("label", env.LabelRun+"="+e.RunID).Add("label", env.LabelRole+"="+images.Backend)
		l, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		return len(l.Items)
	}
	reconfigure := func(ref string, settings map[string]string) time.Duration {
		t.Helper()
		start := time.Now()
		if err := e.Reconfigure(ctx, settings, env.WithBackendImage(ref)); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}

	a := e.Images[images.Backend].Ref
	b := tagImage(t, a, "loadlab-test/backend:in-place")
	small := map[string]string{env.SettingEnv("max_body"): "4"}
	first := e.Container(images.Backend).GetContainerID()
	if c := put("k1"); c/100 != 2 || puts() < 1 {
		t.Fatalf("PUT on the first backend: %d, counted %v", c, puts())
	}

	created := reconfigure(b, small)
	second := e.Container(images.Backend).GetContainerID()
	if second == first {
		t.Fatal("the second image runs in the first's container")
	}
	if c := put("k2"); c != 413 {
		t.Errorf("after the swap to %s with max_body 4: PUT of %d bytes %d, want 413 (does the front proxy reach the new backend?)", b, len(body), c)
	}

	inPlace := reconfigure(a, nil)
	if id := e.Container(images.Backend).GetContainerID(); id != first {
		t.Errorf("back to %s: container %.12s, want the parked %.12s", a, id, first)
	}
	if n := puts(); n != 0 {
		t.Errorf("back to %s: the program counts %v PUTs from before: not a fresh process", a, n)
	}
	if r := do(t, "GET", e.BackendURL+"/items/k1", ""); r.code != 404 {
		t.Errorf("back to %s: GET of the first backend's item %d, want 404 (stores reset)", a, r.code)
	}
	if c := put("k3"); c/100 != 2 {
		t.Errorf("back to %s (default max_body): PUT %d", a, c)
	}

	reconfigure(b, small)
	if id := e.Container(images.Backend).GetContainerID(); id != second {
		t.Errorf("again to %s: container %.12s, want the parked %.12s", b, id, second)
	}
	if c := put("k4"); c != 413 {
		t.Errorf("again to %s: PUT of %d bytes %d, want 413", b, len(body), c)
	}
	if n := backends(); n != 2 {
		t.Errorf("%d backend containers after four backends served, want 2", n)
	}
	t.Logf("swap with a new container %s, in place %s", created.Round(time.Millisecond), inPlace.Round(time.Millisecond))

	// Other settings than the parked one's: a new container, and the
	// oldest parked one goes (at most one is kept).
	reconfigure(a, small)
	if id := e.Container(images.Backend).GetContainerID(); id == first || id == second {
		t.Errorf("%s with other settings than its parked container's ran in %.12s", a, id)
	}
	if n := backends(); n != 2 {
		t.Errorf("%d backend containers after a swap to new settings, want 2 (one serving, one parked)", n)
	}
}
