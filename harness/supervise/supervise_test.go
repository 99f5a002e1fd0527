package supervise

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// supervised runs Run over prog with a control port of its own and returns
// its client, the channel to signal it through, and Run's exit code once
// it returns.
func supervised(t *testing.T, prog ...string) (Client, chan<- os.Signal, <-chan int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 1)
	code, done := make(chan int, 1), make(chan struct{})
	go func() {
		code <- Run(ctx, append([]string{"-control", addr, "--"}, prog...), signals, io.Discard, io.Discard)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("supervise did not end on cancellation")
		}
	})
	c := Client{URL: "http://" + addr}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.Status(context.Background())
		if err == nil && st.Running {
			return c, signals, code
		}
		if time.Now().After(deadline) {
			t.Fatalf("the supervisor did not start its child within 10s: %v %+v", err, st)
		}
		time.Sleep(10 * time.Millisecond) // polling its control port under the deadline above
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestStopKillsAndStartStartsAFreshProcess(t *testing.T) {
	c, _, _ := supervised(t, "sleep", "60")
	ctx := context.Background()
	first, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("start while a child runs: %v, want 409", err)
	}
	st, err := c.Stop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Running || alive(first.PID) {
		t.Fatalf("after stop: %+v, pid %d alive %v: want it killed and reaped", st, first.PID, alive(first.PID))
	}
	st, err = c.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running || st.PID == first.PID || st.Starts != 2 || !alive(st.PID) {
		t.Errorf("after start: %+v (first pid %d): want a second, new, live child", st, first.PID)
	}
	if st, err := c.Stop(ctx); err != nil || st.Running {
		t.Errorf("second stop: %+v, %v", st, err)
	}
	if st, err := c.Stop(ctx); err != nil || st.Running {
		t.Errorf("stop with nothing running: %+v, %v", st, err)
	}
}

// A child that exits on its own ends the supervisor with its status, so
// that a crashed target's container stops as it would without one.
func TestUnrequestedExitEndsTheSupervisor(t *testing.T) {
	c, _, code := supervised(t, "sleep", "60")
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-code:
		if got != 128+int(syscall.SIGKILL) {
			t.Errorf("exit code %d, want %d", got, 128+int(syscall.SIGKILL))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor lived on after its child was killed behind its back")
	}
}

func TestSignalIsPassedOnAndItsStatusReturned(t *testing.T) {
	c, signals, code := supervised(t, "sleep", "60")
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	signals <- syscall.SIGTERM
	select {
	case got := <-code:
		if got != 128+int(syscall.SIGTERM) {
			t.Errorf("exit code %d, want %d (the child's, killed by SIGTERM)", got, 128+int(syscall.SIGTERM))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not end the supervisor")
	}
	if alive(st.PID) {
		t.Errorf("child %d still alive", st.PID)
	}
}

func TestUsage(t *testing.T) {
	if got := Run(context.Background(), nil, nil, io.Discard, io.Discard); got != 2 {
		t.Errorf("no program: exit %d, want 2", got)
	}
	var stderr strings.Builder
	if got := Run(context.Background(), []string{"-control", "127.0.0.1:0", "--", "/nonexistent/program"}, nil, io.Discard, &stderr); got != 127 {
		t.Errorf("missing program: exit %d, want 127 (%s)", got, stderr.String())
	}
	if _, err := (Client{URL: "http://127.0.0.1:1"}).Status(context.Background()); err == nil || errors.Unwrap(err) == nil {
		t.Errorf("status of nothing: %v", err)
	}
}
