package perf

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	out := `Running 5s test @ http://127.0.0.1:41234/items/k1
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.23ms    2.34ms  50.00ms   90.00%
    Req/Sec    20.00k     1.00k   25.00k    70.00%
  200000 requests in 5.00s, 20.00MB read
  Socket errors: connect 1, read 0, write 0, timeout 3
  Non-2xx or 3xx responses: 10
Requests/sec:  40000.00
Transfer/sec:      4.00MB
`
	run, err := parseWrk([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if run.Requests != 200000 || run.Rate != 40000 || run.Successes != 199990 || run.Errors != 4 {
		t.Errorf("parsed %+v", run)
	}
	if _, err := parseWrk([]byte("unable to connect to 127.0.0.1:1 Connection refused\n")); err == nil {
		t.Error("no summary accepted")
	}
}

func TestParseVegetaReport(t *testing.T) {
	run, err := parseVegetaReport([]byte(`{"latencies":{"mean":1000},"requests":1000,"rate":200.5,"throughput":199.9,"success":0.999,"status_codes":{"200":999,"0":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if run.Requests != 1000 || run.Rate != 200.5 || run.Successes != 999 {
		t.Errorf("parsed %+v", run)
	}
	if _, err := parseVegetaReport([]byte(`{"requests":0}`)); err == nil {
		t.Error("empty report accepted")
	}
}

func TestSlopeAndSoakStats(t *testing.T) {
	if got := slope([]float64{0, 1, 2, 3}, []float64{1, 3, 5, 7}); math.Abs(got-2) > 1e-12 {
		t.Errorf("slope %g, want 2", got)
	}
	if got := slope([]float64{1, 1}, []float64{1, 2}); got != 0 {
		t.Errorf("slope without spread %g", got)
	}
	var samples []rssSample
	for i := range 10 {
		// 100 MB, +10 MB per minute after a 2-minute warm-up that peaks early.
		rss := 100 + 10*float64(i)
		if i == 1 {
			rss = 500
		}
		samples = append(samples, rssSample{time.Duration(i) * time.Minute, int64(rss * mb)})
	}
	f := soakStats(80*mb, samples, 2*time.Minute)
	if f.start != 80 || f.peak != 500 || f.end != 190 || f.warm != 120 || math.Abs(f.slope-10) > 1e-9 {
		t.Errorf("soak stats %+v", f)
	}
}

func TestMachineProbes(t *testing.T) {
	rss, err := rssBytes()
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if rss < 1<<20 {
		t.Errorf("RSS %d bytes", rss)
	}
	if all, one := loadAvg(); one < 0 || len(strings.Fields(all)) != 3 {
		t.Errorf("load average %q %g", all, one)
	}
	if cpuTime() <= 0 {
		t.Error("no CPU time")
	}
}

func TestSyntheticInputsAreAMillionRequests(t *testing.T) {
	if n := requestsIn(syntheticRun(1, 1)); n < 1_000_000 || n > 1_100_000 {
		t.Errorf("synthetic run has %d requests", n)
	}
	if n := len(controlFaults(time.Second, 7*time.Second)); n != 24 {
		t.Errorf("%d control-plane faults in 6 s", n)
	}
}
