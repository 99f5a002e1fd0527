package scenarios

import "strings"

// ToxicKind is one kind of fault a scenario can put on a link: a toxiproxy
// toxic, or "down", which disables the proxy instead of adding a toxic.
type ToxicKind struct {
	Name string
	Doc  string
	// DisablesProxy is true for "down": the harness disables the proxy
	// (listener closed, connections cut) rather than adding a toxic.
	DisablesProxy bool
	Attrs         []ToxicAttr
}

// ToxicAttr is one integer attribute of a toxic kind.
type ToxicAttr struct {
	Name     string
	Unit     string // ms, µs, KB/s, bytes
	Doc      string
	Required bool
	Default  int64 // filled in when the attribute is left out
	Min, Max int64
}

// The bounds below are sanity limits for a lab run, not toxiproxy's.
const (
	maxToxicMillis = 3_600_000 // an hour
	maxToxicBytes  = 1 << 30
)

// toxicKinds is the registry, one entry per kind, in documentation order.
var toxicKinds = []ToxicKind{
	{
		Name: "latency",
		Doc:  "delays every chunk of data by latency ± jitter",
		Attrs: []ToxicAttr{
			{Name: "latency", Unit: "ms", Doc: "added delay", Required: true, Min: 0, Max: maxToxicMillis},
			{Name: "jitter", Unit: "ms", Doc: "random variation, at most latency", Min: 0, Max: maxToxicMillis},
		},
	},
	{
		Name: "bandwidth",
		Doc:  "limits the link to rate KB/s",
		Attrs: []ToxicAttr{
			{Name: "rate", Unit: "KB/s", Doc: "bandwidth", Required: true, Min: 1, Max: 10_000_000},
		},
	},
	{
		Name: "timeout",
		Doc:  "stops all data and closes the connection after timeout ms (0: holds it open forever)",
		Attrs: []ToxicAttr{
			{Name: "timeout", Unit: "ms", Doc: "time before the connection is closed; 0 = never", Min: 0, Max: maxToxicMillis},
		},
	},
	{
		Name:          "down",
		Doc:           "disables the proxy: open connections are closed and new ones refused",
		DisablesProxy: true,
	},
	{
		Name: "reset_peer",
		Doc:  "resets connections (TCP RST) after timeout ms",
		Attrs: []ToxicAttr{
			{Name: "timeout", Unit: "ms", Doc: "time before the reset; 0 = at once", Min: 0, Max: maxToxicMillis},
		},
	},
	{
		Name: "slow_close",
		Doc:  "delays closing the connection by delay ms",
		Attrs: []ToxicAttr{
			{Name: "delay", Unit: "ms", Doc: "delay before the close", Required: true, Min: 0, Max: maxToxicMillis},
		},
	},
	{
		Name: "slicer",
		Doc:  "slices data into small packets (average_size ± size_variation bytes) sent delay µs apart",
		Attrs: []ToxicAttr{
			{Name: "average_size", Unit: "bytes", Doc: "mean packet size", Required: true, Min: 1, Max: 1 << 20},
			{Name: "size_variation", Unit: "bytes", Doc: "variation of the size, below average_size", Min: 0, Max: 1 << 20},
			{Name: "delay", Unit: "µs", Doc: "pause between packets", Min: 0, Max: 10_000_000},
		},
	},
	{
		Name: "limit_data",
		Doc:  "closes the connection after bytes bytes",
		Attrs: []ToxicAttr{
			{Name: "bytes", Unit: "bytes", Doc: "bytes let through", Required: true, Min: 0, Max: maxToxicBytes},
		},
	},
}

// ToxicKinds returns the registry of toxic kinds, in documentation order.
func ToxicKinds() []ToxicKind {
	out := make([]ToxicKind, len(toxicKinds))
	for i, k := range toxicKinds {
		k.Attrs = append([]ToxicAttr(nil), k.Attrs...)
		out[i] = k
	}
	return out
}

// LookupToxic returns the toxic kind called name.
func LookupToxic(name string) (ToxicKind, bool) {
	for _, k := range toxicKinds {
		if k.Name == name {
			return k, true
		}
	}
	return ToxicKind{}, false
}

func toxicKindNames() []string {
	names := make([]string, len(toxicKinds))
	for i, k := range toxicKinds {
		names[i] = k.Name
	}
	return names
}

// AttrNames lists the kind's attribute names.
func (k ToxicKind) AttrNames() []string {
	names := make([]string, len(k.Attrs))
	for i, a := range k.Attrs {
		names[i] = a.Name
	}
	return names
}

// describeAttrs lists what a toxic of this kind takes, for error messages.
func (k ToxicKind) describeAttrs() string {
	if len(k.Attrs) == 0 {
		return k.Name + " takes no attributes"
	}
	parts := make([]string, len(k.Attrs))
	for i, a := range k.Attrs {
		parts[i] = a.Name + " (" + a.Unit + ")"
	}
	return k.Name + " takes " + strings.Join(parts, ", ") + ", plus stream and toxicity"
}
