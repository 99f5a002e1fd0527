package scenarios

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest valid file; tests append to it or edit it.
const minimal = `name: t
description: d
duration: 30s
load:
  - name: r
    request: GET /items/{key}
    rate: 10/s
`

func mustParse(t *testing.T, src string) *Scenario {
	t.Helper()
	s, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v\n--- source:\n%s", err, src)
	}
	return s
}

func TestParseDefaults(t *testing.T) {
	s := mustParse(t, minimal)
	if s.Settle != DefaultSettle || s.Seed != DefaultSeed || s.Timeout != DefaultTimeout || s.Target.Port != DefaultPort {
		t.Errorf("defaults: settle %v seed %d timeout %v port %d", s.Settle, s.Seed, s.Timeout, s.Target.Port)
	}
	if len(s.Variants) != 1 || s.Variants[0].Name != "default" || s.Variants[0].Client != "proxy" {
		t.Errorf("variants = %+v, want one named default going through the proxy", s.Variants)
	}
	st := s.Load[0]
	want := Keys{Count: 1000, Distribution: "uniform", ZipfS: 1.1, HotFraction: 0.9, HotKeys: 1}
	if st.Keys != want {
		t.Errorf("keys = %+v, want %+v", st.Keys, want)
	}
	if st.Method != "GET" || st.Path != "/items/{key}" || st.Rate != (Rate{10, time.Second}) || st.BodySize != 0 || st.Line != 5 {
		t.Errorf("stream = %+v", st)
	}
	if s.File != "t.yaml" || string(s.Source) != minimal {
		t.Errorf("file %q, source kept: %v", s.File, string(s.Source) == minimal)
	}
}

