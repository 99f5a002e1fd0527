package main

import (
	"slices"
	"testing"

	"github.com/spf13/cobra"

	"github.com/loadlab/loadlab/scenarios"
)

// TestGatedPhases: the rows ab warns about are those of the phases its
// --gate and --phase flags let fail the gate: the whole run by default,
// every phase with --gate all, fewer with --phase.
func TestGatedPhases(t *testing.T) {
	sc, err := scenarios.Lookup("partition")
	if err != nil {
		t.Fatal(err)
	}
	names := phaseNames(sc.Quick())
	if want := []string{"whole", "before db-partition", "during db-partition", "after db-partition"}; !slices.Equal(names, want) {
		t.Fatalf("phases %q, want %q", names, want)
	}
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, 1},
		{[]string{"--gate", "all"}, 4},
		{[]string{"--gate", "all", "--phase", "during db-partition"}, 1},
		{[]string{"--gate", "during db-partition", "--gate", "whole"}, 2},
		{[]string{"--phase", "during db-partition"}, 0},
	} {
		cmd := &cobra.Command{}
		j := judgeFlags(cmd)
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range names {
			if j.gates(p) {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("%q: %d gated phases, want %d", tc.args, n, tc.want)
		}
	}
}
