package perf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/loadlab/loadlab/harness/images"
)

// vegetaModule is the vegeta CLI the ceiling is compared with: the same
// version as the library the engine is built on.
const vegetaModule = "github.com/tsenart/vegeta/v12@v12.13.0"

// toolRun is what one external generator measured.
type toolRun struct {
	Requests  int64         // completed requests
	Successes int64         // 2xx responses
	Rate      float64       // completed requests per second of the window
	Errors    int64         // transport errors (wrk's socket errors; vegeta counts them as requests)
	CPU       time.Duration // user+system time of the tool's processes
}

var (
	toolsMu sync.Mutex
	tools   = map[string]toolLookup{}
)

type toolLookup struct {
	path string
	err  error
}

// findTool returns the path of a tool, installing it once per test binary
// with install when it is missing and installs are allowed.
func findTool(name string, install func(ctx context.Context) (string, error)) (string, error) {
	toolsMu.Lock()
	defer toolsMu.Unlock()
	if t, ok := tools[name]; ok {
		return t.path, t.err
	}
	var t toolLookup
	t.path, t.err = exec.LookPath(name)
	if t.err != nil {
		if noInstall {
			t.err = fmt.Errorf("%s not found and LOADLAB_BENCH_NO_INSTALL=1", name)
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			t.path, t.err = install(ctx)
			cancel()
		}
	}
	tools[name] = t
	return t.path, t.err
}

// vegetaPath finds the vegeta CLI on PATH or in loadlab's cache, and
// installs it into the cache with `go install` if neither has it.
func vegetaPath() (string, error) {
	dir := filepath.Join(images.CacheDir(), "tools")
	cached := filepath.Join(dir, "vegeta")
	return findTool("vegeta", func(ctx context.Context) (string, error) {
		if _, err := os.Stat(cached); err == nil {
			return cached, nil
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			return "", fmt.Errorf("perf: vegeta not installed and no go command: %w", err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("perf: %w", err)
		}
		cmd := exec.CommandContext(ctx, goBin, "install", vegetaModule)
		cmd.Dir = os.TempDir() // outside any module: @version installs ignore go.mod anyway
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("perf: go install %s: %w: %s", vegetaModule, err, bytes.TrimSpace(out))
		}
		return cached, nil
	})
}

// wrkPath finds wrk on PATH and installs Debian's package if it is missing
// and this process is root.
func wrkPath() (string, error) {
	return findTool("wrk", func(ctx context.Context) (string, error) {
		if os.Geteuid() != 0 {
			return "", errors.New("perf: wrk not installed and not root (apt-get install wrk)")
		}
		apt := func(args ...string) error {
			cmd := exec.CommandContext(ctx, "apt-get", args...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("apt-get %s: %w: %s", strings.Join(args, " "), err, lastLine(out))
			}
			return nil
		}
		install := []string{"install", "-y", "--no-install-recommends", "wrk"}
		if err := apt(install...); err != nil {
			// The package lists may be missing or stale: refresh them once.
			if uerr := apt("update"); uerr != nil {
				return "", fmt.Errorf("perf: %w; %w", err, uerr)
			}
			if err := apt(install...); err != nil {
				return "", fmt.Errorf("perf: %w", err)
			}
		}
		return exec.LookPath("wrk")
	})
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// runVegeta runs `vegeta attack` at an unbounded rate with a fixed number
// of workers for window, writing results to a file (a pipe into `vegeta
// report` would compete for the same two cores), then reads them back with
// `vegeta report -type=json`.
func runVegeta(ctx context.Context, bin, baseURL, dir string, workers int, window time.Duration) (toolRun, error) {
	targets := filepath.Join(dir, "targets.txt")
	var buf bytes.Buffer
	for k := range 1000 { // the same 1000 keys as the engine's stream
		fmt.Fprintf(&buf, "GET %s/items/k%d\n\n", baseURL, k)
	}
	if err := os.WriteFile(targets, buf.Bytes(), 0o644); err != nil {
		return toolRun{}, fmt.Errorf("perf: %w", err)
	}
	out := filepath.Join(dir, "vegeta.bin")
	attack := exec.CommandContext(ctx, bin, "attack",
		"-targets="+targets, "-rate=0", "-duration="+window.String(),
		"-workers="+strconv.Itoa(workers), "-max-workers="+strconv.Itoa(workers),
		"-keepalive=true", "-http2=false", "-timeout=2s", "-max-body=0", "-output="+out)
	if b, err := attack.CombinedOutput(); err != nil {
		return toolRun{}, fmt.Errorf("perf: vegeta attack: %w: %s", err, bytes.TrimSpace(b))
	}
	cpu := attack.ProcessState.UserTime() + attack.ProcessState.SystemTime()
	report := exec.CommandContext(ctx, bin, "report", "-type=json", out)
	b, err := report.Output()
	if err != nil {
		return toolRun{}, fmt.Errorf("perf: vegeta report: %w", err)
	}
	run, err := parseVegetaReport(b)
	run.CPU = cpu
	return run, err
}

// parseVegetaReport reads `vegeta report -type=json`.
func parseVegetaReport(data []byte) (toolRun, error) {
	var m struct {
		Requests int64   `json:"requests"`
		Rate     float64 `json:"rate"`
		Success  float64 `json:"success"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return toolRun{}, fmt.Errorf("perf: vegeta report: %w", err)
	}
	if m.Requests == 0 {
		return toolRun{}, errors.New("perf: vegeta report: no requests")
	}
	return toolRun{Requests: m.Requests, Successes: int64(m.Success*float64(m.Requests) + 0.5), Rate: m.Rate}, nil
}

// runWrk runs wrk with one thread per CPU and conns connections for window.
func runWrk(ctx context.Context, bin, url string, conns int, window time.Duration) (toolRun, error) {
	threads := min(nproc(), conns)
	cmd := exec.CommandContext(ctx, bin, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(int(window.Seconds()+0.5))+"s", "--timeout", "2s", url)
	out, err := cmd.Output()
	if err != nil {
		return toolRun{}, fmt.Errorf("perf: wrk: %w: %s", err, bytes.TrimSpace(out))
	}
	run, err := parseWrk(out)
	run.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return run, err
}

// parseWrk reads wrk's text summary: "N requests in Ds, ...", the
// "Requests/sec:" line and, when present, the non-2xx and socket error counts.
func parseWrk(out []byte) (toolRun, error) {
	var run toolRun
	var bad int64
	var haveRate, haveCount bool
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return run, fmt.Errorf("perf: wrk: %q: %w", line, err)
			}
			run.Rate, haveRate = v, true
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			v, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return run, fmt.Errorf("perf: wrk: %q: %w", line, err)
			}
			run.Requests, haveCount = v, true
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:") && len(f) == 5:
			v, _ := strconv.ParseInt(f[4], 10, 64)
			bad += v
		case strings.HasPrefix(line, "Socket errors:"):
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 2; i+1 < len(f); i += 2 {
				v, _ := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				run.Errors += v
			}
		}
	}
	if !haveRate || !haveCount {
		return run, fmt.Errorf("perf: wrk: no summary in %q", out)
	}
	run.Successes = max(run.Requests-bad, 0)
	return run, nil
}
