// Package results is the versioned schema of a run's results.json: the one
// contract between the harness, which fills it, and the reports, which read it.
//
// Units are in the field names: *_ms are milliseconds, *_s seconds, times
// inside a variant are offsets in seconds from the variant's load start (T0).
package results

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// SchemaVersion is bumped on every incompatible change of the schema.
const SchemaVersion = 1

// Status of a run as a whole.
const (
	StatusOK      = "ok"      // ran to the end; checks may still have failed
	StatusAborted = "aborted" // interrupted (Ctrl-C, SIGTERM); holds what was measured
	StatusFailed  = "failed"  // the harness failed (environment, target died); holds what was measured
)

// Results is the whole of results.json.
type Results struct {
	SchemaVersion int          `json:"schema_version"`
	Scenario      ScenarioInfo `json:"scenario"`
	Status        string       `json:"status"`
	Reason        string       `json:"reason,omitempty"` // why aborted or failed
	StartedAt     time.Time    `json:"started_at"`
	EndedAt       time.Time    `json:"ended_at"`
	Environment   Environment  `json:"environment"`
	Variants      []Variant    `json:"variants"`
}

// Scales a scenario can be run at (loadlab run --quick, --long).
const (
	ScaleNormal = "normal"
	ScaleQuick  = "quick"
	ScaleLong   = "long"
)

// ScaleName says at which scale the scenario ran; files written before
// the scale was recorded only know quick or not.
func (s ScenarioInfo) ScaleName() string {
	switch {
	case s.Scale != "":
		return s.Scale
	case s.Quick:
		return ScaleQuick
	}
	return ScaleNormal
}

// ScenarioInfo describes what was run.
type ScenarioInfo struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Teaches     string  `json:"teaches,omitempty"`
	File        string  `json:"file,omitempty"`
	Seed        int64   `json:"seed"`
	Quick       bool    `json:"quick"`
	Scale       string  `json:"scale,omitempty"` // ScaleQuick, ScaleLong, or ScaleNormal: the file's own length
	DurationS   float64 `json:"duration_s"`
	SettleS     float64 `json:"settle_s"`
	Source      string  `json:"source,omitempty"` // the scenario file's text, for reproducing the run
}

// Environment holds the facts needed to reproduce or to distrust a run.
type Environment struct {
	LoadlabVersion string               `json:"loadlab_version"`
	GoVersion      string               `json:"go_version"`
	OS             string               `json:"os"`
	Arch           string               `json:"arch"`
	CPUs           int                  `json:"cpus"`
	Hostname       string               `json:"hostname,omitempty"`
	DockerVersion  string               `json:"docker_version,omitempty"`
	Images         map[string]ImageInfo `json:"images,omitempty"` // by role: postgres, redis, toxiproxy, backend
	Limits         map[string]string    `json:"limits,omitempty"` // container CPU and memory limits by role
}

// ImageInfo names one image used by the run.
type ImageInfo struct {
	Ref string `json:"ref"`
	ID  string `json:"id"`
}

// Variant is one run of the scenario in a fresh environment.
type Variant struct {
	Name       string            `json:"name"`
	Settings   map[string]string `json:"settings,omitempty"` // the target's configuration
	Client     string            `json:"client"`             // "proxy" (through toxiproxy) or "direct"
	Status     string            `json:"status"`
	Reason     string            `json:"reason,omitempty"`
	SeededKeys int               `json:"seeded_keys,omitempty"` // keys written once before the load
	StartedAt  time.Time         `json:"started_at"`            // T0: load start
	DurationS  float64           `json:"duration_s"`            // load duration actually run
	Phases     []Phase           `json:"phases"`
	Faults     []FaultWindow     `json:"faults,omitempty"`
	Streams    []Stream          `json:"streams"`
	Total      []PhaseSummary    `json:"total,omitempty"`   // all streams together: one per Phases entry, same order
	Metrics    []Series          `json:"metrics,omitempty"` // scraped from the target's /metrics
	History    *History          `json:"history,omitempty"`
	Checks     []CheckResult     `json:"checks,omitempty"`
}

// Phase is a named time window of a variant. "whole" is always present; for
// every fault F there are "before F", "during F" and "after F".
type Phase struct {
	Name   string  `json:"name"`
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
}

