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
	f := parseExample(t, "home-modbus.yaml")
	s := f.Devices[0].SunSpec
	if s == nil || s.MinWriteInterval == nil || time.Duration(*s.MinWriteInterval) != time.Second || s.Deadband == nil || *s.Deadband != 20 {
		t.Errorf("sunspec block %+v: want min_write_interval 1s and deadband 20 W", s)
	}
	m := parseExample(t, "home-mqtt.yaml").Devices[0].MQTT
	if m == nil || m.ReleasePayload != `{"mode": "auto"}` || m.WillPayload != `{"mode": "auto"}` {
		t.Errorf("mqtt block %+v: want the release and will payloads", m)
	}
}

func parseExample(t *testing.T, name string) *homefile.File {
	t.Helper()
	b, err := os.ReadFile("../../examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := homefile.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
