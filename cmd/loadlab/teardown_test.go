package main

// Teardown under interruption and target death (issue 6): the real CLI, run
// as a process against real containers, is interrupted at each stage of a
// run, or loses its target mid-run, and must exit in time with the
// documented status, leave no container or network behind, and still write
// what it measured (results.json marked aborted or failed, report.html,
// summary.md).
//
// The tests run one after another: each brings a whole lab up, and two
// at once would overload a 2-core machine.

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/harness/labtest"
	"github.com/loadlab/loadlab/reports"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/moby/moby/client"
)

// shortScenario is two light variants of 4s each, with one fault, so that an
// interruption in the first shows that the second never starts.
const shortScenario = `name: teardown
description: A short two-variant run for the teardown tests.
duration: 4s
settle: 1s
seed: 7
timeout: 1s
load:
  - name: reads
    request: GET /items/{key}
    rate: 20/s
    keys: {count: 50}
  - name: writes
    request: PUT /items/{key}
    rate: 10/s
    keys: {count: 50}
faults:
  - name: db-lag
    link: backend->postgres
    at: 1s
    for: 2s
    toxic: {type: latency, latency: 20}
variants:
  - name: a
    backend: {writes: sync}
  - name: b
    backend: {cache: cache-aside}
`

// settleScenario makes the settle phase last: writes are queued while the
// database link is down, the link heals as the load ends, and a breaker
// cooldown far longer than the settle keeps the backend from retrying
// Postgres, so the store does not converge for the whole (long) settle.
const settleScenario = `name: teardown-settle
description: Queued writes that cannot drain, so the settle phase lasts.
duration: 4s
settle: 40s
seed: 7
timeout: 1s
load:
  - name: writes
    request: PUT /items/{key}
    rate: 20/s
    keys: {count: 50}
faults:
  - name: db-partition
    link: backend->postgres
    at: 1s
    for: 3s
    toxic: {type: down}
variants:
  - name: ap-queue
    backend: {consistency: ap, writes: queue, breaker_cooldown: 5m}
`

const (
	loadDuration = 4 * time.Second
	// exitWithin bounds every exit after a (first) signal or a failure.
	exitWithin = 60 * time.Second
	// forcedWithin bounds the exit after a second signal: env.Emergency
	// has 10s, the rest is margin for a loaded machine.
	forcedWithin = 15 * time.Second
	// reachWithin bounds the wait for the moment a test interrupts at;
	// a lab's start takes 3-10s on 2 busy cores.
	reachWithin = 2 * time.Minute
)

// progressLine is the harness's progress line of the first variant; its
// second group is the load's elapsed seconds.
var progressLine = regexp.MustCompile(`\[1/\d+ (\S+)\] .*?([\d.]+)s/`)

func teardownLab(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the CLI against real containers")
	}
	labtest.Images(t)
}

