package main

// What the teardown tests need to drive the real CLI as a process: the
// binary built once per test binary, a running `loadlab run` with its output
// captured, triggers that poll for a moment of the run, and a look at Docker
// for what the process left behind, by its pid label.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/env"
	"github.com/loadlab/loadlab/harness/images"
	"github.com/loadlab/loadlab/reports"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/moby/moby/client"
)

var (
	cliOnce sync.Once
	cliDir  string // removed by TestMain
	cliPath string
	cliErr  error
)

func TestMain(m *testing.M) {
	env.Prepare() // before any testcontainers call
	code := m.Run()
	if cliDir != "" {
		os.RemoveAll(cliDir)
	}
	os.Exit(code)
}

// loadlabBinary builds the CLI once per test binary, exactly as users get
// it (a separate process with its own signal handling).
func loadlabBinary(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		cliDir, cliErr = os.MkdirTemp("", "loadlab-cli-")
		if cliErr != nil {
			return
		}
		cliPath = filepath.Join(cliDir, "loadlab")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", cliPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			cliErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliPath
}

// syncBuffer is an output buffer the test reads while the process writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cliRun is one `loadlab run` process.
type cliRun struct {
	t       *testing.T
	cmd     *exec.Cmd
	pid     int
	out     string // --out directory
	started time.Time
	stdout  syncBuffer
	stderr  syncBuffer
	exited  chan struct{}
	state   *os.ProcessState
}

// startRun starts `loadlab run --out TMP ARGS...`. It runs outside the
// source tree: labtest.Images has already brought the images up to date,
// and a run in the tree would check every recipe again (seconds of go
// build on a busy machine, per run). Whatever the test does, the process
// is killed and everything labelled with its pid removed when the test ends.
func startRun(t *testing.T, args ...string) *cliRun {
	t.Helper()
	r := &cliRun{t: t, out: t.TempDir(), exited: make(chan struct{})}
	r.cmd = exec.Command(loadlabBinary(t), append([]string{"run", "--out", r.out}, args...)...)
	r.cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LOADLAB_SOURCE=") {
			r.cmd.Env = append(r.cmd.Env, kv)
		}
	}
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start loadlab: %v", err)
	}
	r.started, r.pid = time.Now(), r.cmd.Process.Pid
	go func() {
		r.cmd.Wait()
		r.state = r.cmd.ProcessState
		close(r.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-r.exited:
		default:
			r.cmd.Process.Kill()
			<-r.exited
		}
		if n := removeByPID(t, r.pid); n > 0 {
			t.Logf("cleanup: removed %d leftovers of pid %d", n, r.pid)
		}
		if t.Failed() {
			t.Logf("loadlab stderr (last lines):\n%s", tail(r.stderr.String(), 40))
		}
	})
	return r
}

func (r *cliRun) done() bool {
	select {
	case <-r.exited:
		return true
	default:
		return false
	}
}

// waitFor polls cond until it holds. The run ending first, or the
// deadline, fails the test: the moment the test wanted never came.
func (r *cliRun) waitFor(what string, within time.Duration, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if r.done() {
			r.t.Fatalf("loadlab exited (%v) before %s", r.state, what)
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no %s within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not a readiness guess
	}
	r.t.Logf("%.1fs: %s", time.Since(r.started).Seconds(), what)
}

// stderrLine waits for a stderr line matching re and returns its submatches.
func (r *cliRun) stderrLine(re *regexp.Regexp, within time.Duration) []string {
	r.t.Helper()
	var m []string
	r.waitFor("stderr line "+re.String(), within, func() bool {
		m = re.FindStringSubmatch(r.stderr.String())
		return m != nil
	})
	return m
}

// signal sends sig and returns when it was sent.
func (r *cliRun) signal(sig syscall.Signal) time.Time {
	r.t.Helper()
	if r.done() {
		r.t.Fatalf("loadlab exited (%v) before the test could send %v", r.state, sig)
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("signal %v: %v", sig, err)
	}
	r.t.Logf("%.1fs: sent %v", time.Since(r.started).Seconds(), sig)
	return time.Now()
}

// exit waits at most within for the process to end and returns its exit
// status. A process that hangs is killed and the test fails.
func (r *cliRun) exit(within time.Duration) int {
	r.t.Helper()
	select {
	case <-r.exited:
	case <-time.After(within):
		r.cmd.Process.Kill()
		<-r.exited
		r.t.Fatalf("loadlab did not exit within %s: killed it", within)
	}
	code := r.state.ExitCode()
	if code < 0 {
		r.t.Fatalf("loadlab ended by a signal it should have handled: %v", r.state)
	}
	return code
}

