package control_test

import (
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

func TestEnergyTrapezoid(t *testing.T) {
	t0 := time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC)
	at := func(s PowerAt) control.PowerSample {
		p := s.sample
		p.At, p.Wall = t0.Add(s.at), t0.Add(s.wall)
		return p
	}
	grid := func(w gridmesh.W) control.PowerSample { return control.PowerSample{GridW: w, HasGrid: true} }
	battery := func(w gridmesh.W) control.PowerSample { return control.PowerSample{BatteryW: w, HasBattery: true} }
	pv := func(w gridmesh.W) control.PowerSample { return control.PowerSample{PVW: w, HasPV: true} }
	loads := func(served, shed gridmesh.W) control.PowerSample {
		return control.PowerSample{ServedW: served, ShedW: shed, HasLoads: true}
	}
	for _, tc := range []struct {
		name      string
		prev, cur PowerAt
		want      control.EnergyJ
		wantOK    bool
	}{
		{"steady import for 1 s", PowerAt{grid(1000), 0, 0}, PowerAt{grid(1000), time.Second, time.Second},
			control.EnergyJ{GridImport: 1000}, true},
		{"import ramp 0 to 2 kW over 2 s", PowerAt{grid(0), 0, 0}, PowerAt{grid(2000), 2 * time.Second, 2 * time.Second},
			control.EnergyJ{GridImport: 2000}, true},
		{"steady export", PowerAt{grid(-500), 0, 0}, PowerAt{grid(-500), time.Second, time.Second},
			control.EnergyJ{GridExport: 500}, true},
		// From +1 kW to -1 kW over 1 s: the line crosses 0 at 0.5 s, a
		// triangle of 250 J each way.
		{"import turning to export", PowerAt{grid(1000), 0, 0}, PowerAt{grid(-1000), time.Second, time.Second},
			control.EnergyJ{GridImport: 250, GridExport: 250}, true},
		// From -1 kW to +3 kW over 1 s: crosses at 0.25 s; export 125 J,
		// import 3000 × 0.75 / 2 = 1125 J.
		{"export turning to import", PowerAt{grid(-1000), 0, 0}, PowerAt{grid(3000), time.Second, time.Second},
			control.EnergyJ{GridImport: 1125, GridExport: 125}, true},
		{"battery charging", PowerAt{battery(2000), 0, 0}, PowerAt{battery(4000), time.Second, time.Second},
			control.EnergyJ{BatteryCharge: 3000}, true},
		{"battery discharging", PowerAt{battery(-3000), 0, 0}, PowerAt{battery(-3000), 100 * time.Millisecond, 100 * time.Millisecond},
			control.EnergyJ{BatteryDischarge: 300}, true},
		{"pv production", PowerAt{pv(4000), 0, 0}, PowerAt{pv(2000), time.Second, time.Second},
			control.EnergyJ{PVProduction: 3000}, true},
		{"loads served and shed", PowerAt{loads(600, 0), 0, 0}, PowerAt{loads(200, 400), time.Second, time.Second},
			control.EnergyJ{LoadServed: 400, LoadShed: 200}, true},
		{"meter missing in the newer sample", PowerAt{grid(1000), 0, 0}, PowerAt{control.PowerSample{}, time.Second, time.Second},
			control.EnergyJ{}, true},
		{"meter missing in the older sample", PowerAt{control.PowerSample{}, 0, 0}, PowerAt{grid(1000), time.Second, time.Second},
			control.EnergyJ{}, true},
		{"not finite", PowerAt{grid(gridmesh.W(math.NaN())), 0, 0}, PowerAt{grid(1000), time.Second, time.Second},
			control.EnergyJ{}, true},
		// Device time runs 60 times the wall's (a fast testnet): energy is
		// power over device time, the gap is judged on the wall.
		{"device time runs faster", PowerAt{grid(1000), 0, 0}, PowerAt{grid(1000), 6 * time.Second, 100 * time.Millisecond},
			control.EnergyJ{GridImport: 6000}, true},
		{"same instant", PowerAt{grid(1000), 0, 0}, PowerAt{grid(1000), 0, 0}, control.EnergyJ{}, false},
		{"out of order", PowerAt{grid(1000), time.Second, time.Second}, PowerAt{grid(1000), 0, 0}, control.EnergyJ{}, false},
		{"gap at the limit", PowerAt{grid(10), 0, 0}, PowerAt{grid(10), control.EnergyMaxGap, control.EnergyMaxGap},
			control.EnergyJ{GridImport: 10 * control.EnergyMaxGap.Seconds()}, true},
		{"gap past the limit", PowerAt{grid(1000), 0, 0}, PowerAt{grid(1000), control.EnergyMaxGap + time.Millisecond, control.EnergyMaxGap + time.Millisecond},
			control.EnergyJ{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := control.Energy(at(tc.prev), at(tc.cur), control.EnergyMaxGap)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			g, w := got.Fields(), tc.want.Fields()
			for i := range g {
				if math.Abs(g[i]-w[i]) > 1e-9 {
					t.Fatalf("energy = %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}

// PowerAt places a sample at device time at and wall time wall after
// the test's start.
type PowerAt struct {
	sample   control.PowerSample
	at, wall time.Duration
}

func TestLoadSample(t *testing.T) {
	l := gridmesh.LoadState{CriticalW: 300, NonCriticalW: 700}
	for _, tc := range []struct {
		name             string
		l                gridmesh.LoadState
		served, shedWant gridmesh.W
	}{
		{"all served", l, 1000, 0},
		{"the device sheds", gridmesh.LoadState{CriticalW: 300, NonCriticalW: 700, Shed: true}, 300, 700},
	} {
		served, shed := control.LoadSample(tc.l)
		if served != tc.served || shed != tc.shedWant {
			t.Errorf("%s: served %v shed %v, want %v and %v", tc.name, served, shed, tc.served, tc.shedWant)
		}
	}
}

func TestEnergyJAddAndValid(t *testing.T) {
	a := control.EnergyJ{GridImport: 1, GridExport: 2, BatteryCharge: 3, BatteryDischarge: 4, PVProduction: 5, LoadServed: 6, LoadShed: 7}
	sum := a.Add(a)
	for i, f := range sum.Fields() {
		if f != 2*a.Fields()[i] {
			t.Fatalf("sum %+v is not twice %+v", sum, a)
		}
	}
	if !a.Valid() || !(control.EnergyJ{}).Valid() {
		t.Error("a valid total refused")
	}
	for _, bad := range []control.EnergyJ{{GridImport: -1}, {LoadShed: math.NaN()}, {PVProduction: math.Inf(1)}} {
		if bad.Valid() {
			t.Errorf("%+v accepted", bad)
		}
	}
}
