package reports

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/reports/results/resultstest"
)

// fixture builds the synthetic run behind testdata/results.json: a
// partition scenario with variants cp and ap, streams reads and writes, 30
// seconds of load and the database cut off from 10 s to 20 s. cp refuses
// during the fault, ap serves stale reads and queues writes, one write is
// lost; the lost_writes check fails. Every number follows from a formula,
// so the goldens are easy to reason about.
func fixture() *results.Results {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	r := &results.Results{
		SchemaVersion: results.SchemaVersion,
		Scenario: results.ScenarioInfo{
			Name:        "partition",
			Description: "Cut the backend off from Postgres for 10s under steady load.",
			Teaches:     "CP refuses during a partition; AP keeps answering with stale data and converges after the heal.",
			File:        "scenarios/catalogue/partition.yaml",
			Seed:        42,
			Quick:       true,
			DurationS:   30,
			SettleS:     5,
			Source:      "name: partition\nduration: 30s\n",
		},
		Status:    results.StatusOK,
		StartedAt: t0,
		EndedAt:   t0.Add(95 * time.Second),
		Environment: results.Environment{
			LoadlabVersion: "v0.1.0-test",
			GoVersion:      "go1.26.8",
			OS:             "linux",
			Arch:           "amd64",
			CPUs:           2,
			Hostname:       "lab",
			DockerVersion:  "20.10.24",
			Images: map[string]results.ImageInfo{
				"postgres":  {Ref: "loadlab/postgres:15-bookworm", ID: "sha256:1111111111111111111111111111111111111111111111111111111111111111"},
				"redis":     {Ref: "loadlab/redis:7-bookworm", ID: "sha256:2222222222222222222222222222222222222222222222222222222222222222"},
				"toxiproxy": {Ref: "loadlab/toxiproxy:2.12.0", ID: "sha256:3333333333333333333333333333333333333333333333333333333333333333"},
			},
			Limits: map[string]string{"backend": "cpus=1 memory=256MiB"},
		},
	}
	for vi, name := range []string{"cp", "ap"} {
		ap := name == "ap"
		v := results.Variant{
			Name:      name,
			Settings:  map[string]string{"consistency": name, "cache": "cache-aside"},
			Client:    "proxy",
			Status:    results.StatusOK,
			StartedAt: t0.Add(time.Duration(vi) * 45 * time.Second),
		}
		if ap {
			v.Settings["writes"] = "queue"
		}
		faults := []results.FaultWindow{{
			Name: "db-partition", Link: "backend->postgres", Toxic: "timeout", Direction: "downstream",
			Toxicity: 1, Attributes: map[string]int64{"timeout": 0},
			PlannedAtS: 10, PlannedForS: 10,
			ActiveFromS: 10.012 + 0.001*float64(vi), ActiveToS: 20.031,
			ApplyMs: 3.5, RemoveMs: 12.25,
		}}
		var streams []resultstest.Stream
		for si, st := range []struct {
			name, method string
			rps          int
		}{{"reads", "GET", 40}, {"writes", "PUT", 10}} {
			streams = append(streams, resultstest.Stream{Name: st.name, Method: st.method, Rate: st.rps,
				Request: func(t, i int) load.Sample { return partitionRequest(ap, si, st.method, st.rps, t, i) }})
		}
		hit := results.Series{Name: "cache_hit_ratio", Unit: "ratio", Help: "cache hits / lookups per scrape interval"}
		depth := results.Series{Name: "queue_depth", Unit: "count", Help: "writes waiting in the queue"}
		for t := 0; t <= 30; t += 2 {
			hit.Points = append(hit.Points, results.Point{T: float64(t), V: 0.8 + 0.01*float64(t%7)})
			d := 0.0
			if ap && t >= 10 && t < 24 {
				d = float64(min(t, 20)-10) * 9
			}
			depth.Points = append(depth.Points, results.Point{T: float64(t), V: d})
		}
		v.Metrics = []results.Series{hit, depth}
		resultstest.Measure(&v, 30, faults, streams...)
		v.History = &results.History{
			Operations: 1500, Writes: 300, AckedWrites: 290, Reads: 1200, OKReads: 1180, Unknown: 4, Keys: 100,
			Converged: true,
		}
		if ap {
			h := v.History
			h.LostWrites, h.StaleReads, h.StaleRatio, h.ConvergenceS = 1, 36, 0.03, 3.5
			h.Examples = []results.OpExample{
				{Kind: "lost_write", Stream: "writes", Key: "k:17", Version: 42, Expected: 41, Source: "queue",
					InvokeS: 12.5, CompleteS: 12.51, Explanation: "acked version 42 > final version 41 in Postgres"},
				{Kind: "stale_read", Stream: "reads", Key: "k:3", Value: "w1:7", Version: 7, Expected: 9, Source: "stale",
					InvokeS: 15.25, CompleteS: 15.26, Explanation: "read version 7 after version 9 was acked at 14.90 s",
					Returned: &results.OpRef{Op: "write", Stream: "writes", Value: "w1:7", Outcome: "ok", InvokeS: 14.1, CompleteS: 14.2},
					Witness:  &results.OpRef{Op: "write", Stream: "writes", Value: "w1:9", Outcome: "ok", InvokeS: 14.85, CompleteS: 14.9}},
			}
			h.Timelines = []results.KeyTimeline{{Key: "k:3", Kind: "stale_read", FromS: 14, ToS: 15.4, Ops: []results.TimelineOp{
				{Lane: 0, Write: true, Value: "w1:7", Outcome: "ok", InvokeS: 14.1, CompleteS: 14.2, Anomaly: "returned"},
				{Lane: 1, Value: "w1:7", Outcome: "ok", InvokeS: 14.3, CompleteS: 14.32},
				{Lane: 0, Write: true, Value: "w1:8", Outcome: "info", InvokeS: 14.5, CompleteS: 15.1},
				{Lane: 1, Write: true, Value: "w1:9", Outcome: "ok", InvokeS: 14.85, CompleteS: 14.9, Anomaly: "witness"},
				{Lane: 1, Write: true, Value: "w1:10", Outcome: "fail", InvokeS: 15.0, CompleteS: 15.01},
				{Lane: 2, Value: "w1:7", Outcome: "ok", InvokeS: 15.25, CompleteS: 15.26, Anomaly: "stale_read"},
			}}}
		}
		check := func(expect, phase, stream, metric string, observed float64, pass bool, msg string, line int) results.CheckResult {
			f := strings.Fields(expect)
			required, _ := strconv.ParseFloat(strings.TrimSuffix(f[2], "ms"), 64)
			return results.CheckResult{Expect: expect, Variant: name, Stream: stream, Phase: phase, Metric: metric,
				Observed: observed, Op: f[1], Required: required, Pass: pass, Message: msg, Where: fmt.Sprintf("scenarios/catalogue/partition.yaml:%d", line)}
		}
		if ap {
			ratio := v.Streams[0].Phases[2].SuccessRatio
			v.Checks = append(v.Checks,
				check("success_ratio >= 0.99", "during db-partition", "reads", "success_ratio", ratio, ratio >= 0.99, "", 21),
				check("lost_writes == 0", "whole", "", "lost_writes", 1, false, "1 acknowledged write lost", 23))
		} else {
			v.Checks = append(v.Checks, check("stale_reads == 0", "during db-partition", "", "stale_reads", 0, true, "", 22))
		}
		p99 := v.Streams[0].Phases[3].Latency.P99
		v.Checks = append(v.Checks, check("p99 < 50ms", "after db-partition", "reads", "p99", p99, p99 < 50, "", 24))
		if ap { // a comparison across variants: ap's read success during the partition against cp's
			cpOK, apOK := r.Variants[0].Streams[0].Phases[2].SuccessRatio, v.Streams[0].Phases[2].SuccessRatio
			v.Checks = append(v.Checks, results.CheckResult{Expect: "ap success_ratio >= 0.5 × cp success_ratio + 0.1", Variant: name, Stream: "reads",
				Phase: "during db-partition", Metric: "success_ratio", Observed: apOK, Op: ">=", Required: 0.5*cpOK + 0.1, Pass: apOK >= 0.5*cpOK+0.1,
				Versus: &results.CheckOperand{Variant: "cp", Phase: "during db-partition", Metric: "success_ratio", Observed: cpOK, Factor: 0.5, Offset: 0.1},
				Where:  "scenarios/catalogue/partition.yaml:25"})
		}
		r.Variants = append(r.Variants, v)
	}
	return r
}

