package compare

import (
	"math"
	"slices"
)

// benjaminiHochberg returns the Benjamini-Hochberg adjusted p-values of ps,
// in the same order. NaN entries (untested rows) stay NaN and are not
// counted among the tests. The adjusted value of the i-th smallest of m
// p-values is min over j >= i of m·p(j)/j, capped at 1, so that rejecting
// every adjusted p below alpha keeps the false discovery rate at alpha.
func benjaminiHochberg(ps []float64) []float64 {
	adj := make([]float64, len(ps))
	var order []int
	for i, p := range ps {
		adj[i] = math.NaN()
		if !math.IsNaN(p) {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case ps[a] < ps[b]:
			return -1
		case ps[a] > ps[b]:
			return +1
		}
		return 0
	})
	m := float64(len(order))
	running := 1.0
	for rank := len(order); rank >= 1; rank-- {
		i := order[rank-1]
		running = math.Min(running, ps[i]*m/float64(rank))
		adj[i] = running
	}
	return adj
}