// Contains reports whether second t of a variant that ran durationS seconds
// belongs to the phase. Second t covers [t, t+1), cut short at durationS
// when the run ended inside it, and belongs to the phase that holds its
// midpoint: so the phases of a variant share its seconds out with none
// counted twice or lost, a fault applied at 20.03 s owns seconds 20, 21, ...,
// and a last partial second still belongs somewhere. This is the one rule:
// summaries, checks, comparisons and bench lines all cover the same seconds.
func (p Phase) Contains(t int, durationS float64) bool {
	start, end := float64(t), float64(t+1)
	if durationS > start && durationS < end {
		end = durationS
	}
	mid := (start + end) / 2
	return p.StartS <= mid && mid < p.EndS
}

// FaultWindow is one scheduled fault and when it was really active.
type FaultWindow struct {
	Name        string           `json:"name"`
	Link        string           `json:"link"`
	Kill        string           `json:"kill,omitempty"`   // the container a kill fault crashed (no link, no toxic)
	Revoke      string           `json:"revoke,omitempty"` // "token": a revoke fault (no link, no toxic)
	Toxic       string           `json:"toxic"`            // latency, bandwidth, timeout, down, reset_peer, ...
	Direction   string           `json:"direction,omitempty"`
	Toxicity    float64          `json:"toxicity,omitempty"`
	Attributes  map[string]int64 `json:"attributes,omitempty"`
	PlannedAtS  float64          `json:"planned_at_s"`
	PlannedForS float64          `json:"planned_for_s"`
	ActiveFromS float64          `json:"active_from_s"`       // when the toxic was in place (-1: never applied)
	ActiveToS   float64          `json:"active_to_s"`         // when it was removed (-1: never removed)
	Error       string           `json:"error,omitempty"`     // applying or removing failed
	ApplyMs     float64          `json:"apply_ms,omitempty"`  // control-plane latency of adding it
	RemoveMs    float64          `json:"remove_ms,omitempty"` // control-plane latency of removing it
	// RecoveryS is how long after the fault ended every stream answered
	// as before again (success ratio >= 0.99 two seconds in a row): 0
	// when it never faltered, -1 when it had not recovered when the load
	// ended. Added without a schema bump (absent in older files).
	RecoveryS *float64 `json:"recovery_s,omitempty"`
	// RevocationLagS is a revoke fault's measure: seconds from the
	// logout's answer to the target's first refusal of the token, -1 when
	// it still took the token when the fault ended. Added without a
	// schema bump (absent in older files and other faults).
	RevocationLagS *float64 `json:"revocation_lag_s,omitempty"`
}

// Stream is one load stream's measurements.
type Stream struct {
	Name    string         `json:"name"`
	Method  string         `json:"method"`
	Path    string         `json:"path"`
	Rate    string         `json:"rate"`              // as written in the scenario, e.g. "400/s" or "ramp 50/s→400/s"
	Seconds []Bucket       `json:"seconds"`           // one per second of load, T = index
	Phases  []PhaseSummary `json:"phases"`            // one per Variant.Phases entry, same order
	Arrival string         `json:"arrival,omitempty"` // "poisson"; empty: evenly spaced
	// Conditional: the stream revalidated with If-None-Match (a caching
	// client); its 304s are reads of the copy it held.
	Conditional bool `json:"conditional,omitempty"`
	// Generator health: the load generator must not hide its own limits.
	Intended    int64   `json:"intended"`         // requests the pacer scheduled
	Sent        int64   `json:"sent"`             // requests actually sent
	Unsent      int64   `json:"unsent,omitempty"` // scheduled but never sent: counted as failed requests
	LateSends   int64   `json:"late_sends"`       // sent more than 10 ms after their intended time
	MaxLateMs   float64 `json:"max_late_ms"`      // worst lateness
	MaxWorkers  int     `json:"max_workers"`      // concurrent workers at peak
	WorkerLimit int     `json:"worker_limit"`     // cap, 0 = uncapped
	Saturated   bool    `json:"saturated"`        // the generator could not keep the schedule
	// Retries counts requests sent again by the stream's retry policy
	// (each hit's latency and outcome cover its retries).
	Retries int64 `json:"retries,omitempty"`
}

