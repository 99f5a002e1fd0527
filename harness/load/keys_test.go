package load

import (
	"slices"
	"testing"
)

func drawKeys(t *testing.T, k Keys, seed int64, stream, n int) []uint32 {
	t.Helper()
	c, err := newKeyChooser(k, seed, stream)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = c.next()
	}
	return out
}

func shares(keys []uint32, count int) []float64 {
	s := make([]float64, count)
	for _, k := range keys {
		s[k]++
	}
	for i := range s {
		s[i] /= float64(len(keys))
	}
	return s
}

func TestKeyDistributions(t *testing.T) {
	const n, count = 20000, 100
	uniform := shares(drawKeys(t, Keys{Count: count}, 1, 0, n), count)
	if lo, hi := slices.Min(uniform), slices.Max(uniform); lo < 0.005 || hi > 0.016 {
		t.Errorf("uniform: key shares in [%.4f, %.4f], want all near 0.01", lo, hi)
	}

	zipf := shares(drawKeys(t, Keys{Count: count, Distribution: "zipf", ZipfS: 1.1}, 1, 0, n), count)
	if zipf[0] < 0.2 || zipf[0] < 5*zipf[50] {
		t.Errorf("zipf: k0 share %.3f (k50 %.4f), want a concentrated head", zipf[0], zipf[50])
	}
	for i := 1; i < 10; i++ {
		if zipf[i] > zipf[i-1]*1.2 {
			t.Errorf("zipf: share of k%d (%.4f) above k%d (%.4f)", i, zipf[i], i-1, zipf[i-1])
		}
	}

	hot := shares(drawKeys(t, Keys{Count: count, Distribution: "hot", HotFraction: 0.9, HotKeys: 2}, 1, 0, n), count)
	if got := hot[0] + hot[1]; got < 0.88 || got > 0.92 {
		t.Errorf("hot: the 2 hot keys got %.3f of requests, want 0.9", got)
	}
	if hot[50] == 0 {
		t.Error("hot: cold keys never chosen")
	}
}

func TestKeysReproducible(t *testing.T) {
	k := Keys{Count: 1000, Distribution: "zipf"}
	a := drawKeys(t, k, 42, 0, 1000)
	if b := drawKeys(t, k, 42, 0, 1000); !slices.Equal(a, b) {
		t.Error("same seed and stream drew different keys")
	}
	if b := drawKeys(t, k, 43, 0, 1000); slices.Equal(a, b) {
		t.Error("another seed drew the same keys")
	}
	if b := drawKeys(t, k, 42, 1, 1000); slices.Equal(a, b) {
		t.Error("another stream drew the same keys")
	}
}

func TestKeysRejectBadSettings(t *testing.T) {
	for _, k := range []Keys{
		{Distribution: "gaussian"},
		{Distribution: "zipf", ZipfS: 0.5},
		{Distribution: "hot", HotFraction: 1.5},
	} {
		if _, err := newKeyChooser(k, 1, 0); err == nil {
			t.Errorf("%+v: no error", k)
		}
	}
}
