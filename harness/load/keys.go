package load

import (
	"fmt"
	"math/rand"
)

// Key defaults, applied when the scenario left a field at zero.
const (
	defaultKeyCount    = 1000
	defaultZipfS       = 1.1
	defaultHotFraction = 0.9
	defaultHotKeys     = 1
	defaultBodySize    = 64
)

// keyChooser picks the key index of each request of one stream. It is not
// safe for concurrent use; the targeter serialises calls.
type keyChooser struct {
	rng   *rand.Rand
	count int
	next  func() uint32
}

// newKeyChooser builds the chooser of stream index i from the run's seed.
func newKeyChooser(k Keys, seed int64, stream int) (*keyChooser, error) {
	c := &keyChooser{rng: rand.New(rand.NewSource(streamSeed(seed, stream))), count: k.Count}
	if c.count <= 0 {
		c.count = defaultKeyCount
	}
	switch k.Distribution {
	case "", "uniform":
		c.next = func() uint32 { return uint32(c.rng.Intn(c.count)) }
	case "zipf":
		s := k.ZipfS
		if s == 0 {
			s = defaultZipfS
		}
		if s <= 1 {
			return nil, fmt.Errorf("zipf exponent %v must be > 1", s)
		}
		z := rand.NewZipf(c.rng, s, 1, uint64(c.count-1))
		c.next = func() uint32 { return uint32(z.Uint64()) }
	case "hot":
		frac, hot := k.HotFraction, k.HotKeys
		if frac == 0 {
			frac = defaultHotFraction
		}
		if hot <= 0 {
			hot = defaultHotKeys
		}
		if frac < 0 || frac > 1 {
			return nil, fmt.Errorf("hot fraction %v must be in [0, 1]", frac)
		}
		if hot >= c.count {
			hot = c.count
		}
		cold := c.count - hot
		c.next = func() uint32 {
			if cold == 0 || c.rng.Float64() < frac {
				return uint32(c.rng.Intn(hot))
			}
			return uint32(hot + c.rng.Intn(cold))
		}
	default:
		return nil, fmt.Errorf("unknown key distribution %q", k.Distribution)
	}
	return c, nil
}

// streamSeed derives a stream's seed from the run's, so streams draw
// independent sequences and adding a stream does not change the others.
func streamSeed(seed int64, stream int) int64 {
	x := uint64(seed) + uint64(stream+1)*0x9e3779b97f4a7c15 // splitmix64
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return int64(x ^ x>>31)
}
