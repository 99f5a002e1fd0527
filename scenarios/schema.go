package scenarios

import (
	_ "embed"
	"slices"
)

//go:embed scenario.schema.json
var schemaJSON []byte

// JSONSchema returns the JSON Schema (draft 2020-12) of scenario files,
// for editors (e.g. the YAML language server's "# yaml-language-server:
// $schema=" comment). The parser stays the authority: it also checks what
// a schema cannot, such as faults overlapping in time.
func JSONSchema() []byte { return slices.Clone(schemaJSON) }
