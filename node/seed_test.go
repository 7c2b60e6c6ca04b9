package node

import (
	"flag"
	"math/rand/v2"
	"testing"
)

// seedFlag replays a property test's failure: every test that draws
// random inputs logs the seed it drew them from.
var seedFlag = flag.Uint64("seed", 0, "seed for the property tests' random inputs; 0 draws a fresh one (logged)")

// testSeed returns -seed, or a fresh seed when it is 0, and logs it with
// how to replay it.
func testSeed(t testing.TB) uint64 {
	t.Helper()
	s := *seedFlag
	if s == 0 {
		s = rand.Uint64()
	}
	t.Logf("seed %d (replay with -seed %d)", s, s)
	return s
}
