package scenarios

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults of the optional fields.
const (
	DefaultSettle      = 5 * time.Second
	DefaultSeed        = 1
	DefaultTimeout     = 2 * time.Second
	DefaultPort        = 8080
	DefaultKeyCount    = 1000
	DefaultBodySize    = 64
	DefaultZipfS       = 1.1
	DefaultHotFraction = 0.9
	DefaultHotKeys     = 1
	DefaultClient      = "proxy"
	DefaultToxicStream = "downstream"
	DefaultVariant     = "default"
)

// Sanity limits: values beyond them are typos, not plans.
const (
	maxFileSize   = 1 << 20
	maxKeyCount   = 10_000_000
	maxBodySize   = 1 << 20
	maxWorkers    = 100_000
	maxStreams    = 32
	maxFaults     = 256
	maxVariants   = 32
	maxChecks     = 1000
	minRunTime    = time.Second
	minFaultTime  = 100 * time.Millisecond
	maxTimeout    = 10 * time.Minute
	maxZipfS      = 10.0
	maxEnvEntries = 256
)

// The keys each mapping of a scenario file may hold.
var (
	topLevelKeys  = []string{"name", "description", "teaches", "duration", "settle", "seed", "timeout", "environment", "target", "load", "faults", "variants", "checks"}
	targetKeys    = []string{"image", "port", "env"}
	streamKeys    = []string{"name", "request", "rate", "stages", "arrival", "keys", "body_size", "max_workers", "retry", "conditional", "auth"}
	retryKeys     = []string{"max", "on", "backoff", "timeout", "budget"}
	stageKeys     = []string{"duration", "target"}
	keysKeys      = []string{"count", "distribution", "zipf_s", "hot_fraction", "hot_keys"}
	faultKeys     = []string{"name", "link", "at", "for", "toxic", "kill", "revoke"}
	authKeys      = []string{"clients"}
	toxicBaseKeys = []string{"type", "stream", "toxicity"}
	variantKeys   = []string{"name", "backend", "client", "retry"}
	checkKeys     = []string{"variant", "stream", "phase", "expect"}
)

// requiredHint names the required keys of each kind of list entry.
var requiredHint = map[string][]string{
	"stream":  {"name", "request", "rate"},
	"stage":   {"duration", "target"},
	"fault":   {"name", "link", "at", "for", "toxic"},
	"variant": {"name"},
	"check":   {"expect"},
}

var (
	distributions = []string{"uniform", "zipf", "hot"}
	arrivals      = []string{ArrivalEven, ArrivalPoisson}
	clients       = []string{"proxy", "direct"}
	environments  = []string{EnvironmentReuse, EnvironmentFresh}
	toxicStreams  = []string{"upstream", "downstream"}
)

// namePattern is the form of every name in a file: scenario, streams,
// faults and variants. Names end up in paths, metric labels and phases.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

const nameHint = "lower case letters, digits and -, at most 63"

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// scenario decodes the top-level mapping.
func (d *decoder) scenario(root *yaml.Node) *Scenario {
	f, _ := d.mapping(root, "", topLevelKeys)
	s := &Scenario{Settle: DefaultSettle, Seed: DefaultSeed, Timeout: DefaultTimeout, Target: Target{Port: DefaultPort}}

	if f.require("name", nameHint) {
		s.Name, _ = d.name(f.get("name"), "name")
	}
	if f.require("description", "a sentence on what the scenario does") {
		s.Description, _ = f.str("description")
	}
	s.Teaches, _ = f.str("teaches")
	durationOK := false
	if f.require("duration", "e.g. 30s") {
		s.Duration, durationOK = f.duration("duration", minRunTime, maxDuration)
	}
	if v, ok := f.duration("settle", 0, maxDuration); ok {
		s.Settle = v
	}
	if v, ok := f.integer("seed", -1<<63, 1<<63-1); ok {
		s.Seed = v
	}
	if v, ok := f.duration("timeout", time.Millisecond, maxTimeout); ok {
		s.Timeout = v
	}
	if n := f.get("environment"); n != nil {
		if v, ok := d.str(n, "environment"); ok && d.oneOf(n, "environment", v, environments) {
			s.FreshEnv = v == EnvironmentFresh
		}
	}
	if n := f.get("target"); n != nil {
		d.target(n, "target", &s.Target)
	}

	var names refs
	if f.require("load", "a list of streams") {
		s.Load = d.streams(f, &names, s.Duration, durationOK)
	}
	s.Faults = d.faults(f, &names, s.Duration, durationOK)
	s.Variants = d.variants(f, &names, s.Target.Image == "")
	if len(names.variants) == 0 {
		s.Variants = []Variant{{Name: DefaultVariant, Backend: map[string]string{}, Client: DefaultClient}}
		names.variants = []string{DefaultVariant}
	}
	s.Checks = d.checks(f, &names)
	return s
}