func TestParseFull(t *testing.T) {
	src := `# a comment
name: full-1
description: everything
teaches: >-
  folded
  text
duration: 1m
settle: 0
seed: -7
timeout: 500ms
target:
  image: example/app:1
  port: 9090
  env: {LOG_LEVEL: debug, WORKERS: 4}
load:
  - name: reads
    request: GET /v1/items/{key}?fresh=1
    rate: 600/m
    stages:
      - {duration: 10s, target: 50/s}
      - {duration: 20s, target: 5}
    keys: {count: 50, distribution: hot, hot_fraction: 0.5, hot_keys: 3}
    max_workers: 16
    conditional: true
  - name: writes
    request: PUT /items/{key}
    rate: 7200/h
    keys: {distribution: zipf, zipf_s: 1.5}
    body_size: 1024
    arrival: poisson
  - name: increments
    request: POST /counters/{key}/increment
    rate: 5/s
    retry: {max: 8, on: [412, 503], backoff: 2ms}
faults:
  - name: slow
    link: client->backend
    at: 0
    for: 10s
    toxic: {type: latency, latency: 100, jitter: 5, stream: upstream, toxicity: 0.5}
  - name: cut
    link: client->backend
    at: 10s
    for: 5s
    toxic: {type: down}
  - name: narrow
    link: backend->redis
    at: 5s
    for: 55s
    toxic: {type: slicer, average_size: 64}
variants:
  - name: a
    backend: {anything_goes: 1, cache: bogus-is-fine-for-custom}
  - name: b
    client: direct
checks:
  - {expect: "p99<250ms"}
  - {variant: a, stream: writes, phase: "during  cut", expect: "success_ratio >= 99.5%"}
  - {phase: after slow, expect: "convergence <= 1500ms"}
  - {expect: "p50 < 2s"}
  - {expect: "throughput >= 10/s"}
  - {expect: "lost_writes == 0"}
  - {expect: "p999 != 7"}
`
	s := mustParse(t, src)
	if s.Teaches != "folded text" || s.Duration != time.Minute || s.Settle != 0 || s.Seed != -7 || s.Timeout != 500*time.Millisecond {
		t.Errorf("top level: %+v", s)
	}
	if s.Target.Image != "example/app:1" || s.Target.Port != 9090 || s.Target.Env["WORKERS"] != "4" {
		t.Errorf("target = %+v", s.Target)
	}
	r, w := s.Load[0], s.Load[1]
	if r.Rate.PerSecond() != 10 || len(r.Stages) != 2 || r.Stages[1].Target.PerSecond() != 5 || r.Keys.HotKeys != 3 || r.MaxWorkers != 16 || !r.Conditional || w.Conditional {
		t.Errorf("reads = %+v", r)
	}
	if w.Rate.PerSecond() != 2 || w.Keys.ZipfS != 1.5 || w.BodySize != 1024 || !w.IsWrite() || w.Arrival != ArrivalPoisson || r.Arrival != ArrivalEven {
		t.Errorf("writes = %+v", w)
	}
	if inc := s.Load[2]; !inc.IsIncrement() || !inc.IsWrite() || inc.BodySize != 0 || inc.Retry == nil ||
		inc.Retry.Max != 8 || !slices.Equal(inc.Retry.On, []int{412, 503}) || inc.Retry.Backoff != 2*time.Millisecond || r.Retry != nil {
		t.Errorf("increments = %+v, retry %+v", inc, inc.Retry)
	}
	slow := s.Faults[0]
	if slow.Toxic.Stream != "upstream" || slow.Toxic.Toxicity != 0.5 || slow.Toxic.Attributes["jitter"] != 5 || slow.At != 0 {
		t.Errorf("slow = %+v", slow)
	}
	if got := s.Faults[2].Toxic.Attributes; got["average_size"] != 64 || got["size_variation"] != 0 || got["delay"] != 0 {
		t.Errorf("slicer attributes with defaults = %v", got)
	}
	if s.Variants[0].Backend["anything_goes"] != "1" || s.Variants[1].Client != "direct" {
		t.Errorf("variants = %+v", s.Variants)
	}
	wantChecks := []struct {
		metric, op, phase string
		value             float64
	}{
		{"p99", "<", "whole", 250},
		{"success_ratio", ">=", "during cut", 0.995},
		{"convergence", "<=", "after slow", 1.5},
		{"p50", "<", "whole", 2000},
		{"throughput", ">=", "whole", 10},
		{"lost_writes", "==", "whole", 0},
		{"p999", "!=", "whole", 7},
	}
	for i, w := range wantChecks {
		c := s.Checks[i]
		if c.Metric != w.metric || c.Op != w.op || c.Phase != w.phase || !near(c.Value, w.value) || c.File != "t.yaml" {
			t.Errorf("checks[%d] = %+v, want %+v", i, c, w)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestParseAliases(t *testing.T) {
	src := minimal + `variants:
  - {name: a, backend: &cfg {cache: cache-aside, cache_ttl: 1s}}
  - {name: b, backend: *cfg, client: direct}
`
	s := mustParse(t, src)
	if s.Variants[1].Backend["cache_ttl"] != "1s" {
		t.Errorf("alias not followed: %+v", s.Variants[1])
	}
}

// TestParseErrors checks one kind of error per row: its line, its field
// and a substring of its message.
// TestParseVariantRetry: a variant gives a stream its own retry policy,
// with transport failures, a per-attempt timeout and a budget; the other
// variants keep the stream's.
func TestParseVariantRetry(t *testing.T) {
	s := mustParse(t, minimal+`    retry: {max: 1, on: [503]}
variants:
  - {name: plain}
  - {name: budgeted, retry: {r: {max: 3, on: [503, timeout, error], backoff: 10ms, timeout: 200ms, budget: 0.1}}}
`)
	// max: 0 retries nothing and needs no on: the policy only bounds each
	// attempt (the control of a retry lesson).
	if never := mustParse(t, minimal+"    retry: {max: 0, timeout: 250ms}\n").Load[0].Retry; never == nil || never.Max != 0 || len(never.On) != 0 || never.Timeout != 250*time.Millisecond {
		t.Errorf("max: 0: %+v", never)
	}
	plain, budgeted := s.StreamsFor(s.Variants[0])[0].Retry, s.StreamsFor(s.Variants[1])[0].Retry
	if plain.Max != 1 || s.Load[0].Retry != plain {
		t.Errorf("plain: %+v", plain)
	}
	want := Retry{Max: 3, On: []int{503, RetryOnTimeout, RetryOnError}, Backoff: 10 * time.Millisecond, Timeout: 200 * time.Millisecond, Budget: 0.1}
	if budgeted == nil || budgeted.Max != want.Max || !slices.Equal(budgeted.On, want.On) || budgeted.Backoff != want.Backoff ||
		budgeted.Timeout != want.Timeout || budgeted.Budget != want.Budget {
		t.Errorf("budgeted: %+v, want %+v", budgeted, want)
	}
}

// TestParseKill: a kill fault names the container, no link and no toxic.
func TestParseKill(t *testing.T) {
	s := mustParse(t, minimal+"faults:\n  - {name: crash, kill: postgres, at: 10s, for: 2s}\n  - {name: cut, link: backend->postgres, at: 10s, for: 2s, toxic: {type: down}}\n")
	k := s.Faults[0]
	if k.Kill != "postgres" || k.Link != "" || k.Toxic.Type != "" || k.For != 2*time.Second || k.Where() != "postgres" || s.Faults[1].Where() != "backend->postgres" {
		t.Errorf("faults = %+v", s.Faults)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		line  int
		field string
		msg   string
	}{
		{"empty", "", 1, "", "file is empty"},
		{"only comments", "# nothing\n", 1, "", "file is empty"},
		{"binary", "name: x\n\x00\x01\xff", 2, "", "not a text file: control character U+0000"},
		{"bad utf8", "name: \xff\n", 1, "", "byte 0xff is not valid UTF-8"},
		{"list at top", "- a\n- b\n", 1, "", "top level must be a mapping"},
		{"scalar at top", "hello\n", 1, "", "got the string \"hello\""},
		{"syntax", "a:\n  b: 1\n c: 2\n", 3, "", "YAML syntax: value is not allowed in this context"},
		{"braces in flow", "name: t\nload:\n  - {name: r, request: GET /items/{key}, rate: 10/s}\n", 3, "", `quote values that contain braces`},
		{"unknown key", strings.Replace(minimal, "duration:", "duraton:", 1), 3, "duraton", `did you mean "duration"?`},
		{"missing duration", strings.Replace(minimal, "duration: 30s\n", "", 1), 1, "duration", "is required"},
		{"duplicate key", minimal + "name: u\n", 8, "name", "duplicate key \"name\" (first at line 1)"},
		{"bad name", strings.Replace(minimal, "name: t", "name: Big_Name", 1), 1, "name", "not a valid name"},
		{"name is a list", strings.Replace(minimal, "name: t", "name: [a]", 1), 1, "name", "expected a single value, got a list"},
		{"bool description", strings.Replace(minimal, "description: d", "description: true", 1), 2, "description", "quote it"},
		{"bad duration", strings.Replace(minimal, "30s", "20x", 1), 3, "duration", `"20x" is not a duration (use 20s, 500ms, 1m)`},
		{"bare duration", strings.Replace(minimal, "30s", "30", 1), 3, "duration", "30 has no unit"},
		{"negative settle", minimal + "settle: -1s\n", 8, "settle", "must not be negative"},
		{"huge duration", strings.Replace(minimal, "30s", "25h", 1), 3, "duration", "too long (at most 24h)"},
		{"short duration", strings.Replace(minimal, "30s", "10ms", 1), 3, "duration", "must be at least 1s"},
		{"seed string", minimal + "seed: abc\n", 8, "seed", "expected a whole number"},
		{"seed overflow", minimal + "seed: 99999999999999999999\n", 8, "seed", "too large"},
		{"load empty", "name: t\ndescription: d\nduration: 30s\nload: []\n", 4, "load", "at least one stream"},
		{"load mapping", "name: t\ndescription: d\nduration: 30s\nload:\n  name: r\n", 5, "load", "expected a list, got a mapping"},
		{"zero rate", strings.Replace(minimal, "10/s", "0/s", 1), 7, "load[0].rate", "must be positive"},
		{"negative rate", strings.Replace(minimal, "10/s", "-5", 1), 7, "load[0].rate", "must be positive"},
		{"huge rate", strings.Replace(minimal, "10/s", "200000/s", 1), 7, "load[0].rate", "too large (at most 100000/s)"},
		{"fractional rate", strings.Replace(minimal, "10/s", "0.5/s", 1), 7, "load[0].rate", "write 30/m"},
		{"rate unit", strings.Replace(minimal, "10/s", "10/d", 1), 7, "load[0].rate", "not a rate"},
		{"method", strings.Replace(minimal, "GET", "DELETE", 1), 6, "load[0].request", `method "DELETE" is not supported (use GET, PUT or POST)`},
		{"no key in path", strings.Replace(minimal, "/items/{key}", "/items", 1), 6, "load[0].request", "must contain {key}"},
		{"other placeholder", strings.Replace(minimal, "/items/{key}", "/{id}/{key}", 1), 6, "load[0].request", "{key} is the only placeholder"},
		{"missing request", strings.Replace(minimal, "    request: GET /items/{key}\n", "", 1), 5, "load[0].request", "is required"},
		{"unknown stream key", minimal + "    rat: 2\n", 8, "load[0].rat", "unknown key"},
		{"key count", minimal + "    keys: {count: 20000000}\n", 8, "load[0].keys.count", "too large"},
		{"distribution", minimal + "    keys: {distribution: zip}\n", 8, "load[0].keys.distribution", `did you mean "zipf"?`},
		{"zipf_s on uniform", minimal + "    keys: {zipf_s: 2}\n", 8, "load[0].keys.zipf_s", "applies only to distribution: zipf"},
		{"zipf_s range", minimal + "    keys: {distribution: zipf, zipf_s: 1}\n", 8, "load[0].keys.zipf_s", "must be above 1"},
		{"hot keys > count", minimal + "    keys: {count: 2, distribution: hot, hot_keys: 3}\n", 8, "load[0].keys.hot_keys", "3 hot keys, but only 2 keys"},
		{"body on GET", minimal + "    body_size: 10\n", 8, "load[0].body_size", "applies only to PUT"},
		{"retry without max", minimal + "    retry: {on: [412]}\n", 8, "load[0].retry.max", "is required"},
		{"retry max", minimal + "    retry: {max: 1000, on: [412]}\n", 8, "load[0].retry.max", "too large"},
		{"retry on nothing", minimal + "    retry: {max: 3, on: []}\n", 8, "load[0].retry.on", "names nothing to retry"},
		{"retry without on", minimal + "    retry: {max: 1, timeout: 1s}\n", 8, "load[0].retry.on", "is required"},
		{"retry budget", minimal + "    retry: {max: 3, on: [503], budget: 2}\n", 8, "load[0].retry.budget", "above 0 and at most 1"},
		{"variant retry stream", minimal + "variants:\n  - {name: a, retry: {w: {max: 2, on: [503]}}}\n", 9, "variants[0].retry.w", `no stream "w" in load (streams: r)`},
		{"retry on 200", minimal + "    retry: {max: 3, on: [503, 200]}\n", 8, "load[0].retry.on[1]", "at least 400"},
		{"conditional PUT", strings.Replace(minimal, "GET", "PUT", 1) + "    conditional: true\n", 8, "load[0].conditional", "applies only to GET"},
		{"conditional string", minimal + "    conditional: often\n", 8, "load[0].conditional", "expected true or false"},
		{"auth clients", minimal + "    auth: {clients: 0}\n", 8, "load[0].auth.clients", "must be at least 1"},
		{"auth without clients", minimal + "    auth: {}\n", 8, "load[0].auth.clients", "is required"},
		{"auth key", minimal + "    auth: {client: 3}\n", 8, "load[0].auth.client", `did you mean "clients"?`},
		{"retry key", minimal + "    retry: {max: 3, on: [503], backof: 1ms}\n", 8, "load[0].retry.backof", `did you mean "backoff"?`},
		{"body huge", strings.Replace(minimal, "GET", "PUT", 1) + "    body_size: 2000000\n", 8, "load[0].body_size", "too large (at most 1048576)"},
		{"stages too long", minimal + "    stages: [{duration: 20s, target: 5/s}, {duration: 20s, target: 1/s}]\n", 8, "load[0].stages", "stages last 40s, longer than the run's duration 30s"},
		{"stage missing target", minimal + "    stages: [{duration: 20s}]\n", 8, "load[0].stages[0].target", "is required"},
		{"duplicate stream", minimal + "  - {name: r, request: \"PUT /items/{key}\", rate: 1/s}\n", 8, "load[1].name", "duplicate stream name \"r\" (first at line 5)"},
		{"unknown link", minimal + "faults:\n  - {name: f, link: db, at: 1s, for: 1s, toxic: {type: down}}\n", 9, "faults[0].link", "not one of client->backend"},
		{"kill with a link", minimal + "faults:\n  - {name: f, kill: postgres, link: backend->redis, at: 1s, for: 1s}\n", 9, "faults[0].link", "a kill fault crashes a container and takes no link"},
		{"kill target", minimal + "faults:\n  - {name: f, kill: toxiproxy, at: 1s, for: 1s}\n", 9, "faults[0].kill", "not one of postgres, redis, backend"},
		{"revoke what", minimal + "faults:\n  - {name: f, revoke: session, at: 1s, for: 1s}\n", 9, "faults[0].revoke", "not one of token"},
		{"revoke with a toxic", minimal + "faults:\n  - {name: f, revoke: token, at: 1s, for: 1s, toxic: {type: down}}\n", 9, "faults[0].toxic", "a revoke fault logs a client out and takes no toxic"},
		{"revoke and kill", minimal + "faults:\n  - {name: f, revoke: token, kill: redis, at: 1s, for: 1s}\n", 9, "faults[0].revoke", "either kills a container or revokes a token"},
		{"revokes overlap", minimal + "faults:\n  - {name: f, revoke: token, at: 1s, for: 5s}\n  - {name: g, revoke: token, at: 3s, for: 1s}\n", 10, "faults[1].at", `overlaps fault "f"`},
		{"kills overlap", minimal + "faults:\n  - {name: f, kill: redis, at: 1s, for: 5s}\n  - {name: g, kill: redis, at: 3s, for: 1s}\n", 10, "faults[1].at", `overlaps fault "f"`},
		{"fault without link or kill", minimal + "faults:\n  - {name: f, at: 1s, for: 1s, toxic: {type: down}}\n", 9, "faults[0].link", "or kill: postgres | redis | backend"},
		{"fault at", minimal + "faults:\n  - {name: f, link: backend->redis, at: 20x, for: 1s, toxic: {type: down}}\n", 9, "faults[0].at", `"20x" is not a duration`},
		{"fault too late", minimal + "faults:\n  - {name: f, link: backend->redis, at: 25s, for: 10s, toxic: {type: down}}\n", 9, "faults[0].for", "ends at 35s, after the run's duration 30s"},
		{"fault overlap", minimal + "faults:\n  - {name: f, link: backend->redis, at: 5s, for: 10s, toxic: {type: down}}\n  - {name: g, link: backend->redis, at: 10s, for: 10s, toxic: {type: latency, latency: 5}}\n", 10, "faults[1].at", `overlaps fault "f" on the same link`},
		{"toxic type", minimal + "faults:\n  - {name: f, link: backend->redis, at: 5s, for: 1s, toxic: {type: latncy}}\n", 9, "faults[0].toxic.type", `did you mean "latency"?`},
		{"toxic attr", minimal + "faults:\n  - {name: f, link: backend->redis, at: 5s, for: 1s, toxic: {type: bandwidth, rate: 5, latency: 1}}\n", 9, "faults[0].toxic.latency", "bandwidth takes rate (KB/s)"},
		{"toxic needs attr", minimal + "faults:\n  - {name: f, link: backend->redis, at: 5s, for: 1s, toxic: {type: bandwidth}}\n", 9, "faults[0].toxic.rate", "is required"},
		{"toxic zero rate", minimal + "faults:\n  - {name: f, link: backend->redis, at: 5s, for: 1s, toxic: {type: bandwidth, rate: 0}}\n", 9, "faults[0].toxic.rate", "must be at least 1"},
		{"toxic unit string", minimal + "faults:\n  - {name: f, link: backend->redis, at: 5s, for: 1s, toxic: {type: latency, latency: 50ms}}\n", 9, "faults[0].toxic.latency", "whole number of ms"},
		{"down attrs", minimal + "faults:\n  - {name: f, link: backend->redis, at: 5s, for: 1s, toxic: {type: down, stream: upstream}}\n", 9, "faults[0].toxic.stream", "down takes no attributes"},
		{"toxicity", minimal + "faults:\n  - {name: f, link: backend->redis, at: 5s, for: 1s, toxic: {type: timeout, toxicity: 0}}\n", 9, "faults[0].toxic.toxicity", "must be above 0"},
		{"jitter", minimal + "faults:\n  - {name: f, link: backend->redis, at: 5s, for: 1s, toxic: {type: latency, latency: 5, jitter: 10}}\n", 9, "faults[0].toxic.jitter", "more than latency"},
		{"duplicate fault", minimal + "faults:\n  - {name: f, link: backend->redis, at: 1s, for: 1s, toxic: {type: down}}\n  - {name: f, link: backend->postgres, at: 1s, for: 1s, toxic: {type: down}}\n", 10, "faults[1].name", "duplicate fault name"},
		{"duplicate variant", minimal + "variants: [{name: a}, {name: a}]\n", 8, "variants[1].name", "duplicate variant name"},
		{"backend key", minimal + "variants: [{name: a, backend: {cahce: none}}]\n", 8, "variants[0].backend.cahce", `did you mean "cache"?`},
		{"backend value", minimal + "variants: [{name: a, backend: {consistency: strong}}]\n", 8, "variants[0].backend.consistency", `"strong" is not one of cp, ap`},
		{"backend int", minimal + "variants: [{name: a, backend: {rate_limit: -1}}]\n", 8, "variants[0].backend.rate_limit", "must not be negative"},
		{"backend duration", minimal + "variants: [{name: a, backend: {cache_ttl: 5}}]\n", 8, "variants[0].backend.cache_ttl", "not a duration"},
		{"harness setting", minimal + "variants: [{name: a, backend: {database_url: x}}]\n", 8, "variants[0].backend.database_url", "set by the harness"},
		{"custom image key", minimal + "target: {image: x}\nvariants: [{name: a, backend: {Bad-Key: 1}}]\n", 9, "variants[0].backend.Bad-Key", "lower case letters"},
		{"client", minimal + "variants: [{name: a, client: proxied}]\n", 8, "variants[0].client", `did you mean "proxy"?`},
		{"check metric", minimal + "checks: [{expect: \"p95 < 5ms\"}]\n", 8, "checks[0].expect", "unknown metric \"p95\""},
		{"check op", minimal + "checks: [{expect: \"p99 = 5ms\"}]\n", 8, "checks[0].expect", "expected an operator"},
		{"check unit", minimal + "checks: [{expect: \"p99 < 5kg\"}]\n", 8, "checks[0].expect", `takes us or µs or ms or s, got unit "kg"`},
		{"check ratio", minimal + "checks: [{expect: \"success_ratio > 150%\"}]\n", 8, "checks[0].expect", "ratio between 0 and 1"},
		{"check count", minimal + "checks: [{expect: \"lost_writes < 0.5\"}]\n", 8, "checks[0].expect", "whole number"},
		{"check variant", minimal + "checks: [{variant: cp, expect: \"p99 < 5ms\"}]\n", 8, "checks[0].variant", `unknown variant "cp" (defined: default)`},
		{"check stream", minimal + "checks: [{stream: writes, expect: \"p99 < 5ms\"}]\n", 8, "checks[0].stream", `unknown stream "writes"`},
		{"check phase", minimal + "checks: [{phase: while f, expect: \"p99 < 5ms\"}]\n", 8, "checks[0].phase", "is not a phase"},
		{"check phase fault", minimal + "checks: [{phase: during f, expect: \"p99 < 5ms\"}]\n", 8, "checks[0].phase", `unknown fault "f" (the file defines none)`},
		{"check expect missing", minimal + "checks:\n  - {phase: whole}\n", 9, "checks[0].expect", "is required"},
		{"merge key", minimal + "target: {<<: {port: 1}}\n", 8, "target.<<", "merge keys"},
		{"port range", minimal + "target: {port: 70000}\n", 8, "target.port", "too large (at most 65535)"},
		{"env name", minimal + "target: {env: {\"1X\": a}}\n", 8, "target.env.1X", "not an environment variable name"},
		{"two documents", minimal + "---\nname: u\n", 8, "", "one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error for:\n%s", tt.src)
			}
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want *Errors", err)
			}
			for _, e := range errs.List {
				if e.Line == tt.line && e.Field == tt.field && strings.Contains(e.Msg, tt.msg) {
					return
				}
			}
			t.Errorf("want an error at line %d, field %q, containing %q; got:\n%v", tt.line, tt.field, tt.msg, err)
		})
	}
}

