package history_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/loadlab/loadlab/harness"
	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/harness/labtest"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/scenarios"
)

// brokenImage is the deliberately broken target (targets/broken), built by
// the tests into a FROM scratch image.
const brokenImage = "loadlab/broken-target:test"

// buildBrokenTarget builds targets/broken into brokenImage.
func buildBrokenTarget(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	bin := filepath.Join(t.TempDir(), "broken")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./targets/broken")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte("FROM scratch\nCOPY broken /broken\nUSER 65534:65534\nEXPOSE 8080\nENTRYPOINT [\"/broken\"]\n")},
		{"broken", 0o755, data},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	docker, err := images.NewDockerClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()
	res, err := docker.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags: []string{brokenImage}, Labels: map[string]string{images.LabelLab: "true"}, Remove: true, ForceRemove: true,
	})
	if err != nil {
		t.Fatalf("image build: %v", err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		var msg struct{ Error string }
		if json.Unmarshal(sc.Bytes(), &msg) == nil && msg.Error != "" {
			t.Fatalf("image build: %s", msg.Error)
		}
	}
}

// brokenScenario is a bring-your-own-target scenario, as a user writes it.
const brokenScenario = `name: broken-target
description: The deliberately broken target, one way of being broken per key (mixed) and a slow queue.
duration: 3s
settle: 6s
timeout: 5s
target: {image: ` + brokenImage + `, port: 8080}
load:
  - {name: reads,  request: "GET /items/{key}", rate: 120/s, keys: {count: 42}}
  - {name: writes, request: "PUT /items/{key}", rate: 50/s, keys: {count: 42}, body_size: 48}
faults:
  - {name: slow-client, link: client->backend, at: 1s, for: 1s, toxic: {type: latency, latency: 20}}
variants:
  - {name: mixed, backend: {mode: mixed}}
  - {name: slow-apply, backend: {mode: slow-apply}}
checks:
  - {expect: "lost_writes == 0"}
  - {expect: "stale_reads == 0"}
  - {expect: "impossible_reads == 0"}
  - {expect: "version_regressions == 0"}
  - {expect: "unconverged_keys == 0"}
`

// mixedModes mirrors targets/broken: key k<N> is broken in mode N mod 7.
var mixedModes = []string{"correct", "ack-drop", "stale-snapshot", "previous-value", "never-written", "refused-values", "version-backwards"}

// TestBrokenTargetIsCaught plants every anomaly the checker claims to catch
// in a real run — Docker, toxiproxy on the client link, the harness's own
// seeding, load, settle and final read through the target's API — against
// a target that keeps its items in its own memory (bring your own):
// acknowledged-then-dropped writes (lost), a stale snapshot, the newest
// version with the previous value (stale), values nobody wrote and values
// of refused writes (impossible), versions going backwards, and a queue
// still draining when settle ends (unconverged, not lost). The keys of the
// correct mode are the null control: nothing may be flagged on them.
func TestBrokenTargetIsCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	set := labtest.Images(t)
	buildBrokenTarget(t)
	sc, err := scenarios.Parse("broken-target.yaml", []byte(brokenScenario))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := harness.Run(ctx, sc, harness.WithImages(set), harness.WithHistoryDir(dir))
	if err != nil {
		t.Fatalf("run: %v", err)
	}

	mixed := res.Variant("mixed")
	h := mixed.History
	t.Logf("mixed: %d ops, acked %d, ok reads %d: lost %d, stale %d, impossible %d, regressions %d, unconverged %d",
		h.Operations, h.AckedWrites, h.OKReads, h.LostWrites, h.StaleReads, h.ImpossibleReads, h.VersionRegressions, h.UnconvergedKeys)
	allowed := map[string][]string{
		"ack-drop":          {history.KindLostWrite, history.KindStaleRead},
		"stale-snapshot":    {history.KindStaleRead, history.KindVersionRegression},
		"previous-value":    {history.KindStaleRead, history.KindLostWrite},
		"never-written":     {history.KindImpossibleRead, history.KindLostWrite},
		"refused-values":    {history.KindImpossibleRead, history.KindLostWrite},
		"version-backwards": {history.KindVersionRegression},
	}
	seen := map[string]map[string]bool{}
	for _, x := range h.Examples {
		k, _ := strconv.Atoi(strings.TrimPrefix(x.Key, "k"))
		mode := mixedModes[k%len(mixedModes)]
		if !contains(allowed[mode], x.Kind) {
			t.Errorf("%s on %s (mode %s): %s", x.Kind, x.Key, mode, x.Explanation)
		}
		if seen[mode] == nil {
			seen[mode] = map[string]bool{}
		}
		seen[mode][x.Kind] = true
		if x.Explanation == "" || x.Kind != history.KindUnconverged && x.Returned == nil && x.Witness == nil && x.Reason == "" {
			t.Errorf("%s without evidence: %+v", x.Kind, x)
		}
	}
	for mode, kind := range map[string]string{
		"ack-drop": history.KindLostWrite, "stale-snapshot": history.KindStaleRead, "previous-value": history.KindStaleRead,
		"never-written": history.KindImpossibleRead, "refused-values": history.KindImpossibleRead, "version-backwards": history.KindVersionRegression,
	} {
		if !seen[mode][kind] {
			t.Errorf("mode %s: no %s among the examples", mode, kind)
		}
	}
	reasons := map[string]bool{}
	for _, x := range h.Examples {
		reasons[x.Reason] = true
	}
	if !reasons[history.NeverWritten] || !reasons[history.OnlyRefused] {
		t.Errorf("impossible reads' reasons: %v", reasons)
	}
	if h.UnconvergedKeys != 0 || len(h.Timelines) == 0 {
		t.Errorf("mixed: %d unconverged, %d timelines", h.UnconvergedKeys, len(h.Timelines))
	}
	for _, c := range mixed.Checks {
		if c.Pass != (c.Metric == "unconverged_keys") {
			t.Errorf("mixed: check %q pass=%v: %s", c.Expect, c.Pass, c.Message)
		}
	}

	slowV := res.Variant("slow-apply")
	slow := slowV.History
	t.Logf("slow-apply: acked %d: lost %d, unconverged %d, converged %v", slow.AckedWrites, slow.LostWrites, slow.UnconvergedKeys, slow.Converged)
	if slow.UnconvergedKeys == 0 || slow.LostWrites != 0 || slow.Converged || slow.ImpossibleReads != 0 {
		t.Errorf("slow-apply: a slow queue is unconverged, not lost: %+v", slow)
	}
	for _, c := range slowV.Checks {
		if c.Metric == "lost_writes" && !c.Pass || c.Metric == "unconverged_keys" && c.Pass {
			t.Errorf("slow-apply: check %q pass=%v: %s", c.Expect, c.Pass, c.Message)
		}
	}

	// The exported history has one line per operation.
	for _, v := range res.Variants {
		data, err := os.ReadFile(filepath.Join(dir, v.History.HistoryFile))
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(data, []byte("\n")); int64(n) != v.History.Operations {
			t.Errorf("%s: %d lines for %d operations", v.Name, n, v.History.Operations)
		}
	}
	if res.Status != results.StatusOK {
		t.Errorf("status %s: %s", res.Status, res.Reason)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