// refs holds every name a file defines, including those of entries that
// had other errors, so that a check naming them is not reported too.
type refs struct {
	streams, faults, variants []string
}

// name reads one of the file's names and checks its form.
func (d *decoder) name(n *yaml.Node, path string) (string, bool) {
	v, ok := d.str(n, path)
	if !ok {
		return "", false
	}
	if !namePattern.MatchString(v) {
		d.errorAt(n, path, "%q is not a valid name (%s)", v, nameHint)
		return v, false
	}
	return v, true
}

// uniqueName reads the name of a list entry and reports duplicates.
func (d *decoder) uniqueName(f *fields, what string, seen *[]string, lines map[string]int) string {
	if !f.require("name", nameHint) {
		return ""
	}
	n := f.get("name")
	v, _ := d.name(n, f.field("name"))
	if v == "" {
		return ""
	}
	if first, dup := lines[v]; dup {
		d.errorAt(n, f.field("name"), "duplicate %s name %q (first at line %d)", what, v, first)
		return v
	}
	lines[v] = n.Line
	*seen = append(*seen, v)
	return v
}

func (d *decoder) target(n *yaml.Node, path string, t *Target) {
	f, ok := d.mapping(n, path, targetKeys)
	if !ok {
		return
	}
	t.Image, _ = f.str("image")
	if v, ok := f.integer("port", 1, 65535); ok {
		t.Port = int(v)
	}
	envNode := f.get("env")
	if envNode == nil {
		return
	}
	env, ok := d.mapping(envNode, f.field("env"), nil)
	if !ok {
		return
	}
	if len(env.order) > maxEnvEntries {
		d.errorAt(envNode, f.field("env"), "has %d entries (at most %d)", len(env.order), maxEnvEntries)
		return
	}
	t.Env = map[string]string{}
	for _, k := range env.order {
		field := env.field(k)
		if !envName.MatchString(k) {
			d.errorAt(env.keys[k], field, "%q is not an environment variable name", k)
			continue
		}
		if d.scalar(env.vals[k], field) {
			t.Env[k] = env.vals[k].Value
		}
	}
}

// streams decodes load: the list of load streams.
func (d *decoder) streams(f *fields, names *refs, duration time.Duration, durationOK bool) []Stream {
	items, ok := f.list("load")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorAt(f.get("load"), "load", "needs at least one stream")
		return nil
	}
	if len(items) > maxStreams {
		d.errorAt(f.get("load"), "load", "has %d streams (at most %d)", len(items), maxStreams)
		return nil
	}
	lines := map[string]int{}
	var out []Stream
	for i, n := range items {
		path := indexPath("load", i)
		sf, ok := d.entry(n, path, "stream", streamKeys)
		if !ok {
			continue
		}
		st, ok := d.stream(sf, names, lines)
		if !ok {
			continue
		}
		if durationOK {
			var total time.Duration
			for _, stage := range st.Stages {
				total += stage.Duration
			}
			if total > duration {
				d.errorAt(sf.get("stages"), sf.field("stages"), "stages last %s, longer than the run's duration %s", total, duration)
				continue
			}
		}
		out = append(out, st)
	}
	return out
}