func TestErrorFormat(t *testing.T) {
	src := strings.Replace(minimal, "30s", "20x", 1)
	_, err := Parse("partition.yaml", []byte(src))
	want := `partition.yaml:3:11: duration: "20x" is not a duration (use 20s, 500ms, 1m)`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
	var one *Error
	if !errors.As(err, &one) || one.Col != 11 {
		t.Errorf("errors.As(*Error) = %+v", one)
	}
	if got := (&Error{File: "f", Line: 2, Msg: "m"}).Error(); got != "f:2: m" {
		t.Errorf("without column and field: %q", got)
	}
}

// TestParseReportsAllErrors checks that one parse reports every problem,
// in file order, and caps the list.
func TestParseReportsAllErrors(t *testing.T) {
	src := `name: X
description: d
duration: 20x
load:
  - {name: r, request: GET /items, rate: 0/s}
`
	_, err := Parse("t.yaml", []byte(src))
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.List) != 4 {
		t.Fatalf("want 4 errors, got %v", err)
	}
	for i, line := range []int{1, 3, 5, 5} {
		if errs.List[i].Line != line {
			t.Errorf("error %d at line %d, want %d", i, errs.List[i].Line, line)
		}
	}

	var b strings.Builder
	b.WriteString(minimal + "checks:\n")
	for range 30 {
		b.WriteString("  - {expect: \"nope < 1\"}\n")
	}
	_, err = Parse("t.yaml", []byte(b.String()))
	if !errors.As(err, &errs) || len(errs.List) != maxReported || errs.Omitted != 10 {
		t.Fatalf("want %d errors listed and 10 omitted, got %d and %d", maxReported, len(errs.List), errs.Omitted)
	}
	if !strings.HasSuffix(err.Error(), "... and 10 more errors") {
		t.Errorf("error text does not say how many were left out:\n%v", err)
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		err  string
	}{
		{"400/s", 400, ""}, {"30/m", 0.5, ""}, {"3600/h", 1, ""}, {"12", 12, ""}, {" 5 / 1s ", 5, ""},
		{"0", 0, "must be positive"}, {"-1/s", 0, "must be positive"}, {"1.5/s", 0, "write 90/m"},
		{"100001", 0, "too large"}, {"99999999999999999999/s", 0, "too large"}, {"x/s", 0, "not a rate"}, {"", 0, "not a rate"},
	}
	for _, tt := range tests {
		r, err := ParseRate(tt.in)
		switch {
		case tt.err == "" && (err != nil || r.PerSecond() != tt.want):
			t.Errorf("ParseRate(%q) = %v, %v; want %v/s", tt.in, r, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseRate(%q) error = %v, want %q", tt.in, err, tt.err)
		}
	}
	if s := (Rate{30, time.Minute}).String(); s != "30/m" {
		t.Errorf("String = %q", s)
	}
}

