package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/loadlab/loadlab/harness/history"
	"github.com/loadlab/loadlab/harness/load"
	"github.com/loadlab/loadlab/reports"
	"github.com/loadlab/loadlab/reports/compare"
	"github.com/loadlab/loadlab/reports/results"
	"github.com/loadlab/loadlab/reports/results/resultstest"
)

// synthetic run shape: 2 variants × 600 s × (600 + 200 + 50) req/s, about
// 1.02 million requests, with a fault from 200 s to 400 s.
const (
	synthSeconds = 600
	faultFrom    = 200
	faultTo      = 400
)

var synthStreams = []struct {
	name, method string
	rps          int64
}{{"reads", "GET", 600}, {"writes", "PUT", 200}, {"hot", "GET", 50}}

// syntheticRun builds results.json of a 10-minute, two-variant partition
// run of about a million requests: what reports and compare meet after a
// long study. seed varies the noise; latencyScale multiplies every latency
// (a "head" run slower than its "base").
func syntheticRun(seed uint64, latencyScale float64) *results.Results {
	rng := rand.New(rand.NewPCG(seed, 7))
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	r := &results.Results{
		SchemaVersion: results.SchemaVersion,
		Scenario: results.ScenarioInfo{
			Name: "partition", Description: "synthetic 10-minute partition study", Seed: int64(seed),
			DurationS: synthSeconds, SettleS: 5, File: "synthetic.yaml",
		},
		Status:    results.StatusOK,
		StartedAt: t0,
		EndedAt:   t0.Add(2 * (synthSeconds + 30) * time.Second),
		Environment: results.Environment{
			LoadlabVersion: "bench", GoVersion: "go1.26", OS: "linux", Arch: "amd64", CPUs: 2,
		},
	}
	const fault = "db-partition"
	for vi, name := range []string{"cp", "ap"} {
		ap := name == "ap"
		v := results.Variant{
			Name: name, Settings: map[string]string{"consistency": name}, Client: "proxy",
			Status: results.StatusOK, StartedAt: t0.Add(time.Duration(vi) * (synthSeconds + 30) * time.Second),
		}
		faults := []results.FaultWindow{{
			Name: fault, Link: "backend->postgres", Toxic: "down",
			PlannedAtS: faultFrom, PlannedForS: faultTo - faultFrom,
			ActiveFromS: faultFrom + 0.01, ActiveToS: faultTo + 0.02, ApplyMs: 2.5, RemoveMs: 3.1,
		}}
		var streams []resultstest.Stream
		var ops, writes int64
		for _, st := range synthStreams {
			ops += st.rps * synthSeconds
			if st.method == "PUT" {
				writes += st.rps * synthSeconds
			}
			streams = append(streams, resultstest.Stream{Name: st.name, Method: st.method, Rate: int(st.rps),
				Request: func(t, i int) load.Sample {
					during := t >= faultFrom && t < faultTo
					lat := time.Duration((1.2 + 0.4*rng.Float64()) * latencyScale * float64(time.Millisecond))
					x := load.Sample{Code: 200, Success: true, Source: history.SourceDB}
					switch {
					case during && !ap && i%3 != 0:
						x = load.Sample{Code: 503}
						lat *= 30
					case during && ap:
						lat *= 2
						x.Source = history.SourceStale
					}
					x.Latency = resultstest.Spread(lat, i, int(st.rps))
					return x
				}})
		}
		for _, m := range []struct{ name, unit string }{{"cache_hit_ratio", "ratio"}, {"queue_depth", "count"}, {"db_pool_in_use", "count"}} {
			series := results.Series{Name: m.name, Unit: m.unit}
			for t := range synthSeconds {
				series.Points = append(series.Points, results.Point{T: float64(t), V: rng.Float64()})
			}
			v.Metrics = append(v.Metrics, series)
		}
		resultstest.Measure(&v, synthSeconds, faults, streams...)
		v.History = &results.History{
			Operations: ops, Writes: writes, AckedWrites: writes * 9 / 10, Reads: ops - writes, Keys: 1000, Converged: true,
		}
		v.Checks = []results.CheckResult{
			{Expect: "p99 < 50ms", Variant: name, Stream: "reads", Phase: "after " + fault, Metric: "p99",
				Observed: v.Streams[0].Phases[3].Latency.P99, Pass: true},
			{Expect: "lost_writes == 0", Variant: name, Phase: "whole", Metric: "lost_writes", Pass: true},
		}
		r.Variants = append(r.Variants, v)
	}
	return r
}