// Latency holds exact percentiles from an HdrHistogram, in milliseconds.
// Latency is measured from the intended send time (coordinated-omission
// safe). Buckets and summaries hold the successes' latency as the headline
// and the failures' beside it, so that fast errors cannot pull a percentile
// down while a service fails. (Files written before failure_latency existed
// hold every response's latency in latency.)
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// Bucket is one second of one stream: the requests intended in that second,
// whenever they really left (a backlog built during a fault is the fault's).
type Bucket struct {
	T              int              `json:"t"`                // second offset from T0
	Requests       int64            `json:"requests"`         // intended in this second: sent, and unsent
	Successes      int64            `json:"successes"`        // 2xx (and 404 on reads of never-written keys)
	Unsent         int64            `json:"unsent,omitempty"` // due but never sent: failed, latency until the generator gave up
	Codes          map[string]int64 `json:"codes,omitempty"`  // "200": n, "503": n, "0": transport errors
	Errors         map[string]int64 `json:"errors,omitempty"` // transport error class: "timeout", "refused", "reset", ...
	LateSends      int64            `json:"late_sends,omitempty"`
	MaxLateMs      float64          `json:"max_late_ms,omitempty"` // worst lateness of this second's sends
	Overflow       int64            `json:"overflow,omitempty"`    // latencies above 60 s, recorded at 60 s
	Latency        Latency          `json:"latency"`               // successes
	FailureLatency *Latency         `json:"failure_latency,omitempty"`
	Sources        map[string]int64 `json:"sources,omitempty"` // X-Source of responses: db, cache, stale, queue
	// Heat counts this second's answers (successes and failures; unsent
	// hits are not answers) by latency band: Heat[i] holds those in
	// (HeatBoundsMs[i-1], HeatBoundsMs[i]] ms. Added without a schema bump.
	Heat []int64 `json:"heat,omitempty"`
	// The flow in this second of wall time, read from the op history
	// (Requests and the rest count by intended time): requests that left,
	// successful answers that arrived, and requests in flight (the mean
	// over the second and the peak). Zero in files from before they were
	// added (no schema bump) and when the history missed requests.
	Sent        int64   `json:"sent,omitempty"`
	Achieved    int64   `json:"achieved,omitempty"`
	InFlight    float64 `json:"in_flight,omitempty"`
	MaxInFlight int64   `json:"max_in_flight,omitempty"`
	// Attempts are the requests put on the wire in this second of wall
	// time, retries included: the load the target got (added without a
	// schema bump). A retry storm is Attempts far above Sent.
	Attempts int64 `json:"attempts,omitempty"`
	// BodyBytes are the response body bytes received for this second's
	// requests (added without a schema bump).
	BodyBytes int64 `json:"body_bytes,omitempty"`
}

// PhaseSummary aggregates a stream over one phase.
type PhaseSummary struct {
	Phase        string           `json:"phase"`
	Requests     int64            `json:"requests"`
	Successes    int64            `json:"successes"`
	SuccessRatio float64          `json:"success_ratio"`
	Throughput   float64          `json:"throughput_rps"` // successful responses per second
	Rate         float64          `json:"rate_rps"`       // requests per second, unsent ones included
	Latency      Latency          `json:"latency"`        // successes
	Codes        map[string]int64 `json:"codes,omitempty"`
	Sources      map[string]int64 `json:"sources,omitempty"`
	LateSends    int64            `json:"late_sends,omitempty"`
	// Added without a schema bump: absent in older files, read as zero.
	Unsent         int64    `json:"unsent,omitempty"`      // due but never sent, counted in Requests as failures
	Overflow       int64    `json:"overflow,omitempty"`    // latencies above 60 s, recorded at 60 s
	MaxLateMs      float64  `json:"max_late_ms,omitempty"` // worst lateness of a send
	FailureLatency *Latency `json:"failure_latency,omitempty"`
	BodyBytes      int64    `json:"body_bytes,omitempty"` // response body bytes received
	// Attempts are the requests put on the wire during the phase (by wall
	// time), retries included, and Amplification their ratio to the
	// requests sent then (1: no retries; 4: every request tried four
	// times). Zero when the history missed requests.
	Attempts      int64   `json:"attempts,omitempty"`
	Amplification float64 `json:"amplification,omitempty"`
	// Spectrum is the successes' latency percentile distribution, from 0 %
	// to 100 % (the maximum) in steps that halve the distance to 100 %:
	// the tail in one picture (plots' spectrum charts).
	Spectrum []Quantile `json:"spectrum,omitempty"`
}

// HeatBoundsMs are the upper bounds of Bucket.Heat's latency bands, in
// milliseconds: 1, 2 and 5 times each power of ten from 0.1 ms, up to the
// load engine's 60 s ceiling (harness/analyse checks that the engine's
// bands are these).
var HeatBoundsMs = []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000}

// Quantile is one point of a latency spectrum: Percent per cent of the
// requests completed within Ms milliseconds.
type Quantile struct {
	Percent float64 `json:"p"`
	Ms      float64 `json:"ms"`
}

// Series is one scraped metric over time, e.g. "cache_hit_ratio" or
// "queue_depth". Points are at T offsets in seconds.
type Series struct {
	Name   string  `json:"name"`
	Unit   string  `json:"unit,omitempty"` // "ratio", "seconds", "count", "per_second", "bytes"
	Help   string  `json:"help,omitempty"`
	Points []Point `json:"points"`
}