func TestParseExpect(t *testing.T) {
	tests := []struct {
		in        string
		metric    string
		op        string
		value     float64
		errSubstr string
	}{
		{"p99 < 500ms", "p99", "<", 500, ""},
		{"p99<0.5s", "p99", "<", 500, ""},
		{"mean <= 250us", "mean", "<=", 0.25, ""},
		{"max > 3", "max", ">", 3, ""},
		{"success_ratio >= 0.99", "success_ratio", ">=", 0.99, ""},
		{"error_ratio < 1%", "error_ratio", "<", 0.01, ""},
		{"convergence < 500ms", "convergence", "<", 0.5, ""},
		{"convergence < 5", "convergence", "<", 5, ""},
		{"rate >= 100/s", "rate", ">=", 100, ""},
		{"stale_reads == 0", "stale_reads", "==", 0, ""},
		{"p99", "", "", 0, "expected an operator"},
		{"< 5", "", "", 0, "is not METRIC OP VALUE"},
		{"p99 < ", "", "", 0, "needs a number"},
		{"p99 < -1ms", "", "", 0, "must not be negative"},
		{"requests > 5/s", "", "", 0, "is a count and takes no unit"},
		{"convergence < 5us", "", "", 0, "takes ms or s"},
		{"success_ratio >= 2", "", "", 0, "ratio between 0 and 1"},
	}
	for _, tt := range tests {
		e, err := parseExpect(tt.in, nil)
		m, op, v := e.metric.Name, e.op, e.value
		if tt.errSubstr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errSubstr) {
				t.Errorf("parseExpect(%q) error = %v, want %q", tt.in, err, tt.errSubstr)
			}
			continue
		}
		if err != nil || m != tt.metric || op != tt.op || !near(v, tt.value) {
			t.Errorf("parseExpect(%q) = %q %q %v %v", tt.in, m, op, v, err)
		}
	}
}