// requestsIn counts the requests a results.json stands for.
func requestsIn(r *results.Results) int64 {
	var n int64
	for _, v := range r.Variants {
		for _, s := range v.Streams {
			n += s.Sent
		}
	}
	return n
}

// reportPerMillion adds the time per operation scaled to a million
// requests, and how many requests the input stood for.
func reportPerMillion(b *testing.B, requests int64) {
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(requests)/1e6, "Mreq")
	b.ReportMetric(perOp*1e6/float64(requests), "s/1M-req")
}

// BenchmarkRender1M renders every report (HTML, Markdown, JUnit, bench.txt,
// charts in SVG and PNG) of a run of about a million requests.
func BenchmarkRender1M(b *testing.B) {
	r := syntheticRun(1, 1)
	dir := b.TempDir()
	machine := noteLoad(b)
	for b.Loop() {
		if err := reports.Render(context.Background(), r, dir); err != nil {
			b.Fatal(err)
		}
	}
	reportPerMillion(b, requestsIn(r))
	machine.report(b)
}

// BenchmarkCompare1M compares three paired rounds a side of about a million
// requests each (the run is compare's unit of evidence: one run a side
// judges no metric): in memory (compare.CompareRuns and the text table), and
// as `loadlab compare --paired` does it, from six results.json files on disk.
func BenchmarkCompare1M(b *testing.B) {
	var base, head []*results.Results
	var baseDirs, headDirs []string
	requests := int64(0)
	dir := b.TempDir()
	for i := range uint64(3) {
		bs, hs := syntheticRun(2*i+1, 1), syntheticRun(2*i+2, 1.25)
		base, head = append(base, bs), append(head, hs)
		requests += requestsIn(bs) + requestsIn(hs)
		bd, hd := filepath.Join(dir, "base", fmt.Sprint(i)), filepath.Join(dir, "head", fmt.Sprint(i))
		if err := errors.Join(results.Write(bd, bs), results.Write(hd, hs)); err != nil {
			b.Fatal(err)
		}
		baseDirs, headDirs = append(baseDirs, bd), append(headDirs, hd)
	}
	compareRuns := func(b *testing.B, base, head []*results.Results) {
		rep, err := compare.CompareRuns(base, head, compare.WithPaired(true))
		if err != nil {
			b.Fatal(err)
		}
		if err := rep.WriteText(io.Discard); err != nil {
			b.Fatal(err)
		}
		if !rep.Regressed() {
			b.Fatalf("a 25%% slower head was not judged a regression: %s", rep.Summary())
		}
	}
	read := func(b *testing.B, dirs []string) []*results.Results {
		var runs []*results.Results
		for _, d := range dirs {
			r, err := results.Read(d)
			if err != nil {
				b.Fatal(err)
			}
			runs = append(runs, r)
		}
		return runs
	}
	b.Run("in-memory", func(b *testing.B) {
		machine := noteLoad(b)
		for b.Loop() {
			compareRuns(b, base, head)
		}
		reportPerMillion(b, requests)
		machine.report(b)
	})
	b.Run("from-disk", func(b *testing.B) {
		machine := noteLoad(b)
		for b.Loop() {
			compareRuns(b, read(b, baseDirs), read(b, headDirs))
		}
		reportPerMillion(b, requests)
		machine.report(b)
	})
}
