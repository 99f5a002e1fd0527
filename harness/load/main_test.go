package load

import (
	"os"
	"testing"

	"github.com/loadlab/loadlab/harness/labtest"
)

// TestMain takes the machine lock (labtest.LockMachine): these tests
// measure send times and latencies, which another test binary's lab on the
// same 2 cores would distort.
func TestMain(m *testing.M) {
	labtest.ExclusiveMain()
	os.Exit(m.Run())
}
