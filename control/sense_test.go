package control

import (
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

func TestSensedSettled(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	before, after := t0.Add(-time.Millisecond), t0.Add(time.Millisecond)
	for _, tc := range []struct {
		name string
		s    Sensed
		want bool
	}{
		{"both after the command", Sensed{BatteryOK: true, MeterOK: true, BatteryAt: after, MeterAt: after, AppliedAt: t0}, true},
		{"both at the command", Sensed{BatteryOK: true, MeterOK: true, BatteryAt: t0, MeterAt: t0, AppliedAt: t0}, true},
		{"battery predates it", Sensed{BatteryOK: true, MeterOK: true, BatteryAt: before, MeterAt: after, AppliedAt: t0}, false},
		{"meter predates it", Sensed{BatteryOK: true, MeterOK: true, BatteryAt: after, MeterAt: before, AppliedAt: t0}, false},
		{"no command yet", Sensed{BatteryOK: true, MeterOK: true, BatteryAt: before, MeterAt: before}, true},
		{"no meter: nothing to compare", Sensed{BatteryOK: true, BatteryAt: before, AppliedAt: t0}, true},
		{"no battery: nothing to compare", Sensed{MeterOK: true, MeterAt: before, AppliedAt: t0}, true},
	} {
		if got := tc.s.Settled(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSensedReading(t *testing.T) {
	f := gridmesh.Flexibility{PowerW: 800, MinW: -5000, MaxW: 5000, SoC: 0.5, CapacityWh: 10_000}
	m := gridmesh.MeterReading{NetW: 1200, FrequencyHz: 49.9, VoltageV: 230, GridOK: true}
	for _, tc := range []struct {
		name    string
		s       Sensed
		want    Reading
		gridOK  bool
		command gridmesh.W // for a Loop command of 1000 W
	}{
		{"meter and battery", Sensed{BatteryOK: true, Battery: f, MeterOK: true, Meter: m}, Reading{NetW: 1200, FrequencyHz: 49.9, Battery: f}, true, 1000},
		{"no meter: no room", Sensed{BatteryOK: true, Battery: f}, Reading{Battery: NoRoom(f)}, true, 1000},
		{"islanded, live", Sensed{BatteryOK: true, Battery: f, MeterOK: true, Meter: gridmesh.MeterReading{NetW: 5, VoltageV: 231}},
			Reading{NetW: 5, Battery: f}, false, 1000},
		{"dead bus: battery held", Sensed{BatteryOK: true, Battery: f, MeterOK: true, Meter: gridmesh.MeterReading{}},
			Reading{Battery: f}, false, 0},
	} {
		if got := tc.s.Reading(); got != tc.want {
			t.Errorf("%s: reading %+v, want %+v", tc.name, got, tc.want)
		}
		if got := tc.s.GridOK(); got != tc.gridOK {
			t.Errorf("%s: grid ok %v, want %v", tc.name, got, tc.gridOK)
		}
		if got := tc.s.BatteryCommand(Command{BatteryW: 1000}); got != tc.command {
			t.Errorf("%s: battery command %v, want %v", tc.name, got, tc.command)
		}
	}
	if r := NoRoom(f); r.PowerW != 0 || r.MinW != 0 || r.MaxW != 0 || r.SoC != f.SoC || r.CapacityWh != f.CapacityWh {
		t.Errorf("no room: %+v", r)
	}
}

func TestMissedTicks(t *testing.T) {
	const p = 100 * time.Millisecond
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name            string
		last, scheduled time.Time
		now             time.Time
		missed          uint64
		late            bool
	}{
		{"first tick, on time", time.Time{}, t0, t0.Add(time.Millisecond), 0, false},
		{"first tick, late", time.Time{}, t0, t0.Add(p + time.Millisecond), 1, true},
		{"next, on time", t0, t0.Add(p), t0.Add(p), 0, false},
		{"a period late exactly: not late", t0, t0.Add(p), t0.Add(2 * p), 0, false},
		{"jitter within half a period", t0, t0.Add(p * 3 / 2), t0.Add(p * 3 / 2), 0, false},
		{"one dropped", t0, t0.Add(2 * p), t0.Add(2 * p), 1, false},
		{"three dropped and late", t0, t0.Add(4 * p), t0.Add(6 * p), 4, true},
	} {
		missed, late := MissedTicks(tc.last, tc.scheduled, tc.now, p)
		if missed != tc.missed || late != tc.late {
			t.Errorf("%s: missed %d late %v, want %d and %v", tc.name, missed, late, tc.missed, tc.late)
		}
	}
}
