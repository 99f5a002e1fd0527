package perf

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/load"
)

// Settings of the benchmarks, from the environment.
var (
	benchWindow   = envDuration("LOADLAB_BENCH_WINDOW", 5*time.Second)
	benchConns    = envInt("LOADLAB_BENCH_CONNS", 64)
	soakDuration  = envDuration("LOADLAB_BENCH_SOAK", time.Minute)
	soakRate      = envInt("LOADLAB_BENCH_SOAK_RATE", 3000)
	noInstall     = os.Getenv("LOADLAB_BENCH_NO_INSTALL") == "1"
	discardLogger = slog.New(slog.DiscardHandler)
)

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
		fmt.Fprintf(os.Stderr, "perf: ignoring %s=%q: not a positive duration\n", name, v)
	}
	return def
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
		fmt.Fprintf(os.Stderr, "perf: ignoring %s=%q: not a positive integer\n", name, v)
	}
	return def
}

// reads is the one stream the generator benchmarks send: GETs over 1000
// keys, the items API's hot path.
func reads(rate, workers int) load.Stream {
	return load.Stream{
		Name: "reads", Method: "GET", Path: "/items/{key}",
		Rate: float64(rate), Keys: load.Keys{Count: 1000}, MaxWorkers: workers,
	}
}

// loadAvg returns /proc/loadavg's three averages as written, and the
// one-minute one as a number (-1 when unknown).
func loadAvg() (string, float64) {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown", -1
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown", -1
	}
	one, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return "unknown", -1
	}
	return strings.Join(f[:3], " "), one
}

// machineLoad is the one-minute load average when a measurement started.
type machineLoad float64

// noteLoad logs the machine's load averages as a measurement starts: on a
// shared 2-core machine no figure means anything without them. Its report
// method adds the one-minute figure as the metric "load1"; call it after
// the b.Loop loop, which clears metrics reported before it.
func noteLoad(b *testing.B) machineLoad {
	b.Helper()
	all, one := loadAvg()
	b.Logf("load average at start: %s (nproc %d)", all, nproc())
	return machineLoad(one)
}

func (l machineLoad) report(b *testing.B) {
	if l >= 0 {
		b.ReportMetric(float64(l), "load1")
	}
	if all, _ := loadAvg(); all != "unknown" {
		b.Logf("load average at end: %s", all)
	}
}

// nproc is the number of CPUs this process may use.
func nproc() int { return runtime.NumCPU() }

// rssBytes is the process's resident set size from /proc/self/status.
func rssBytes() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "12345 kB"
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("perf: VmRSS line %q", line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("perf: VmRSS line %q: %w", line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("perf: no VmRSS in /proc/self/status")
}

// cpuTime is the user+system CPU time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// slope is the least-squares slope of ys over xs (0 with fewer than two
// distinct xs).
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if len(xs) < 2 || len(xs) != len(ys) {
		return 0
	}
	var sx, sy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
	}
	mx, my := sx/n, sy/n
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}
