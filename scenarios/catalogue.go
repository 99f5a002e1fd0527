package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
)

//go:embed catalogue/*.yaml
var catalogueFS embed.FS

// catalogue parses the embedded files once. They are part of the binary
// and a test parses every one, so a failure here is a build mistake.
var catalogue = sync.OnceValue(func() []*Scenario {
	files, err := fs.Glob(catalogueFS, "catalogue/*.yaml")
	if err != nil {
		panic(fmt.Sprintf("scenarios: catalogue: %v", err))
	}
	var out []*Scenario
	for _, file := range files {
		data, err := catalogueFS.ReadFile(file)
		if err != nil {
			panic(fmt.Sprintf("scenarios: catalogue: %v", err))
		}
		s, err := Parse(file, data)
		if err != nil {
			panic(fmt.Sprintf("scenarios: catalogue file does not parse:\n%v", err))
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Scenario) int { return strings.Compare(a.Name, b.Name) })
	return out
})

// Catalogue returns the built-in scenarios, sorted by name. Each call
// returns fresh copies that the caller may change.
func Catalogue() []*Scenario {
	all := catalogue()
	out := make([]*Scenario, len(all))
	for i, s := range all {
		out[i] = s.Clone()
	}
	return out
}

// CatalogueNames returns the names of the built-in scenarios, sorted.
func CatalogueNames() []string {
	var names []string
	for _, s := range catalogue() {
		names = append(names, s.Name)
	}
	return names
}

// Lookup returns the built-in scenario called nameOrPath, or else loads
// the file at that path.
func Lookup(nameOrPath string) (*Scenario, error) {
	for _, s := range catalogue() {
		if s.Name == nameOrPath {
			return s.Clone(), nil
		}
	}
	// Something that looks like a name and is not a file is a mistyped
	// name: say which names exist rather than "no such file".
	_, statErr := os.Stat(nameOrPath)
	looksLikePath := strings.ContainsAny(nameOrPath, `/\`) || path.Ext(nameOrPath) != ""
	if errors.Is(statErr, fs.ErrNotExist) && !looksLikePath {
		msg := fmt.Sprintf("scenarios: unknown scenario %q", nameOrPath)
		if s := suggest(nameOrPath, CatalogueNames()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return nil, fmt.Errorf("%s; available: %s; or give the path of a .yaml file", msg, strings.Join(CatalogueNames(), ", "))
	}
	return Load(nameOrPath)
}
