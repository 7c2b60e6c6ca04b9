package main

import (
	"os"
	"testing"

	"github.com/gridmesh/gridmesh/internal/racesafe"
)

// asGridmesh, set to "1" in a test binary's environment, makes it run as
// the gridmesh command (its arguments after the binary's name): tests
// that need a real `gridmesh node` process (signals, exit) re-execute
// themselves.
const asGridmesh = "GRIDMESH_TEST_AS_COMMAND"

// TestMain runs the tests on one P under the race detector: the race
// runtime crashes when two threads run one synctest bubble's timers at
// once (see racesafe). Run as gridmesh, it is main.
func TestMain(m *testing.M) {
	if os.Getenv(asGridmesh) == "1" {
		main()
	}
	racesafe.Main(m)
}