func scenarioFile(t *testing.T, text string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// assertAborted checks an interrupted run: exit 130, results marked aborted
// with the signal as the reason, reports written, nothing left in Docker.
func assertAborted(t *testing.T, r *cliRun, sig syscall.Signal) *results.Results {
	t.Helper()
	if code := r.exit(exitWithin); code != 130 {
		t.Errorf("exit status %d, want 130 (interrupted)", code)
	}
	res := r.results()
	if res.Status != results.StatusAborted {
		t.Errorf("status %q, want %q", res.Status, results.StatusAborted)
	}
	if !strings.Contains(res.Reason, "interrupted") || !strings.Contains(res.Reason, signalName(sig)) {
		t.Errorf("reason %q does not say it was interrupted by %s", res.Reason, signalName(sig))
	}
	if len(res.Variants) != 1 {
		t.Errorf("%d variants in the results, want only the interrupted first one", len(res.Variants))
	} else if v := res.Variants[0]; v.Status != results.StatusAborted {
		t.Errorf("variant %s: status %q, want %q", v.Name, v.Status, results.StatusAborted)
	}
	assertNothingLeft(t, r.pid)
	return res
}

// TestInterruptDuringStart interrupts while the lab's containers are being
// created and started: the creates in flight must not outlive the run.
func TestInterruptDuringStart(t *testing.T) {
	teardownLab(t)
	r := startRun(t, scenarioFile(t, shortScenario))
	c := docker(t)
	r.waitFor("the lab's first container", reachWithin, func() bool { return containerOf(t, c, r.pid, "") != "" })
	r.signal(syscall.SIGINT)
	res := assertAborted(t, r, syscall.SIGINT)
	if progressLine.MatchString(r.stderr.String()) {
		t.Errorf("the load started: the interrupt did not land during the start")
	}
	if len(res.Variants) == 1 && res.Variants[0].DurationS != 0 {
		t.Errorf("variant ran %.1fs of load, want none", res.Variants[0].DurationS)
	}
}

// TestInterruptDuringLoad interrupts the first variant's load, with SIGINT
// (Ctrl-C) and with SIGTERM (a CI job cancelled): the load stops early, what
// it measured is kept, and the second variant never starts.
func TestInterruptDuringLoad(t *testing.T) {
	teardownLab(t)
	file := scenarioFile(t, shortScenario)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(signalName(sig), func(t *testing.T) {
			r := startRun(t, file)
			r.stderrLine(progressLine, reachWithin)
			r.signal(sig)
			res := assertAborted(t, r, sig)
			if len(res.Variants) == 1 {
				v := res.Variants[0]
				if v.DurationS <= 0 || v.DurationS >= loadDuration.Seconds() {
					t.Errorf("variant %s ran %.2fs of load, want it cut short within (0, %s)", v.Name, v.DurationS, loadDuration)
				}
				if len(v.Streams) == 0 {
					t.Errorf("variant %s: the streams measured before the interrupt are missing", v.Name)
				}
			}
		})
	}
}

// TestInterruptDuringSettle interrupts after the load, while the harness
// waits for the store to converge.
func TestInterruptDuringSettle(t *testing.T) {
	teardownLab(t)
	r := startRun(t, scenarioFile(t, settleScenario))
	m := r.stderrLine(progressLine, reachWithin)
	elapsed, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		t.Fatalf("progress line %q: %v", m[0], err)
	}
	// The load ends loadDuration after its start; 2s later the settle
	// phase (40s, and the store cannot converge) is surely on.
	settling := time.Now().Add(loadDuration - time.Duration(elapsed*float64(time.Second)) + 2*time.Second)
	r.waitFor("the settle phase", reachWithin, func() bool { return time.Now().After(settling) })
	sent := r.signal(syscall.SIGINT)
	res := assertAborted(t, r, syscall.SIGINT)
	if took := time.Since(sent); took > 30*time.Second {
		t.Errorf("exited %s after the signal: the settle phase was not cut short", took.Round(time.Millisecond))
	}
	if len(res.Variants) == 1 {
		v := res.Variants[0]
		if v.DurationS < loadDuration.Seconds()-0.1 {
			t.Errorf("variant ran %.2fs of load, want all %s: the interrupt landed before the settle phase", v.DurationS, loadDuration)
		}
		if v.History == nil {
			t.Errorf("no history checks: the final state must still be read after an interrupted settle")
		}
	}
}

