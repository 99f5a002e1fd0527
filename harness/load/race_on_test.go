//go:build race

package load

// raceEnabled loosens timing tolerances: the race detector slows every
// goroutine several times over, and the generator rightly reports falling
// behind on a machine that cannot keep up.
const raceEnabled = true