// partitionRequest is what came of request i of second t of stream si. cp
// answers a quarter of the requests during the partition from the cache
// and fails the rest slowly (503 after waiting on Postgres); ap answers
// everything, stale or queued, three times slower. Three reads of second 5
// left 15 ms late; cp's last two writes were never sent.
func partitionRequest(ap bool, si int, method string, rps, t, i int) load.Sample {
	during := t >= 10 && t < 20
	typical := time.Duration((1.5+0.1*float64(t%5)+0.5*float64(si))*1000) * time.Microsecond
	x := load.Sample{Code: 200, Success: true, Source: history.SourceDB}
	if method == "GET" {
		x.Source = history.SourceCache
	}
	switch {
	case during && !ap && i >= rps/4:
		x = load.Sample{Code: 503}
		typical *= 40
	case during && ap:
		typical *= 3
		x.Source = map[string]history.Source{"GET": history.SourceStale, "PUT": history.SourceQueue}[method]
	}
	x.Latency = resultstest.Spread(typical, i, rps)
	if method == "GET" && t == 5 && i < 3 {
		x.Late = 15 * time.Millisecond
	}
	if !ap && method == "PUT" && t == 29 && i >= rps-2 {
		x = load.Sample{Unsent: true, Latency: 250 * time.Millisecond}
	}
	return x
}