// Point is one sample of a series.
type Point struct {
	T float64 `json:"t"`
	V float64 `json:"v"`
}

// History is the outcome of the Jepsen-style checks over every operation.
// The checker decides from the values written and read and their real-time
// order; versions and sources the target sent are hints, cross-checked.
type History struct {
	Operations         int64   `json:"operations"`
	Writes             int64   `json:"writes"`
	AckedWrites        int64   `json:"acked_writes"`
	Reads              int64   `json:"reads"`
	OKReads            int64   `json:"ok_reads"` // reads that returned a value or a 404
	Unknown            int64   `json:"unknown"`  // outcome unknown (Jepsen's info: timeouts, other 5xx): neither acked nor failed
	Keys               int     `json:"keys"`
	LostWrites         int64   `json:"lost_writes"`
	StaleReads         int64   `json:"stale_reads"`
	StaleRatio         float64 `json:"stale_read_ratio"`
	ImpossibleReads    int64   `json:"impossible_reads"`    // values never written, written only by refused writes, or by writes invoked after the read
	VersionRegressions int64   `json:"version_regressions"` // X-Version hints going backwards in real time
	UnconvergedKeys    int64   `json:"unconverged_keys"`    // keys still behind their acked writes while the store was still changing, or unreadable
	// Incomplete says why the op history is incomplete (empty: complete).
	// The verdicts then cover only the ops recorded, and the history checks fail.
	Incomplete   string        `json:"incomplete,omitempty"`
	ConvergenceS float64       `json:"convergence_s"` // from the last heal until the store held every acked write; -1: never converged; 0: nothing to converge
	Converged    bool          `json:"converged"`
	FinalReader  string        `json:"final_reader,omitempty"` // how the final state was read: "api" (the target's own) ...
	CrossCheck   string        `json:"cross_check,omitempty"`  // ... and what a second reader (Postgres, for the sample backend) said
	HistoryFile  string        `json:"history_file,omitempty"` // the op history as JSON lines, beside results.json
	Examples     []OpExample   `json:"examples,omitempty"`     // a few offending operations, with their evidence
	Timelines    []KeyTimeline `json:"timelines,omitempty"`    // the ops around a few anomalies, per key
	// Increments is the check of the counter streams (POST …/increment),
	// when the run had any; added without a schema bump.
	Increments *Increments `json:"increments,omitempty"`
}

// Increments is the outcome of the counter check: every acknowledged
// increment must add exactly one to its key's counter, whose final value
// is read from the store itself.
type Increments struct {
	Sent        int64   `json:"sent"`
	Acked       int64   `json:"acked"`
	Unknown     int64   `json:"unknown"` // outcome unknown: may or may not have counted
	Keys        int     `json:"keys"`
	Final       int64   `json:"final"`                  // the counters' final values, summed over the keys incremented
	Lost        int64   `json:"lost"`                   // acknowledged increments missing from the final counters (lost updates)
	LostRatio   float64 `json:"lost_ratio"`             // Lost / Acked
	KeysLosing  int     `json:"keys_losing"`            // keys whose counter fell short
	Extra       int64   `json:"extra"`                  // counted beyond acknowledged + unknown: applied twice, or refused yet applied
	FinalReader string  `json:"final_reader,omitempty"` // where the final counters were read
	// Unread says why the final counters could not be read; then only
	// Sent is filled in, and there is no verdict.
	Unread string `json:"unread,omitempty"`
}

// OpExample is one anomaly with its evidence: the op (a read, a write, or
// the final-state read), the write whose value it returned, and the op
// that proves it stale, lost or regressed, each with its times.
type OpExample struct {
	Kind        string  `json:"kind"` // stale_read, impossible_read, lost_write, version_regression, unconverged
	Stream      string  `json:"stream"`
	Key         string  `json:"key"`
	Value       string  `json:"value,omitempty"`  // what the op wrote or returned: "w1:42", "seed:k3", "nil", "foreign"
	Version     int64   `json:"version"`          // the op's X-Version hint
	Expected    int64   `json:"expected_version"` // the witness's X-Version hint
	Source      string  `json:"source,omitempty"`
	InvokeS     float64 `json:"invoke_s"`
	CompleteS   float64 `json:"complete_s"`
	Reason      string  `json:"reason,omitempty"`   // impossible reads: never written, written only by a refused write, ...
	Returned    *OpRef  `json:"returned,omitempty"` // the write whose value the op returned
	Witness     *OpRef  `json:"witness,omitempty"`  // the op that proves the anomaly
	Explanation string  `json:"explanation"`
}

