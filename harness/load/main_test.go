package load

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/loadlab/loadlab/harness/labtest"
)

// TestMain takes the machine lock (labtest.LockMachine): these tests
// measure send times and latencies, which another test binary's lab on the
// same 2 cores would distort.
func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		if err := labtest.LockMachine(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}
