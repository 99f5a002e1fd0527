package reports

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/loadlab/loadlab/reports/results"
)

// Bench renders bench.txt in the Go benchmark format, so that
// `benchstat base/bench.txt head/bench.txt` compares two runs.
//
// The header holds configuration lines, then a blank line (goos, goarch, cpu, pkg
// "loadlab/<scenario>", plus loadlab-version, seed, quick and status).
// Then, per variant × stream × phase, one line summarising the phase:
//
//	BenchmarkPartition/variant=ap/stream=reads/phase=during_db-partition 1 2.1 p50-ms 9.8 p99-ms 398.5 req/s 0.9975 success-ratio
//
// followed by one line per second of that phase that had requests, with
// the same name plus "/window=1s" and the same units, so that benchstat sees
// a distribution of per-second values (n = seconds) and can test whether
// two runs differ; filter with `benchstat -filter window:1s`. The phase
// line has no /window key and is a single sample.
//
// Name parts are sanitised: anything but letters, digits and ._:+- becomes
// '_' (a phase "during db-partition" becomes "during_db-partition"), and a
// trailing "-<digits>" gets an '_' for its '-', because benchstat would read
// it as GOMAXPROCS. The iteration count is always 1; req/s is the throughput
// (successful responses per second).
func Bench(r *results.Results) []byte {
	var b bytes.Buffer
	env := r.Environment
	config := [][2]string{
		{"goos", env.OS},
		{"goarch", env.Arch},
		{"cpu", cpuLine(env.CPUs)},
		{"pkg", "loadlab/" + r.Scenario.Name},
		{"loadlab-version", env.LoadlabVersion},
		{"seed", strconv.FormatInt(r.Scenario.Seed, 10)},
		{"quick", strconv.FormatBool(r.Scenario.Quick)},
		{"status", r.Status},
	}
	for _, kv := range config {
		if v := strings.Join(strings.Fields(kv[1]), " "); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", kv[0], v)
		}
	}
	b.WriteString("\n")
	base := "Benchmark" + camel(r.Scenario.Name)
	for _, v := range r.Variants {
		for _, st := range v.Streams {
			for i, ps := range st.Phases {
				name := fmt.Sprintf("%s/variant=%s/stream=%s/phase=%s", base, benchValue(v.Name), benchValue(st.Name), benchValue(ps.Phase))
				fmt.Fprintf(&b, "%s 1 %s p50-ms %s p99-ms %s req/s %s success-ratio\n", name,
					num(ps.Latency.P50, 3), num(ps.Latency.P99, 3), num(ps.Throughput, 3), num(ps.SuccessRatio, 6))
				ph, ok := phaseWindow(v.Phases, i, ps.Phase)
				if !ok {
					continue
				}
				for _, sec := range st.Seconds {
					if sec.Requests == 0 || !ph.Contains(sec.T, v.DurationS) {
						continue
					}
					fmt.Fprintf(&b, "%s/window=1s 1 %s p50-ms %s p99-ms %d req/s %s success-ratio\n", name,
						num(sec.Latency.P50, 3), num(sec.Latency.P99, 3), sec.Successes,
						num(float64(sec.Successes)/float64(sec.Requests), 6))
				}
			}
		}
	}
	return b.Bytes()
}

// phaseWindow finds the time window of the i-th phase summary: by position
// (the schema keeps both in the same order), checked by name.
func phaseWindow(phases []results.Phase, i int, name string) (results.Phase, bool) {
	if i < len(phases) && phases[i].Name == name {
		return phases[i], true
	}
	for _, p := range phases {
		if p.Name == name {
			return p, true
		}
	}
	return results.Phase{}, false
}

func cpuLine(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf("%d CPUs", n)
}

// camel turns a scenario name into a benchmark name part: "cache-stampede"
// becomes "CacheStampede". Benchmark names must start with an upper-case
// letter or digit after "Benchmark".
func camel(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) || r > unicode.MaxASCII {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "Scenario"
	}
	return b.String()
}

// benchValue makes s safe as a key=value part of a benchmark name.
func benchValue(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._:+-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := []byte(b.String())
	if len(out) == 0 {
		return "_"
	}
	// A trailing -N would be taken for the GOMAXPROCS suffix.
	i := len(out)
	for i > 0 && out[i-1] >= '0' && out[i-1] <= '9' {
		i--
	}
	if i < len(out) && i > 0 && out[i-1] == '-' {
		out[i-1] = '_'
	}
	return string(out)
}

// num formats v rounded to prec decimals, without exponent or trailing
// zeros; not-a-number becomes 0 so that every line stays parseable.
func num(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	p := math.Pow10(prec)
	return strconv.FormatFloat(math.Round(v*p)/p, 'f', -1, 64)
}