func (d *decoder) stream(f *fields, names *refs, lines map[string]int) (Stream, bool) {
	errs := d.count()
	st := Stream{Line: f.node.Line, Arrival: ArrivalEven, Keys: Keys{
		Count: DefaultKeyCount, Distribution: "uniform", ZipfS: DefaultZipfS,
		HotFraction: DefaultHotFraction, HotKeys: DefaultHotKeys,
	}}
	st.Name = d.uniqueName(f, "stream", &names.streams, lines)
	if f.require("request", `e.g. "GET /items/{key}"`) {
		if v, ok := f.str("request"); ok {
			method, path, err := parseRequest(v)
			if err != nil {
				d.errorAt(f.get("request"), f.field("request"), "%v", err)
			}
			st.Method, st.Path = method, path
		}
	}
	if f.require("rate", "e.g. 100/s; the starting rate when stages are given") {
		st.Rate, _ = d.rate(f.get("rate"), f.field("rate"))
	}
	if stages, ok := f.list("stages"); ok {
		for i, n := range stages {
			path := indexPath(f.field("stages"), i)
			sf, ok := d.entry(n, path, "stage", stageKeys)
			if !ok {
				continue
			}
			var stage Stage
			if sf.require("duration", "e.g. 10s") {
				stage.Duration, _ = sf.duration("duration", minFaultTime, maxDuration)
			}
			if sf.require("target", "the rate at the end of the stage, e.g. 800/s") {
				stage.Target, _ = d.rate(sf.get("target"), sf.field("target"))
			}
			st.Stages = append(st.Stages, stage)
		}
	}
	if n := f.get("arrival"); n != nil {
		if v, ok := d.str(n, f.field("arrival")); ok && d.oneOf(n, f.field("arrival"), v, arrivals) {
			st.Arrival = v
		}
	}
	if n := f.get("keys"); n != nil {
		d.keys(n, f.field("keys"), &st.Keys)
	}
	if st.Method == "PUT" {
		st.BodySize = DefaultBodySize
	}
	if v, ok := f.integer("body_size", 0, maxBodySize); ok {
		if st.Method != "PUT" {
			d.errorAt(f.get("body_size"), f.field("body_size"), "applies only to PUT streams")
		}
		st.BodySize = int(v)
	}
	if v, ok := f.integer("max_workers", 0, maxWorkers); ok {
		st.MaxWorkers = int(v)
	}
	if n := f.get("retry"); n != nil {
		st.Retry = d.retry(n, f.field("retry"))
	}
	if n := f.get("conditional"); n != nil {
		if v, ok := d.boolean(n, f.field("conditional")); ok {
			if v && st.Method != "GET" {
				d.errorAt(n, f.field("conditional"), "applies only to GET streams")
			}
			st.Conditional = v
		}
	}
	if n := f.get("auth"); n != nil {
		if af, ok := d.mapping(n, f.field("auth"), authKeys); ok && af.require("clients", "how many clients, each with a token of its own, e.g. 20") {
			if v, ok := af.integer("clients", 1, maxAuthClients); ok {
				st.Auth = &Auth{Clients: int(v)}
			}
		}
	}
	return st, d.count() == errs
}

// maxAuthClients bounds a stream's clients, and with them its logins.
const maxAuthClients = 10000

// maxRetries bounds a retry policy: every load loop is bounded.
const maxRetries = 100

// retry reads a stream's retry policy: {max: 5, on: [412, 503], backoff: 10ms}.
func (d *decoder) retry(n *yaml.Node, path string) *Retry {
	f, ok := d.mapping(n, path, retryKeys)
	if !ok {
		return nil
	}
	r := &Retry{}
	if f.require("max", "how many times a request is sent again at most, e.g. 5 (0: never, the policy only bounds each attempt with its timeout)") {
		if v, ok := f.integer("max", 0, maxRetries); ok {
			r.Max = int(v)
		}
	}
	// With max 0 nothing is retried: on may go, the timeout is the point.
	if (r.Max > 0 || f.has("on")) && f.require("on", "what is retried: statuses, timeout, error; e.g. [503, timeout]") {
		codes, _ := f.list("on")
		if len(codes) == 0 {
			d.errorAt(f.get("on"), f.field("on"), "names nothing to retry")
		}
		for i, c := range codes {
			path := indexPath(f.field("on"), i)
			switch {
			case c.Kind == yaml.ScalarNode && c.Value == "timeout":
				r.On = append(r.On, RetryOnTimeout)
			case c.Kind == yaml.ScalarNode && c.Value == "error":
				r.On = append(r.On, RetryOnError)
			default:
				if v, ok := d.integer(c, path, 400, 599); ok {
					r.On = append(r.On, int(v))
				}
			}
		}
	}
	if f.has("backoff") {
		r.Backoff, _ = f.duration("backoff", 0, maxDuration)
	}
	if f.has("timeout") {
		r.Timeout, _ = f.duration("timeout", time.Millisecond, maxTimeout)
	}
	if v, ok := f.number("budget"); ok {
		if v <= 0 || v > 1 {
			d.errorAt(f.get("budget"), f.field("budget"), "is the share of requests that may be retried, above 0 and at most 1, got %s", f.get("budget").Value)
		} else {
			r.Budget = v
		}
	}
	return r
}

