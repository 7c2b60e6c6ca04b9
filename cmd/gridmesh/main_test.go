package main

import (
	"context"
	"os"
	"testing"

	"github.com/gridmesh/gridmesh/internal/racesafe"
)

// beCLIEnv, set to 1, makes the test binary the gridmesh command: tests
// that run the deploy scripts hand them this binary instead of building
// one.
const beCLIEnv = "GRIDMESH_TEST_BE_CLI"

// TestMain runs the tests on one P under the race detector: the race
// runtime crashes when two threads run one synctest bubble's timers at
// once (see racesafe).
func TestMain(m *testing.M) {
	if os.Getenv(beCLIEnv) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	racesafe.Main(m)
}
