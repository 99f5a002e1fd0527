package env_test

import "testing"

// skipShort skips a test that starts containers or builds images under
// -short (make test-short: unit tests only).
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts containers (not under -short)")
	}
}
