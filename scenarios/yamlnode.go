package scenarios

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var wholeNumber = regexp.MustCompile(`^[-+]?[0-9_]+$`)

// decoder walks a YAML node tree and collects every problem it meets,
// so that one run of the parser reports them all. Its helpers return
// ok=false after reporting; callers then skip the checks that depend on
// the bad value, which keeps one mistake from cascading into many.
type decoder struct {
	collector
}

func (d *decoder) errorAt(n *yaml.Node, field, format string, args ...any) {
	d.add(n.Line, n.Column, field, format, args...)
}

// fieldPath joins a parent path and a key: "load[0]" + "rate".
func fieldPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string { return fmt.Sprintf("%s[%d]", parent, i) }

// resolve follows aliases (*anchor) to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!bool":
			return "the boolean " + n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		}
		return fmt.Sprintf("the string %q", n.Value)
	}
	return "an unsupported YAML node"
}

// fields is one mapping whose keys were checked against the allowed ones.
type fields struct {
	d     *decoder
	node  *yaml.Node
	path  string
	vals  map[string]*yaml.Node // value by key, aliases resolved
	keys  map[string]*yaml.Node // key node by key, for positions
	order []string              // keys in file order
	// misspelled holds the allowed keys that an unknown key looked like a
	// typo of; "is required" is not reported for them on top of the typo.
	misspelled map[string]bool
	merged     bool // held a merge key, so missing keys are its fault
}

// mapping checks that n is a mapping with only allowed keys, each once.
// A null node (a key with nothing after it) is an empty mapping.
func (d *decoder) mapping(n *yaml.Node, path string, allowed []string) (*fields, bool) {
	f := &fields{d: d, node: n, path: path, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}, misspelled: map[string]bool{}}
	if isNull(n) {
		return f, true
	}
	if n.Kind != yaml.MappingNode {
		d.errorAt(n, path, "expected a mapping (key: value), got %s", describe(n))
		return f, false
	}
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.errorAt(k, path, "keys must be plain names, got %s", describe(k))
			continue
		}
		field := fieldPath(path, k.Value)
		switch {
		case k.Value == "<<" && k.ShortTag() == "!!merge":
			d.errorAt(k, field, "merge keys (<<) are not supported; write the fields out")
			f.merged = true
		case first[k.Value] > 0:
			d.errorAt(k, field, "duplicate key %q (first at line %d)", k.Value, first[k.Value])
		case allowed != nil && !slices.Contains(allowed, k.Value):
			d.errorAt(k, field, "%s", unknownKey(k.Value, allowed))
			if s := suggest(k.Value, allowed); s != "" {
				f.misspelled[s] = true
			}
		default:
			first[k.Value] = k.Line
			f.vals[k.Value] = v
			f.keys[k.Value] = k
			f.order = append(f.order, k.Value)
		}
	}
	return f, true
}

// entry checks one entry of a list (a stream, a fault, ...): a mapping,
// and not an empty "-".
func (d *decoder) entry(n *yaml.Node, path, what string, allowed []string) (*fields, bool) {
	if isNull(n) {
		d.errorAt(n, path, "is empty; a %s needs %s", what, strings.Join(requiredHint[what], ", "))
		return nil, false
	}
	return d.mapping(n, path, allowed)
}

// unknownKey explains an unknown key, with a suggestion when one is close.
func unknownKey(key string, allowed []string) string {
	if s := suggest(key, allowed); s != "" {
		return fmt.Sprintf("unknown key %q (did you mean %q?)", key, s)
	}
	return fmt.Sprintf("unknown key %q (allowed: %s)", key, strings.Join(allowed, ", "))
}