// variantRetry reads a variant's retry policies by stream name:
// {writes: {max: 3, on: [503, timeout]}}.
func (d *decoder) variantRetry(n *yaml.Node, path string, streams []string) map[string]*Retry {
	f, ok := d.mapping(n, path, nil)
	if !ok {
		return nil
	}
	out := map[string]*Retry{}
	for _, k := range f.order {
		if !slices.Contains(streams, k) {
			d.errorAt(f.keys[k], f.field(k), "no stream %q in load (streams: %s)", k, strings.Join(streams, ", "))
			continue
		}
		if r := d.retry(f.vals[k], f.field(k)); r != nil {
			out[k] = r
		}
	}
	return out
}

// rate reads a rate: "400/s", "30/m", "2/h" or a plain number per second.
func (d *decoder) rate(n *yaml.Node, path string) (Rate, bool) {
	if !d.scalar(n, path) {
		return Rate{}, false
	}
	if t := n.ShortTag(); t != "!!int" && t != "!!float" && t != "!!str" {
		d.errorAt(n, path, "expected a rate (%s), got %s", rateHint, describe(n))
		return Rate{}, false
	}
	r, err := ParseRate(n.Value)
	if err != nil {
		d.errorAt(n, path, "%v", err)
		return Rate{}, false
	}
	return r, true
}

func (d *decoder) keys(n *yaml.Node, path string, k *Keys) {
	f, ok := d.mapping(n, path, keysKeys)
	if !ok {
		return
	}
	if v, ok := f.integer("count", 1, maxKeyCount); ok {
		k.Count = int(v)
	}
	if n := f.get("distribution"); n != nil {
		if v, ok := d.str(n, f.field("distribution")); ok {
			if d.oneOf(n, f.field("distribution"), v, distributions) {
				k.Distribution = v
			}
		}
	}
	onlyFor := func(key, dist string) bool {
		if f.has(key) && k.Distribution != dist {
			d.errorAt(f.keys[key], f.field(key), "applies only to distribution: %s", dist)
			return false
		}
		return f.has(key)
	}
	if onlyFor("zipf_s", "zipf") {
		if v, ok := f.number("zipf_s"); ok {
			if v <= 1 || v > maxZipfS {
				d.errorAt(f.get("zipf_s"), f.field("zipf_s"), "must be above 1 and at most %g, got %s", maxZipfS, f.get("zipf_s").Value)
			} else {
				k.ZipfS = v
			}
		}
	}
	if onlyFor("hot_fraction", "hot") {
		if v, ok := f.number("hot_fraction"); ok {
			if v <= 0 || v > 1 {
				d.errorAt(f.get("hot_fraction"), f.field("hot_fraction"), "must be above 0 and at most 1, got %s", f.get("hot_fraction").Value)
			} else {
				k.HotFraction = v
			}
		}
	}
	if onlyFor("hot_keys", "hot") {
		if v, ok := f.integer("hot_keys", 1, maxKeyCount); ok {
			if v > int64(k.Count) {
				d.errorAt(f.get("hot_keys"), f.field("hot_keys"), "%d hot keys, but only %d keys", v, k.Count)
			} else {
				k.HotKeys = int(v)
			}
		}
	}
}

// oneOf reports whether v is one of allowed, and if not says so.
func (d *decoder) oneOf(n *yaml.Node, path, v string, allowed []string) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	msg := fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))
	if s := suggest(v, allowed); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	d.errorAt(n, path, "%s", msg)
	return false
}

// faults decodes the fault schedule and checks that it fits the run and
// that faults on one link do not overlap (a link holds one toxic at a time
// in this lab, so the report can say which fault caused what).
func (d *decoder) faults(f *fields, names *refs, duration time.Duration, durationOK bool) []Fault {
	items, ok := f.list("faults")
	if !ok {
		return nil
	}
	if len(items) > maxFaults {
		d.errorAt(f.get("faults"), "faults", "has %d faults (at most %d)", len(items), maxFaults)
		return nil
	}
	lines := map[string]int{}
	var out []Fault
	var nodes []*fields
	for i, n := range items {
		ff, ok := d.entry(n, indexPath("faults", i), "fault", faultKeys)
		if !ok {
			continue
		}
		ft, ok := d.fault(ff, names, lines)
		if !ok {
			continue
		}
		if durationOK && ft.At+ft.For > duration {
			d.errorAt(ff.get("for"), ff.field("for"), "the fault ends at %s, after the run's duration %s", ft.At+ft.For, duration)
			continue
		}
		out = append(out, ft)
		nodes = append(nodes, ff)
	}
	for i, a := range out {
		for _, b := range out[:i] {
			if a.Where() == b.Where() && a.At < b.At+b.For && b.At < a.At+a.For {
				d.errorAt(nodes[i].get("at"), nodes[i].field("at"), "overlaps fault %q on the same link (%s from %s to %s)",
					b.Name, b.Where(), b.At, b.At+b.For)
				break
			}
		}
	}
	return out
}

