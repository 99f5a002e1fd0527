// Package supervise restarts a target's process in place. A duet resets
// both environments between rounds and swaps which side each one hosts;
// starting a container costs about a second of CPU on the lab's Docker
// host (fuse-overlayfs, runc, the network), twice a round. So the lab's
// backend images run their program under this supervisor, as PID 1 of the
// container: it starts the program at once (the container behaves as if
// the program were its entrypoint) and, on request through a small HTTP
// control port, kills it or starts it again, a fresh process with the
// container's own environment, in milliseconds.
//
// The supervisor is the lab's code, not the target's: what it reports (a
// child killed and reaped, a new one started) is the lab's own
// observation. A child that exits unrequested ends the supervisor with
// the child's status, so the container stops as it would have without it
// (a crashed target is seen as a stopped container); SIGTERM and SIGINT
// are passed on to the child, whose status the supervisor then exits with.
//
//	POST /stop   kill the child (SIGKILL: its state is reset anyway), reap it
//	POST /start  start a child (409 while one runs)
//	GET  /       {"running":bool,"pid":N,"starts":N}
package supervise

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// ControlPortLabel is the image label that names the container port of
// the supervisor's control API ("7999/tcp"); an image without it has no
// supervisor.
const ControlPortLabel = "loadlab.control-port"

// Run supervises the program named after "--" in args, serving the control
// API on -control, until the program exits unrequested or a signal from
// signals has been passed on to it and it exited. It returns the exit code
// the supervisor should end with: the child's own, 128+signal for a child
// killed by a signal, 2 for bad usage.
func Run(ctx context.Context, args []string, signals <-chan os.Signal, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("supervise", flag.ContinueOnError)
	fs.SetOutput(stderr)
	control := fs.String("control", ":7999", "address of the control API")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "supervise: usage: supervise [-control ADDR] -- PROGRAM [ARG...]")
		return 2
	}
	ln, err := net.Listen("tcp", *control)
	if err != nil {
		fmt.Fprintf(stderr, "supervise: control: %v\n", err)
		return 2
	}
	s := &supervisor{prog: fs.Args(), stdout: stdout, stderr: stderr, exited: make(chan int, 1)}
	if err := s.start(); err != nil {
		fmt.Fprintf(stderr, "supervise: %v\n", err)
		return 127
	}
	srv := &http.Server{Handler: s.handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close below
	defer srv.Close()
	for {
		select {
		case code := <-s.exited:
			return code
		case sig := <-signals:
			if code, ok := s.forward(sig); ok {
				return code
			}
			return 0 // nothing runs: nothing to wait for
		case <-ctx.Done():
			s.stop()
			return 0
		}
	}
}

type supervisor struct {
	prog           []string
	stdout, stderr io.Writer
	exited         chan int // an unrequested exit's code

	mu     sync.Mutex
	child  *child // nil while stopped
	starts int
}

type child struct {
	cmd       *exec.Cmd
	done      chan struct{} // closed once reaped
	code      int           // valid after done
	requested bool          // stop or a forwarded signal: the supervisor lives on (stop) or ends on its own terms
}

var errRunning = errors.New("a child is running")

// start starts a child; it fails while one runs.
func (s *supervisor) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.child != nil {
		return errRunning
	}
	cmd := exec.Command(s.prog[0], s.prog[1:]...)
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.prog[0], err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	s.child = c
	s.starts++
	go func() {
		_ = cmd.Wait() // its status is in cmd.ProcessState
		c.code = exitCode(cmd.ProcessState)
		s.mu.Lock()
		requested := c.requested
		if s.child == c {
			s.child = nil
		}
		s.mu.Unlock()
		close(c.done)
		if !requested {
			s.exited <- c.code
		}
	}()
	return nil
}

// stop kills the child, if any, and returns once it has been reaped (its
// sockets closed, nothing it did still in flight from this process).
func (s *supervisor) stop() (pid int) {
	c := s.mark()
	if c == nil {
		return 0
	}
	_ = c.cmd.Process.Kill()
	<-c.done
	return c.cmd.Process.Pid
}

// forward passes sig on to the child and waits for it to exit; ok is false
// when no child runs.
func (s *supervisor) forward(sig os.Signal) (code int, ok bool) {
	c := s.mark()
	if c == nil {
		return 0, false
	}
	_ = c.cmd.Process.Signal(sig)
	<-c.done
	return c.code, true
}

// mark returns the running child, marked as ended on request.
func (s *supervisor) mark() *child {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.child != nil {
		s.child.requested = true
	}
	return s.child
}

// Status is what GET / answers.
type Status struct {
	Running bool `json:"running"`
	PID     int  `json:"pid,omitempty"`
	Starts  int  `json:"starts"` // children started so far, the first included
}

func (s *supervisor) status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{Starts: s.starts}
	if s.child != nil {
		st.Running, st.PID = true, s.child.cmd.Process.Pid
	}
	return st
}

func (s *supervisor) handler() http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.status())
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { reply(w) })
	mux.HandleFunc("POST /stop", func(w http.ResponseWriter, _ *http.Request) {
		if pid := s.stop(); pid != 0 {
			fmt.Fprintf(s.stderr, "supervise: killed %s (pid %d) on request\n", s.prog[0], pid)
		}
		reply(w)
	})
	mux.HandleFunc("POST /start", func(w http.ResponseWriter, _ *http.Request) {
		switch err := s.start(); {
		case errors.Is(err, errRunning):
			http.Error(w, err.Error(), http.StatusConflict)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		default:
			reply(w)
		}
	})
	return mux
}

// exitCode is the status a shell would report for a finished child.
func exitCode(st *os.ProcessState) int {
	if st == nil {
		return 127 // never ran
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return st.ExitCode()
}
