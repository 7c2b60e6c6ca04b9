package backoff

import (
	"testing"

	"github.com/gridmesh/gridmesh/internal/racesafe"
)

// TestMain runs the tests on one P under the race detector: the race
// runtime crashes when two threads run one synctest bubble's timers at
// once (see racesafe).
func TestMain(m *testing.M) { racesafe.Main(m) }