// TestInterruptDuringReport interrupts once results.json is written, while
// the reports are due. Nothing measured is missing, so the results stay
// "ok" and the reports are finished; the exit status still says the run
// was interrupted. The CLI holds before the reports (holdReportsEnv) until
// the signal comes, so the test never races a second's worth of rendering.
func TestInterruptDuringReport(t *testing.T) {
	teardownLab(t)
	t.Setenv(holdReportsEnv, "1")
	r := startRun(t, "--variant", "a", scenarioFile(t, shortScenario))
	r.waitFor("results.json", reachWithin, func() bool { return r.runDir() != "" })
	if _, err := os.Stat(filepath.Join(r.runDir(), reports.SummaryFile)); err == nil || r.done() {
		t.Fatal("the reports were rendered before the interrupt although the CLI holds for it")
	}
	r.signal(syscall.SIGINT)
	if code := r.exit(exitWithin); code != 130 {
		t.Errorf("exit status %d, want 130 (interrupted)", code)
	}
	if _, err := os.Stat(filepath.Join(r.runDir(), reports.SummaryFile)); err != nil {
		t.Errorf("the reports were not finished after the interrupt: %v", err)
	}
	res := r.results()
	if res.Status != results.StatusOK {
		t.Errorf("status %q (%s), want %q: the run had completed", res.Status, res.Reason, results.StatusOK)
	}
	if !strings.Contains(r.stderr.String(), "interrupted") {
		t.Errorf("stderr does not say the run was interrupted")
	}
	assertNothingLeft(t, r.pid)
}

// TestTargetDiesMidRun kills the backend container during the load: the run
// fails (exit 1), says the target died, and still tears everything down.
func TestTargetDiesMidRun(t *testing.T) {
	teardownLab(t)
	r := startRun(t, scenarioFile(t, shortScenario))
	r.stderrLine(progressLine, reachWithin)
	c := docker(t)
	id := containerOf(t, c, r.pid, images.Backend)
	if id == "" {
		t.Fatal("no backend container labelled with the run's pid")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		t.Fatalf("kill the backend: %v", err)
	}
	t.Logf("%.1fs: killed the backend", time.Since(r.started).Seconds())
	if code := r.exit(exitWithin); code != 1 {
		t.Errorf("exit status %d, want 1 (failed)", code)
	}
	res := r.results()
	if res.Status != results.StatusFailed {
		t.Errorf("status %q, want %q", res.Status, results.StatusFailed)
	}
	if !strings.Contains(res.Reason, "target died") || !strings.Contains(res.Reason, images.Backend) {
		t.Errorf("reason %q does not say the backend died", res.Reason)
	}
	if len(res.Variants) != 1 {
		t.Errorf("%d variants in the results, want only the failed first one", len(res.Variants))
	} else if v := res.Variants[0]; v.Status != results.StatusFailed || len(v.Streams) == 0 {
		t.Errorf("variant %s: status %q with %d streams, want failed with what was measured", v.Name, v.Status, len(v.Streams))
	}
	assertNothingLeft(t, r.pid)
}

// TestSecondSignalForcesExit presses Ctrl-C twice: the second must end the
// process at once (exit 130) after removing the lab (env.Emergency), during
// the start, when creates are in flight, and during the load.
func TestSecondSignalForcesExit(t *testing.T) {
	teardownLab(t)
	file := scenarioFile(t, shortScenario)
	stopping := regexp.MustCompile(`stopping; press Ctrl-C again`)
	for _, tc := range []struct {
		name  string
		reach func(*testing.T, *cliRun)
	}{
		{"during start", func(t *testing.T, r *cliRun) {
			c := docker(t)
			r.waitFor("the lab's first container", reachWithin, func() bool { return containerOf(t, c, r.pid, "") != "" })
		}},
		{"during load", func(t *testing.T, r *cliRun) { r.stderrLine(progressLine, reachWithin) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startRun(t, file)
			tc.reach(t, r)
			r.signal(syscall.SIGINT)
			r.stderrLine(stopping, 10*time.Second)
			sent := r.signal(syscall.SIGINT)
			if code := r.exit(forcedWithin); code != 130 {
				t.Errorf("exit status %d, want 130", code)
			}
			t.Logf("exited %s after the second signal", time.Since(sent).Round(time.Millisecond))
			if !strings.Contains(r.stderr.String(), "forced exit") {
				t.Errorf("stderr does not announce the forced exit")
			}
			assertNothingLeft(t, r.pid)
		})
	}
}