// suggest returns the allowed word closest to s, if it is close enough to
// be a typo of it.
func suggest(s string, allowed []string) string {
	best, bestDist := "", len(s)/3+1
	for _, a := range allowed {
		if d := editDistance(s, a); d <= bestDist && (best == "" || d < editDistance(s, best)) {
			best, bestDist = a, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt32
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (f *fields) get(key string) *yaml.Node { return f.vals[key] }

func (f *fields) has(key string) bool { return f.vals[key] != nil }

func (f *fields) field(key string) string { return fieldPath(f.path, key) }

// require reports a missing key at the mapping's position.
func (f *fields) require(key, hint string) bool {
	if f.has(key) {
		return true
	}
	if f.misspelled[key] || f.merged {
		return false
	}
	msg := "is required"
	if hint != "" {
		msg += " (" + hint + ")"
	}
	f.d.errorAt(f.node, f.field(key), "%s", msg)
	return false
}

func (f *fields) str(key string) (string, bool) {
	n := f.get(key)
	if n == nil {
		return "", false
	}
	return f.d.str(n, f.field(key))
}

func (f *fields) integer(key string, lo, hi int64) (int64, bool) {
	n := f.get(key)
	if n == nil {
		return 0, false
	}
	return f.d.integer(n, f.field(key), lo, hi)
}

func (f *fields) number(key string) (float64, bool) {
	n := f.get(key)
	if n == nil {
		return 0, false
	}
	return f.d.number(n, f.field(key))
}

func (f *fields) duration(key string, lo, hi time.Duration) (time.Duration, bool) {
	n := f.get(key)
	if n == nil {
		return 0, false
	}
	return f.d.duration(n, f.field(key), lo, hi)
}

func (f *fields) list(key string) ([]*yaml.Node, bool) {
	n := f.get(key)
	if n == nil {
		return nil, false
	}
	return f.d.list(n, f.field(key))
}

// scalar checks that n is a non-empty scalar.
func (d *decoder) scalar(n *yaml.Node, path string) bool {
	if n.Kind != yaml.ScalarNode {
		d.errorAt(n, path, "expected a single value, got %s", describe(n))
		return false
	}
	if isNull(n) {
		d.errorAt(n, path, "is empty")
		return false
	}
	return true
}

// boolean reads true or false.
func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	if !d.scalar(n, path) {
		return false, false
	}
	if n.ShortTag() != "!!bool" {
		d.errorAt(n, path, "expected true or false, got %s", describe(n))
		return false, false
	}
	return n.Value == "true", true
}

// str reads a string. Numbers are taken as written (a name may be "42");
// true/false is refused because YAML's reading of it surprises people.
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	if !d.scalar(n, path) {
		return "", false
	}
	if n.ShortTag() == "!!bool" {
		d.errorAt(n, path, "expected a string, got %s (quote it)", describe(n))
		return "", false
	}
	if strings.TrimSpace(n.Value) == "" {
		d.errorAt(n, path, "is empty")
		return "", false
	}
	return n.Value, true
}

func (d *decoder) integer(n *yaml.Node, path string, lo, hi int64) (int64, bool) {
	if !d.scalar(n, path) {
		return 0, false
	}
	switch n.ShortTag() {
	case "!!int":
	case "!!float":
		if wholeNumber.MatchString(n.Value) { // too long for an int, so YAML made it a float
			d.errorAt(n, path, "%s is too large (at most %d)", n.Value, hi)
		} else {
			d.errorAt(n, path, "%s is not a whole number", n.Value)
		}
		return 0, false
	default:
		d.errorAt(n, path, "expected a whole number, got %s", describe(n))
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		d.errorAt(n, path, "%s is too large (at most %d)", n.Value, hi)
		return 0, false
	}
	return v, d.inRange(n, path, v, lo, hi)
}

func (d *decoder) inRange(n *yaml.Node, path string, v, lo, hi int64) bool {
	switch {
	case v < lo && lo == 0:
		d.errorAt(n, path, "must not be negative, got %d", v)
	case v < lo:
		d.errorAt(n, path, "must be at least %d, got %d", lo, v)
	case v > hi:
		d.errorAt(n, path, "%d is too large (at most %d)", v, hi)
	default:
		return true
	}
	return false
}

// number reads a finite float; ranges are the caller's, as they differ in
// whether their ends are open.
func (d *decoder) number(n *yaml.Node, path string) (float64, bool) {
	if !d.scalar(n, path) {
		return 0, false
	}
	if t := n.ShortTag(); t != "!!int" && t != "!!float" {
		d.errorAt(n, path, "expected a number, got %s", describe(n))
		return 0, false
	}
	var v float64
	if err := n.Decode(&v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		d.errorAt(n, path, "%s is not a finite number", n.Value)
		return 0, false
	}
	return v, true
}

// maxDuration bounds every duration in a file: a lab run is minutes long,
// so anything beyond a day is a typo (20h for 20s) and not a plan.
const maxDuration = 24 * time.Hour

const durationHint = "use 20s, 500ms, 1m"

// duration reads a Go duration ("20s", "1m30s"). A bare number other than
// 0 is refused: is 20 seconds or milliseconds? The file must say.
func (d *decoder) duration(n *yaml.Node, path string, lo, hi time.Duration) (time.Duration, bool) {
	if !d.scalar(n, path) {
		return 0, false
	}
	v, msg := parseDuration(n)
	if msg != "" {
		d.errorAt(n, path, "%s", msg)
		return 0, false
	}
	switch {
	case v < lo && lo == 0:
		d.errorAt(n, path, "must not be negative, got %s", n.Value)
	case v < lo:
		d.errorAt(n, path, "must be at least %s, got %s", lo, n.Value)
	case v > hi:
		d.errorAt(n, path, "%s is too long (at most %s)", n.Value, formatDuration(hi))
	default:
		return v, true
	}
	return 0, false
}

func parseDuration(n *yaml.Node) (time.Duration, string) {
	switch n.ShortTag() {
	case "!!int", "!!float":
		if n.Value == "0" {
			return 0, ""
		}
		return 0, fmt.Sprintf("%s has no unit (%s)", n.Value, durationHint)
	case "!!str":
		v, err := time.ParseDuration(strings.TrimSpace(n.Value))
		if err != nil {
			return 0, fmt.Sprintf("%q is not a duration (%s)", n.Value, durationHint)
		}
		return v, ""
	}
	return 0, fmt.Sprintf("expected a duration (%s), got %s", durationHint, describe(n))
}

// list reads a sequence; a null node (a key with nothing after it) is an
// empty list.
func (d *decoder) list(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		d.errorAt(n, path, "expected a list, got %s", describe(n))
		return nil, false
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = resolve(c)
	}
	return items, true
}

// formatDuration prints a duration without the trailing zero units that
// time.Duration.String adds ("24h" rather than "24h0m0s").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