func (d *decoder) fault(f *fields, names *refs, lines map[string]int) (Fault, bool) {
	errs := d.count()
	ft := Fault{Line: f.node.Line}
	ft.Name = d.uniqueName(f, "fault", &names.faults, lines)
	kill, revoke := f.has("kill"), f.has("revoke")
	switch {
	case kill && revoke:
		d.errorAt(f.keys["revoke"], f.field("revoke"), "a fault either kills a container or revokes a token, not both")
	case revoke:
		ft.Revoke = d.linkless(f, "revoke", []string{RevokeToken}, "a revoke fault logs a client out")
	case kill:
		ft.Kill = d.linkless(f, "kill", KillTargets, "a kill fault crashes a container")
	default:
		if f.require("link", strings.Join(Links, ", ")+", or kill: "+strings.Join(KillTargets, " | ")+" to crash a container, or revoke: token to log a client out") {
			if v, ok := f.str("link"); ok && d.oneOf(f.get("link"), f.field("link"), v, Links) {
				ft.Link = v
			}
		}
	}
	if f.require("at", "when the fault starts, e.g. 10s") {
		ft.At, _ = f.duration("at", 0, maxDuration)
	}
	if f.require("for", "how long the fault lasts (for a kill: how long the container stays down; for a revoke: how long the token is tried), e.g. 10s") {
		ft.For, _ = f.duration("for", minFaultTime, maxDuration)
	}
	if !kill && !revoke && f.require("toxic", "e.g. {type: latency, latency: 100}") {
		ft.Toxic = d.toxic(f.get("toxic"), f.field("toxic"))
	}
	return ft, d.count() == errs
}

// linkless reads the kind of a fault that acts on no link (kill, revoke):
// the value of key, one of allowed ("" when it is not), and an error at a
// link or toxic, which such a fault does not take (what says what it does).
func (d *decoder) linkless(f *fields, key string, allowed []string, what string) string {
	var kind string
	if v, ok := f.str(key); ok && d.oneOf(f.get(key), f.field(key), v, allowed) {
		kind = v
	}
	for _, k := range []string{"link", "toxic"} {
		if f.has(k) {
			d.errorAt(f.keys[k], f.field(k), "%s and takes no %s", what, k)
		}
	}
	return kind
}