// OpRef is one operation cited as evidence. Seed writes happened before the
// load (times -1); the final-state read after it.
type OpRef struct {
	Op        string  `json:"op"` // "write", "read", "seed write", "final read"
	Stream    string  `json:"stream,omitempty"`
	Value     string  `json:"value"`
	Outcome   string  `json:"outcome,omitempty"` // ok, fail, info
	Code      int     `json:"code,omitempty"`
	Version   int64   `json:"version,omitempty"`
	Source    string  `json:"source,omitempty"`
	InvokeS   float64 `json:"invoke_s"`
	CompleteS float64 `json:"complete_s"`
}

// KeyTimeline is the ops on one key around an anomaly, one lane per client
// (Jepsen's timeline): an op's bar runs from invocation to completion.
type KeyTimeline struct {
	Key   string       `json:"key"`
	Kind  string       `json:"kind"` // the anomaly it shows
	FromS float64      `json:"from_s"`
	ToS   float64      `json:"to_s"`
	Ops   []TimelineOp `json:"ops"`
}

// TimelineOp is one bar of a KeyTimeline.
type TimelineOp struct {
	Lane      int     `json:"lane"`
	Write     bool    `json:"write"`
	Value     string  `json:"value"`
	Outcome   string  `json:"outcome"` // ok, fail, info
	InvokeS   float64 `json:"invoke_s"`
	CompleteS float64 `json:"complete_s"`
	Anomaly   string  `json:"anomaly,omitempty"` // this op is the anomaly (its kind), or "returned", "witness"
}

// CheckResult is one check of the scenario: a threshold, or a comparison
// with another variant or phase (Versus).
type CheckResult struct {
	Expect   string        `json:"expect"` // as written: "p99 < 50ms"
	Variant  string        `json:"variant"`
	Stream   string        `json:"stream,omitempty"` // empty: all streams together
	Phase    string        `json:"phase"`
	Metric   string        `json:"metric"`
	Observed float64       `json:"observed"`
	Op       string        `json:"op,omitempty"`     // <, <=, >, >=, ==, !=
	Required float64       `json:"required"`         // the threshold, or Versus.Factor × Versus.Observed + Versus.Offset
	Versus   *CheckOperand `json:"versus,omitempty"` // the other side of a comparison
	Pass     bool          `json:"pass"`
	Message  string        `json:"message,omitempty"` // why it failed or could not be evaluated
	Where    string        `json:"where,omitempty"`   // file:line of the check in the scenario
}

// CheckOperand is the other side of a comparison: what was observed there,
// and how it makes the required value.
type CheckOperand struct {
	Variant  string  `json:"variant"`
	Phase    string  `json:"phase"`
	Metric   string  `json:"metric"`
	Observed float64 `json:"observed"`
	Factor   float64 `json:"factor"`
	Offset   float64 `json:"offset,omitempty"`
}

// Failed reports whether any check of any variant failed.
func (r *Results) Failed() bool {
	for _, v := range r.Variants {
		for _, c := range v.Checks {
			if !c.Pass {
				return true
			}
		}
	}
	return false
}

// Variant returns the named variant or nil.
func (r *Results) Variant(name string) *Variant {
	for i := range r.Variants {
		if r.Variants[i].Name == name {
			return &r.Variants[i]
		}
	}
	return nil
}

// Write stores r as dir/results.json atomically (temp file + rename).
func Write(dir string, r *Results) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("results: encode: %w", err)
	}
	return WriteFileAtomic(filepath.Join(dir, "results.json"), append(data, '\n'))
}

// Read loads results.json from a file or a run directory and refuses
// incompatible schema versions.
func Read(path string) (*Results, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "results.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	return Decode(path, data)
}

// Decode parses results.json bytes; name is used in errors.
func Decode(name string, data []byte) (*Results, error) {
	var probe struct {
		SchemaVersion *int `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("results: %s: not a results.json: %w", name, err)
	}
	if probe.SchemaVersion == nil {
		return nil, fmt.Errorf("results: %s: no schema_version: not a loadlab results.json", name)
	}
	if *probe.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("results: %s: schema version %d, this loadlab reads version %d", name, *probe.SchemaVersion, SchemaVersion)
	}
	var r Results
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("results: %s: %w", name, err)
	}
	return &r, nil
}

// WriteFileAtomic writes data to a temp file beside path, syncs it and
// renames it over path, so readers never see half a file.
func WriteFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("results: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("results: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}
