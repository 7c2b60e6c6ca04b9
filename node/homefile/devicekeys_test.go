package homefile_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh/node/homefile"
)

// The example home files document every driver key: they must parse, and
// the keys must land where the drivers read them.
func TestExampleDeviceKeys(t *testing.T) {
	f := parseExample(t, "home-modbus.yaml")
	s := f.Devices[0].SunSpec
	if s == nil || s.MinWriteInterval == nil || time.Duration(*s.MinWriteInterval) != time.Second || s.Deadband == nil || *s.Deadband != 20 || s.StorageRates != "window" {
		t.Errorf("sunspec block %+v: want min_write_interval 1s, deadband 20 W, storage_rates window", s)
	}
	m := parseExample(t, "home-mqtt.yaml").Devices[0].MQTT
	if m == nil || m.ReleasePayload != `{"mode": "auto"}` || m.WillPayload != `{"mode": "auto"}` || m.Resolution == nil || *m.Resolution != 1 {
		t.Errorf("mqtt block %+v: want the release and will payloads and a 1 W resolution", m)
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

func TestStorageRatesChecked(t *testing.T) {
	b, err := os.ReadFile("../../examples/home-modbus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := homefile.Parse([]byte(strings.Replace(string(b), "storage_rates: window", "storage_rates: limits", 1))); err == nil {
		t.Error("storage_rates limits accepted")
	}
}