func (d *decoder) toxic(n *yaml.Node, path string) Toxic {
	f, ok := d.mapping(n, path, nil)
	if !ok {
		return Toxic{}
	}
	t := Toxic{Stream: DefaultToxicStream, Toxicity: 1}
	if !f.require("type", strings.Join(toxicKindNames(), ", ")) {
		return t
	}
	v, ok := f.str("type")
	if !ok || !d.oneOf(f.get("type"), f.field("type"), v, toxicKindNames()) {
		return t
	}
	kind, _ := LookupToxic(v)
	t.Type = kind.Name
	for _, k := range f.order {
		switch {
		case kind.DisablesProxy && k != "type":
			d.errorAt(f.keys[k], f.field(k), "unknown key %q: down takes no attributes (it disables the whole proxy)", k)
		case !slices.Contains(toxicBaseKeys, k) && !slices.Contains(kind.AttrNames(), k):
			d.errorAt(f.keys[k], f.field(k), "unknown key %q: %s", k, kind.describeAttrs())
		}
	}
	if kind.DisablesProxy {
		return t
	}
	if n := f.get("stream"); n != nil {
		if v, ok := d.str(n, f.field("stream")); ok && d.oneOf(n, f.field("stream"), v, toxicStreams) {
			t.Stream = v
		}
	}
	if v, ok := f.number("toxicity"); ok {
		if v <= 0 || v > 1 {
			d.errorAt(f.get("toxicity"), f.field("toxicity"), "must be above 0 and at most 1, got %s", f.get("toxicity").Value)
		} else {
			t.Toxicity = v
		}
	}
	t.Attributes = map[string]int64{}
	errs := d.count()
	for _, a := range kind.Attrs {
		n := f.get(a.Name)
		if n == nil {
			if a.Required {
				f.require(a.Name, fmt.Sprintf("%s in %s", a.Doc, a.Unit))
			}
			t.Attributes[a.Name] = a.Default
			continue
		}
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
			d.errorAt(n, f.field(a.Name), "expected a whole number of %s, got %s", a.Unit, describe(n))
			continue
		}
		if v, ok := d.integer(n, f.field(a.Name), a.Min, a.Max); ok {
			t.Attributes[a.Name] = v
		}
	}
	if d.count() != errs {
		return t
	}
	attrs := t.Attributes
	if f.has("jitter") && attrs["jitter"] > attrs["latency"] {
		d.errorAt(f.get("jitter"), f.field("jitter"), "jitter %d ms is more than latency %d ms", attrs["jitter"], attrs["latency"])
	}
	if f.has("size_variation") && attrs["average_size"] > 0 && attrs["size_variation"] >= attrs["average_size"] {
		d.errorAt(f.get("size_variation"), f.field("size_variation"), "must be below average_size (%d)", attrs["average_size"])
	}
	return t
}

func (d *decoder) variants(f *fields, names *refs, sampleBackend bool) []Variant {
	items, ok := f.list("variants")
	if !ok {
		return nil
	}
	if len(items) > maxVariants {
		d.errorAt(f.get("variants"), "variants", "has %d variants (at most %d)", len(items), maxVariants)
		return nil
	}
	lines := map[string]int{}
	var out []Variant
	for i, n := range items {
		vf, ok := d.entry(n, indexPath("variants", i), "variant", variantKeys)
		if !ok {
			continue
		}
		errs := d.count()
		v := Variant{Line: n.Line, Client: DefaultClient, Backend: map[string]string{}}
		v.Name = d.uniqueName(vf, "variant", &names.variants, lines)
		if bn := vf.get("backend"); bn != nil {
			d.backend(bn, vf.field("backend"), sampleBackend, v.Backend)
		}
		if cn := vf.get("client"); cn != nil {
			if c, ok := d.str(cn, vf.field("client")); ok && d.oneOf(cn, vf.field("client"), c, clients) {
				v.Client = c
			}
		}
		if rn := vf.get("retry"); rn != nil {
			v.Retry = d.variantRetry(rn, vf.field("retry"), names.streams)
		}
		if d.count() == errs {
			out = append(out, v)
		}
	}
	return out
}

// backend reads a variant's settings. For the sample backend the keys and
// values are checked against its configuration; a custom image gets its
// settings as they are.
func (d *decoder) backend(n *yaml.Node, path string, sample bool, into map[string]string) {
	f, ok := d.mapping(n, path, nil)
	if !ok {
		return
	}
	for _, k := range f.order {
		field := f.field(k)
		if msg := checkBackendKey(k, sample); msg != "" {
			d.errorAt(f.keys[k], field, "%s", msg)
			continue
		}
		vn := f.vals[k]
		if !d.scalar(vn, field) {
			continue
		}
		if sample {
			if msg := checkBackendValue(k, vn.Value); msg != "" {
				d.errorAt(vn, field, "%s", msg)
				continue
			}
		}
		into[k] = vn.Value
	}
}