func TestToxicRegistry(t *testing.T) {
	want := []string{"latency", "bandwidth", "timeout", "down", "reset_peer", "slow_close", "slicer", "limit_data"}
	kinds := ToxicKinds()
	if len(kinds) != len(want) {
		t.Fatalf("%d kinds, want %d", len(kinds), len(want))
	}
	for i, k := range kinds {
		if k.Name != want[i] {
			t.Errorf("kind %d = %s, want %s", i, k.Name, want[i])
		}
		if got, ok := LookupToxic(k.Name); !ok || got.Name != k.Name {
			t.Errorf("LookupToxic(%s) = %v, %v", k.Name, got, ok)
		}
		if k.DisablesProxy != (k.Name == "down") {
			t.Errorf("%s: DisablesProxy = %v", k.Name, k.DisablesProxy)
		}
	}
	if _, ok := LookupToxic("nope"); ok {
		t.Error("LookupToxic(nope) found something")
	}
}

// TestParseHostileInputs checks that big and deeply nested inputs are
// refused quickly, with a position, never with a crash or a long stall.
func TestParseHostileInputs(t *testing.T) {
	tests := []struct {
		name string
		src  string
		msg  string
	}{
		{"too big", minimal + "teaches: " + strings.Repeat("x", 1<<20) + "\n", "at most 1 MiB"},
		{"nested brackets", strings.Repeat("[", 1<<20-1), "YAML syntax"},
		{"nested mappings", "a: " + strings.Repeat("{a: ", 200_000), "YAML syntax"},
		{"nested lists", strings.Repeat("- ", 400_000), "YAML syntax"},
		{"alias bomb", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
			"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n" +
			"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\ni: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse("t.yaml", []byte(tt.src))
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("took %v", elapsed)
			}
			var errs *Errors
			if !errors.As(err, &errs) || errs.List[0].Line < 1 || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %.300v", err)
			}
		})
	}
}

