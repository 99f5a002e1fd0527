package perf

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/labtest"
)

// targetEnv, when set in a child's environment, makes this test binary
// serve the trivial target instead of running tests.
const targetEnv = "LOADLAB_PERF_TARGET"

func TestMain(m *testing.M) {
	if os.Getenv(targetEnv) == "1" {
		if err := serveTarget(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "perf target:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// Throughput and latency measurements: one timing-sensitive test
	// binary at a time (the target child above must not wait for it).
	labtest.ExclusiveMain()
	os.Exit(m.Run())
}

// trivialHandler answers every request 200 with the headers the load
// engine reads, and nothing else: the cheapest target that still looks
// like the items API.
func trivialHandler(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
	}
	h := w.Header()
	h["X-Version"] = []string{"1"}
	h["X-Source"] = []string{"db"}
	w.WriteHeader(http.StatusOK)
}

// serveTarget serves the trivial target on a loopback port, prints
// "listening ADDR" on out and serves until in reaches EOF: the parent holds
// in open, so the child dies with it even if the parent is killed.
func serveTarget(in io.Reader, out io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(trivialHandler),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // resets at the end of a run are expected
	}
	go srv.Serve(ln)
	if _, err := fmt.Fprintf(out, "listening %s\n", ln.Addr()); err != nil {
		return err
	}
	io.Copy(io.Discard, in)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	return nil
}

// startTarget runs the trivial target in a child process and returns its
// base URL. The child is this test binary: no build step, and the generator
// under test does not share its CPU scheduler or garbage collector with the
// target.
func startTarget(tb testing.TB) string {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatalf("perf: executable: %v", err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), targetEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("perf: start target: %v", err)
	}
	exited := make(chan struct{})
	tb.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		close(exited)
	}()
	select {
	case line, ok := <-lines:
		addr, found := strings.CutPrefix(line, "listening ")
		if !ok || !found {
			tb.Fatalf("perf: target said %q", line)
		}
		return "http://" + addr
	case <-time.After(10 * time.Second):
		tb.Fatal("perf: target did not start within 10s")
	}
	return ""
}

// waitReady polls url until it answers 200, under a deadline.
func waitReady(tb testing.TB, url string) {
	tb.Helper()
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := hc.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				hc.CloseIdleConnections()
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("perf: %s not ready within 10s: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a readiness guess
	}
}