func (d *decoder) checks(f *fields, names *refs) []Check {
	items, ok := f.list("checks")
	if !ok {
		return nil
	}
	if len(items) > maxChecks {
		d.errorAt(f.get("checks"), "checks", "has %d checks (at most %d)", len(items), maxChecks)
		return nil
	}
	var out []Check
	for i, n := range items {
		cf, ok := d.entry(n, indexPath("checks", i), "check", checkKeys)
		if !ok {
			continue
		}
		errs := d.count()
		c := Check{Phase: PhaseWhole, File: d.file, Line: n.Line}
		c.Variant = d.reference(cf, "variant", names.variants)
		c.Stream = d.reference(cf, "stream", names.streams)
		if pn := cf.get("phase"); pn != nil {
			if v, ok := d.str(pn, cf.field("phase")); ok {
				part, fault, err := ParsePhase(v)
				switch {
				case err != nil:
					d.errorAt(pn, cf.field("phase"), "%v", err)
				case fault != "" && !slices.Contains(names.faults, fault):
					d.errorAt(pn, cf.field("phase"), "%s", unknownName("fault", fault, names.faults))
				default:
					c.Phase = part
					if fault != "" {
						c.Phase = part + " " + fault
					}
				}
			}
		}
		if cf.require("expect", `e.g. "p99 < 500ms"`) {
			if v, ok := cf.str("expect"); ok {
				c.Expect = v
				e, err := parseExpect(v, names.variants)
				if err == nil {
					err = relate(&c, e, cf.get("phase") != nil, names)
				}
				if err != nil {
					d.errorAt(cf.get("expect"), cf.field("expect"), "%v", err)
				}
			}
		}
		if d.count() == errs {
			out = append(out, c)
		}
	}
	return out
}

// relate completes c from its parsed expectation: a variant or phase named
// in the expectation, and the other side of a relative check with its
// defaults (the same variant, the check's phase). It refuses what cannot
// mean anything: two variants or phases for one side, a comparison of a
// metric with itself, a history metric (whole run) across phases.
func relate(c *Check, e expectation, phaseKey bool, names *refs) error {
	c.Metric, c.Op, c.Value = e.metric.Name, e.op, e.value
	if e.variant != "" {
		if c.Variant != "" && c.Variant != e.variant {
			return fmt.Errorf("names variant %s, but the check's variant is %s", e.variant, c.Variant)
		}
		c.Variant = e.variant
	}
	if e.phase != "" {
		if phaseKey && c.Phase != e.phase {
			return fmt.Errorf("names phase %q, but the check's phase is %q", e.phase, c.Phase)
		}
		c.Phase = e.phase
	}
	if e.versus == nil {
		return knownFault(c.Phase, names)
	}
	v := *e.versus
	if v.Phase == "" {
		v.Phase = c.Phase
	}
	if v.Variant != "" && c.Variant == "" {
		return fmt.Errorf("compares with variant %s: name the variant of the left side too (e.g. \"%s %s ...\")", v.Variant, otherThan(names.variants, v.Variant), c.Metric)
	}
	if v.Variant == c.Variant {
		v.Variant = ""
	}
	vm, _ := ParseMetric(v.Metric)
	switch {
	case v.Variant == "" && v.Phase == c.Phase && v.Metric == c.Metric:
		return fmt.Errorf("compares %s with itself: name another variant or phase on the right", c.Metric)
	case v.Phase != c.Phase && (e.metric.WholeRun() || vm.WholeRun()):
		return fmt.Errorf("history metrics cover the whole run, as does revocation_lag: compare them across variants, not phases")
	}
	for _, ph := range []string{c.Phase, v.Phase} {
		if err := knownFault(ph, names); err != nil {
			return err
		}
	}
	c.Versus, c.Factor = &v, e.factor
	return nil
}

// knownFault checks that a phase's fault exists (the phase key is checked
// where it is read; this covers phases named inside an expectation).
func knownFault(phase string, names *refs) error {
	if _, fault, _ := ParsePhase(phase); fault != "" && !slices.Contains(names.faults, fault) {
		return errors.New(unknownName("fault", fault, names.faults))
	}
	return nil
}

// otherThan returns a name of names other than not, for examples.
func otherThan(names []string, not string) string {
	for _, n := range names {
		if n != not {
			return n
		}
	}
	return "VARIANT"
}

// reference reads a check's variant or stream and checks that it exists.
func (d *decoder) reference(f *fields, key string, defined []string) string {
	n := f.get(key)
	if n == nil {
		return ""
	}
	v, ok := d.str(n, f.field(key))
	if !ok {
		return ""
	}
	if !slices.Contains(defined, v) {
		d.errorAt(n, f.field(key), "%s", unknownName(key, v, defined))
		return ""
	}
	return v
}

func unknownName(what, name string, defined []string) string {
	if len(defined) == 0 {
		return fmt.Sprintf("unknown %s %q (the file defines none)", what, name)
	}
	msg := fmt.Sprintf("unknown %s %q (defined: %s)", what, name, strings.Join(defined, ", "))
	if s := suggest(name, defined); s != "" {
		msg = fmt.Sprintf("unknown %s %q (did you mean %q?)", what, name, s)
	}
	return msg
}