func TestParseEnvironment(t *testing.T) {
	if mustParse(t, minimal).FreshEnv {
		t.Error("default environment is fresh, want reuse")
	}
	if mustParse(t, minimal+"environment: reuse\n").FreshEnv {
		t.Error("environment: reuse parsed as fresh")
	}
	if !mustParse(t, minimal+"environment: fresh\n").FreshEnv {
		t.Error("environment: fresh parsed as reuse")
	}
	_, err := Parse("t.yaml", []byte(minimal+"environment: frsh\n"))
	if err == nil || !strings.Contains(err.Error(), `t.yaml:8:14: environment`) || !strings.Contains(err.Error(), `did you mean "fresh"`) {
		t.Errorf("environment: frsh: %v, want an error at t.yaml:8:14 with a suggestion", err)
	}
}

func TestParseAuthAndRevoke(t *testing.T) {
	s, err := Parse("auth.yaml", []byte(minimal+"    auth: {clients: 20}\nfaults:\n  - {name: logout, revoke: token, at: 10s, for: 8s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a := s.Load[0].Auth; a == nil || a.Clients != 20 {
		t.Errorf("stream auth = %+v, want 20 clients", a)
	}
	f := s.Faults[0]
	if f.Revoke != RevokeToken || f.Link != "" || f.Kill != "" || f.Where() != "revoke token" {
		t.Errorf("fault = %+v (where %q), want a revoke fault", f, f.Where())
	}
}
