package scenarios

import (
	"strings"
	"testing"
)

const twoVariants = `name: t
description: d
duration: 30s
load:
  - {name: reads, request: "GET /items/{key}", rate: 10/s}
faults:
  - {name: slow-db, link: backend->postgres, at: 10s, for: 10s, toxic: {type: latency, latency: 50}}
variants:
  - {name: none, backend: {cache: cache-aside}}
  - {name: singleflight, backend: {cache: cache-aside, stampede: singleflight}}
checks:
`

func TestRelativeChecks(t *testing.T) {
	tests := []struct {
		check   string
		variant string
		phase   string
		metric  string
		op      string
		value   float64
		versus  Operand
		factor  float64
	}{
		{`{phase: during slow-db, expect: "singleflight db_reads_per_second <= 0.3 × none db_reads_per_second"}`,
			"singleflight", "during slow-db", "db_reads_per_second", "<=", 0, Operand{"none", "during slow-db", "db_reads_per_second"}, 0.3},
		{`{variant: none, expect: "p99 during slow-db >= 3 * p99 before slow-db"}`,
			"none", "during slow-db", "p99", ">=", 0, Operand{"", "before slow-db", "p99"}, 3},
		{`{stream: reads, expect: "singleflight success_ratio during slow-db >= none success_ratio + 5%"}`,
			"singleflight", "during slow-db", "success_ratio", ">=", 0.05, Operand{"none", "during slow-db", "success_ratio"}, 1},
		{`{expect: "none p99 > singleflight p99 - 10ms"}`,
			"none", "whole", "p99", ">", -10, Operand{"singleflight", "whole", "p99"}, 1},
		{`{variant: none, expect: "max(queue_depth) during slow-db <= 2x max(queue_depth) after slow-db"}`,
			"none", "during slow-db", "max(queue_depth)", "<=", 0, Operand{"", "after slow-db", "max(queue_depth)"}, 2},
		{`{expect: "increase(db_reads_per_second) < 1000"}`, "", "whole", "increase(db_reads_per_second)", "<", 1000, Operand{}, 0},
		{`{expect: "cache_hit_ratio >= 90%"}`, "", "whole", "cache_hit_ratio", ">=", 0.9, Operand{}, 0},
	}
	for _, tt := range tests {
		s, err := Parse("t.yaml", []byte(twoVariants+"  - "+tt.check+"\n"))
		if err != nil {
			t.Errorf("%s: %v", tt.check, err)
			continue
		}
		c := s.Checks[0]
		if c.Variant != tt.variant || c.Phase != tt.phase || c.Metric != tt.metric || c.Op != tt.op || !near(c.Value, tt.value) {
			t.Errorf("%s: got variant %q phase %q metric %q op %q value %v", tt.check, c.Variant, c.Phase, c.Metric, c.Op, c.Value)
		}
		switch {
		case tt.factor == 0 && c.Versus != nil:
			t.Errorf("%s: versus %+v, want a threshold", tt.check, *c.Versus)
		case tt.factor != 0 && (c.Versus == nil || *c.Versus != tt.versus || !near(c.Factor, tt.factor)):
			t.Errorf("%s: versus %+v × %v, want %+v × %v", tt.check, c.Versus, c.Factor, tt.versus, tt.factor)
		}
	}
}

func TestRelativeCheckErrors(t *testing.T) {
	tests := []struct{ check, err string }{
		{`{expect: "p99 <= 3 × p99"}`, "compares p99 with itself"},
		{`{expect: "p99 <= 3 × none p99"}`, "name the variant of the left side too"},
		{`{variant: none, expect: "singleflight p99 <= none p99"}`, "names variant singleflight, but the check's variant is none"},
		{`{phase: after slow-db, expect: "p99 during slow-db <= p99 before slow-db"}`, `names phase "during slow-db", but the check's phase is "after slow-db"`},
		{`{expect: "none p99 <= 2 × singleflight success_ratio"}`, "compares p99 (a latency) with success_ratio (a ratio)"},
		{`{expect: "lost_writes during slow-db <= lost_writes before slow-db"}`, "history metrics cover the whole run"},
		{`{expect: "p99 during slow-dv <= p99 before slow-db"}`, `unknown fault "slow-dv" (did you mean "slow-db"?)`},
		{`{expect: "none p99 <= -2 × singleflight p99"}`, `factor "-2" must be a positive number`},
		{`{expect: "none p99 <= singleflight p99 + 5%"}`, `offset: p99 takes us or µs or ms or s, got unit "%"`},
		{`{expect: "sigleflight p99 <= none p99"}`, `unknown variant "sigleflight" (did you mean "singleflight"?)`},
		{`{expect: "db_read_per_second < 5"}`, `unknown metric "db_read_per_second" (did you mean "db_reads_per_second"?)`},
		{`{expect: "sum(queue_depth) < 5"}`, `unknown aggregation "sum"`},
		{`{expect: "increase(queue_depth) < 5"}`, "only a per-second series has an increase"},
		{`{expect: "p99 while slow-db < 5"}`, `after p99: "while slow-db" is not a phase`},
	}
	for _, tt := range tests {
		_, err := Parse("t.yaml", []byte(twoVariants+"  - "+tt.check+"\n"))
		if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "t.yaml:12:") || !strings.Contains(err.Error(), "checks[0].expect") {
			t.Errorf("%s: error %v, want t.yaml:12: checks[0].expect: ...%s", tt.check, err, tt.err)
		}
	}
}
