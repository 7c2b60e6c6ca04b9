package homefile_test

import (
	"os"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/node/homefile"
)

// The example home files document every driver key: they must parse, and
// the keys must land where the drivers read them.
func TestExampleDeviceKeys(t *testing.T) {
	b, err := os.ReadFile("../../examples/home-modbus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := homefile.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	s := f.Devices[0].SunSpec
	if s == nil || s.MinWriteInterval == nil || time.Duration(*s.MinWriteInterval) != time.Second || s.Deadband == nil || *s.Deadband != 20 {
		t.Errorf("sunspec block %+v: want min_write_interval 1s and deadband 20 W", s)
	}
}
