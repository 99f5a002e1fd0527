package backend_test

import (
	"slices"
	"testing"

	"github.com/loadlab/loadlab/scenarios"
	"github.com/loadlab/loadlab/targets/backend"
)

// TestScenarioSettingsExist keeps the scenario language and the backend in
// step: every setting a variant may give the sample backend is one it reads.
func TestScenarioSettingsExist(t *testing.T) {
	names := backend.SettingNames()
	for _, s := range scenarios.SampleBackendSettings() {
		if !slices.Contains(names, s.Name) {
			t.Errorf("scenarios accept backend setting %q, which the backend does not have (it has %v)", s.Name, names)
		}
	}
}