// runDir returns the one results directory of the run ("" if none).
func (r *cliRun) runDir() string {
	matches, _ := filepath.Glob(filepath.Join(r.out, "*", "*", "results.json"))
	for _, m := range matches {
		if filepath.Base(filepath.Dir(m)) != "latest" {
			return filepath.Dir(m)
		}
	}
	return ""
}

// results reads the run's results.json and checks that the reports were
// rendered next to it.
func (r *cliRun) results() *results.Results {
	r.t.Helper()
	dir := r.runDir()
	if dir == "" {
		r.t.Fatalf("no results.json under %s", r.out)
	}
	res, err := results.Read(dir)
	if err != nil {
		r.t.Fatalf("read results: %v", err)
	}
	r.t.Logf("results: status %s, reason %q", res.Status, firstLine(res.Reason))
	for _, f := range []string{reports.HTMLFile, reports.SummaryFile} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			r.t.Errorf("%s missing or empty in %s: %v", f, dir, err)
		}
	}
	return res
}

// docker returns a client closed at the end of the test.
func docker(t *testing.T) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := images.NewDockerClient(ctx)
	if err != nil {
		t.Fatalf("docker: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pidFilter selects the lab resources created by pid, and only those:
// other tests' and engineers' labs run on the same daemon.
func pidFilter(pid int, labels ...string) client.Filters {
	return make(client.Filters).Add("label",
		append([]string{env.LabelLab + "=true", env.LabelPID + "=" + strconv.Itoa(pid)}, labels...)...)
}

// labOf lists the names of pid's containers and networks.
func labOf(t *testing.T, c *client.Client, pid int) (containers, networks []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: pidFilter(pid)})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	for _, ct := range cs.Items {
		containers = append(containers, strings.Join(ct.Names, ",")+" ("+string(ct.State)+")")
	}
	ns, err := c.NetworkList(ctx, client.NetworkListOptions{Filters: pidFilter(pid)})
	if err != nil {
		t.Fatalf("list networks: %v", err)
	}
	for _, n := range ns.Items {
		networks = append(networks, n.Name)
	}
	return containers, networks
}

// assertNothingLeft checks that no container or network of pid remains,
// and that none turns up for a moment afterwards (a create the daemon
// finished late would).
func assertNothingLeft(t *testing.T, pid int) {
	t.Helper()
	c := docker(t)
	const quiet = 1500 * time.Millisecond
	deadline := time.Now().Add(15 * time.Second)
	var emptySince time.Time
	for {
		cs, ns := labOf(t, c, pid)
		switch {
		case len(cs)+len(ns) > 0:
			emptySince = time.Time{}
			if time.Now().After(deadline) {
				t.Errorf("left behind by pid %d: containers %v, networks %v", pid, cs, ns)
				return
			}
		case emptySince.IsZero():
			emptySince = time.Now()
		case time.Since(emptySince) >= quiet:
			return
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
}

// removeByPID force-removes what pid left (the tests' safety net, so a
// failing test does not leave a lab running); it returns how many.
func removeByPID(t *testing.T, pid int) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := images.NewDockerClient(ctx)
	if err != nil {
		return 0
	}
	defer c.Close()
	n := 0
	if cs, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: pidFilter(pid)}); err == nil {
		for _, ct := range cs.Items {
			if _, err := c.ContainerRemove(ctx, ct.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err == nil {
				n++
			}
		}
	}
	if ns, err := c.NetworkList(ctx, client.NetworkListOptions{Filters: pidFilter(pid)}); err == nil {
		for _, nw := range ns.Items {
			if _, err := c.NetworkRemove(ctx, nw.ID, client.NetworkRemoveOptions{}); err == nil {
				n++
			}
		}
	}
	return n
}

// containerOf returns the id of pid's container of role, "" if none yet.
func containerOf(t *testing.T, c *client.Client, pid int, role string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var labels []string
	if role != "" {
		labels = append(labels, env.LabelRole+"="+role)
	}
	cs, err := c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: pidFilter(pid, labels...)})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	if len(cs.Items) == 0 {
		return ""
	}
	return cs.Items[0].ID
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
