package mqttsim

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/devices/mqtt"
)

type battery struct {
	f   gridmesh.Flexibility
	err error
	set []gridmesh.W
}

func (b *battery) Battery() (gridmesh.Flexibility, error) { return b.f, b.err }
func (b *battery) SetBatteryPower(w gridmesh.W) error     { b.set = append(b.set, w); return nil }

type pv struct{}

func (pv) PV() (gridmesh.PVState, error) { return gridmesh.PVState{}, nil }
func (pv) SetPVLimit(gridmesh.W) error   { return nil }

func batteryConfig() Config {
	c := DefaultConfig(mqtt.KindBattery)
	c.Device.Broker = "tcp://127.0.0.1:1883"
	c.Device.StateTopic, c.Device.SetTopic = "b/state", "b/set"
	return c
}

func TestConstructorChecksKind(t *testing.T) {
	c := batteryConfig()
	if _, err := NewPV(c, pv{}, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("NewPV with a battery config: %v", err)
	}
	c.Period = 0
	if _, err := NewBattery(c, &battery{}, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("period 0: %v", err)
	}
	if _, err := NewBattery(batteryConfig(), nil, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("nil device: %v", err)
	}
	c = batteryConfig()
	c.SetField = ""
	if _, err := NewBattery(c, &battery{}, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("no set field: %v", err)
	}
}

func TestEncodeFollowsTheDriversLayout(t *testing.T) {
	c := batteryConfig()
	c.Device.SoCPercent = true
	c.Device.Fields["power"] = "P"
	b := &battery{f: gridmesh.Flexibility{PowerW: 100, SoC: 0.5, MinW: -1, MaxW: 2, CapacityWh: 3, ChargeWh: 1.5, DischargeWh: 1.25}}
	s, err := NewBattery(c, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.encode()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]float64
	if err := json.Unmarshal(p, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"P": 100, "soc": 50, "min_w": -1, "max_w": 2, "capacity_wh": 3, "charge_wh": 1.5, "discharge_wh": 1.25}
	if len(got) != len(want) {
		t.Fatalf("payload %s", p)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("payload %s: %s = %v, want %v", p, k, got[k], v)
		}
	}
	b.err = errors.New("broken")
	if _, err := s.encode(); err == nil {
		t.Fatal("encoded a failed reading")
	}
}

func TestReceiveAppliesOrRefuses(t *testing.T) {
	b := &battery{}
	s, err := NewBattery(batteryConfig(), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{`{"power_w": 1500}`, `{"power_w": "1500"}`, `{"power_w": null}`, `{"watts": 1}`, `junk`, `{"power_w": -20.5, "x": 1}`} {
		s.receive([]byte(p))
	}
	if st := s.Stats(); st.SetpointsApplied != 2 || st.SetpointsRefused != 4 {
		t.Fatalf("stats %+v", st)
	}
	if len(b.set) != 2 || b.set[0] != 1500 || b.set[1] != -20.5 {
		t.Fatalf("applied %v", b.set)
	}
}
