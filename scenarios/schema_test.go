package scenarios

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// schemaNode is the part of JSON Schema the tests walk.
type schemaNode struct {
	Ref                  string                 `json:"$ref"`
	Type                 any                    `json:"type"`
	Properties           map[string]*schemaNode `json:"properties"`
	AdditionalProperties json.RawMessage        `json:"additionalProperties"`
	Items                *schemaNode            `json:"items"`
	Enum                 []any                  `json:"enum"`
	Required             []string               `json:"required"`
	Defs                 map[string]*schemaNode `json:"$defs"`
	AllOf                []struct {
		If struct {
			Properties map[string]struct {
				Const string `json:"const"`
			} `json:"properties"`
		} `json:"if"`
		Then struct {
			Required      []string `json:"required"`
			PropertyNames struct {
				Enum []string `json:"enum"`
			} `json:"propertyNames"`
		} `json:"then"`
	} `json:"allOf"`
}

func loadSchema(t *testing.T) *schemaNode {
	t.Helper()
	var root schemaNode
	if err := json.Unmarshal(JSONSchema(), &root); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	return &root
}

func (root *schemaNode) deref(n *schemaNode) *schemaNode {
	for n != nil && n.Ref != "" {
		n = root.Defs[strings.TrimPrefix(n.Ref, "#/$defs/")]
	}
	return n
}

// open reports whether the object schema takes keys beyond its properties.
func (n *schemaNode) open() bool {
	a := strings.TrimSpace(string(n.AdditionalProperties))
	return a != "" && a != "false"
}

// walk checks a YAML node against a schema node: every key of a mapping
// must be a property (unless the schema is open), enums must hold.
func (root *schemaNode) walk(y *yaml.Node, s *schemaNode, path string) []string {
	s = root.deref(s)
	y = resolve(y)
	if s == nil {
		return []string{path + ": no schema"}
	}
	var problems []string
	switch y.Kind {
	case yaml.MappingNode:
		if s.Properties == nil && !s.open() {
			return []string{path + ": a mapping where the schema has no properties"}
		}
		for i := 0; i+1 < len(y.Content); i += 2 {
			key := y.Content[i].Value
			prop, ok := s.Properties[key]
			if !ok {
				if !s.open() {
					problems = append(problems, fmt.Sprintf("%s: key %q not in the schema", path, key))
				}
				continue
			}
			problems = append(problems, root.walk(y.Content[i+1], prop, fieldPath(path, key))...)
		}
	case yaml.SequenceNode:
		if s.Items == nil {
			return []string{path + ": a list where the schema has no items"}
		}
		for i, c := range y.Content {
			problems = append(problems, root.walk(c, s.Items, indexPath(path, i))...)
		}
	case yaml.ScalarNode:
		if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e any) bool { return fmt.Sprint(e) == y.Value }) {
			problems = append(problems, fmt.Sprintf("%s: %q not in the schema's enum %v", path, y.Value, s.Enum))
		}
	}
	return problems
}

func TestSchemaCoversCatalogue(t *testing.T) {
	root := loadSchema(t)
	for _, s := range Catalogue() {
		var doc yaml.Node
		if err := yaml.Unmarshal(s.Source, &doc); err != nil {
			t.Fatal(err)
		}
		for _, p := range root.walk(doc.Content[0], root, "") {
			t.Errorf("%s: %s", s.File, p)
		}
	}
}

func TestSchemaCoversFullExample(t *testing.T) {
	// The walker must also reject what the schema does not know.
	root := loadSchema(t)
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(minimal+"bogus: 1\n"), &doc); err != nil {
		t.Fatal(err)
	}
	if p := root.walk(doc.Content[0], root, ""); len(p) != 1 || !strings.Contains(p[0], `key "bogus" not in the schema`) {
		t.Errorf("walk of a file with an unknown key = %v", p)
	}
}

func keysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// TestSchemaMatchesParser keeps the hand-written schema and the parser's
// tables in step: same keys, same enums, same toxic attributes.
func TestSchemaMatchesParser(t *testing.T) {
	root := loadSchema(t)
	def := func(name string) *schemaNode { return root.Defs[name] }
	var toxicAttrs []string
	for _, k := range toxicKinds {
		for _, a := range k.AttrNames() {
			if !slices.Contains(toxicAttrs, a) {
				toxicAttrs = append(toxicAttrs, a)
			}
		}
	}
	objects := []struct {
		name   string
		schema *schemaNode
		keys   []string
	}{
		{"top level", root, topLevelKeys},
		{"target", def("target"), targetKeys},
		{"stream", def("stream"), streamKeys},
		{"stage", def("stage"), stageKeys},
		{"keys", def("keys"), keysKeys},
		{"fault", def("fault"), faultKeys},
		{"toxic", def("toxic"), append(slices.Clone(toxicBaseKeys), toxicAttrs...)},
		{"variant", def("variant"), variantKeys},
		{"check", def("check"), checkKeys},
		{"backend", def("backend"), sampleBackendSettingNames()},
	}
	for _, o := range objects {
		if got, want := keysOf(o.schema.Properties), sorted(o.keys); !slices.Equal(got, want) {
			t.Errorf("%s: schema properties %v, parser keys %v", o.name, got, want)
		}
	}
	enums := []struct {
		name string
		got  []any
		want []string
	}{
		{"link", def("fault").Properties["link"].Enum, Links},
		{"toxic type", def("toxic").Properties["type"].Enum, toxicKindNames()},
		{"toxic stream", def("toxic").Properties["stream"].Enum, toxicStreams},
		{"distribution", def("keys").Properties["distribution"].Enum, distributions},
		{"client", def("variant").Properties["client"].Enum, clients},
	}
	for _, s := range sampleBackendSettings {
		if s.Kind == "enum" {
			enums = append(enums, struct {
				name string
				got  []any
				want []string
			}{"backend " + s.Name, def("backend").Properties[s.Name].Enum, s.Values})
		}
	}
	for _, e := range enums {
		got := make([]string, len(e.got))
		for i, v := range e.got {
			got[i] = fmt.Sprint(v)
		}
		if !slices.Equal(got, e.want) {
			t.Errorf("%s: schema enum %v, parser %v", e.name, got, e.want)
		}
	}
	// Per-kind toxic attributes.
	conds := map[string][]string{}
	required := map[string][]string{}
	for _, c := range def("toxic").AllOf {
		kind := c.If.Properties["type"].Const
		conds[kind] = sorted(c.Then.PropertyNames.Enum)
		required[kind] = sorted(c.Then.Required)
	}
	for _, k := range toxicKinds {
		want := []string{"type"}
		var req []string
		if !k.DisablesProxy {
			want = append(want, toxicBaseKeys[1:]...)
		}
		want = append(want, k.AttrNames()...)
		for _, a := range k.Attrs {
			if a.Required {
				req = append(req, a.Name)
			}
		}
		if !slices.Equal(conds[k.Name], sorted(want)) {
			t.Errorf("toxic %s: schema allows %v, parser %v", k.Name, conds[k.Name], sorted(want))
		}
		if !slices.Equal(required[k.Name], sorted(req)) {
			t.Errorf("toxic %s: schema requires %v, parser %v", k.Name, required[k.Name], sorted(req))
		}
	}
	if !strings.Contains(string(JSONSchema()), strings.Join(metricNames(), "|")) {
		t.Error("the schema's expect pattern does not list the metrics in the parser's order")
	}
}
