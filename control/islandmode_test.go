package control

import (
	"fmt"
	"math"
	"testing"

	"github.com/gridmesh/gridmesh"
)

func islandReport(home string, islanded bool, loads bool) gridmesh.Telemetry {
	t := gridmesh.Telemetry{Home: gridmesh.HomeID(home), BaseW: 300, Battery: batt(5000, 10_000, 5000)}
	if loads {
		t.Loads = &gridmesh.HomeLoads{Islanded: islanded, CriticalW: 300}
	}
	return t
}

func TestIslanded(t *testing.T) {
	for _, tc := range []struct {
		islanded, on, silent int // reports: islanded, on the grid, without loads
		want                 bool
	}{
		{0, 0, 0, false},
		{0, 3, 0, false},
		{1, 2, 0, false}, // one broken meter does not island a neighborhood
		{2, 1, 0, true},
		{1, 1, 0, true}, // an even split balances itself
		{1, 0, 2, false},
		{1, 0, 1, true},
		{3, 0, 0, true},
	} {
		var rs []gridmesh.Telemetry
		for i := range tc.islanded {
			rs = append(rs, islandReport(fmt.Sprint("i", i), true, true))
		}
		for i := range tc.on {
			rs = append(rs, islandReport(fmt.Sprint("g", i), false, true))
		}
		for i := range tc.silent {
			rs = append(rs, islandReport(fmt.Sprint("s", i), false, false))
		}
		if got := Islanded(rs); got != tc.want {
			t.Errorf("%d islanded, %d on the grid, %d silent: %v, want %v", tc.islanded, tc.on, tc.silent, got, tc.want)
		}
	}
}

func TestHomeLoads(t *testing.T) {
	loads := &gridmesh.LoadState{CriticalW: 200, NonCriticalW: 150}
	car := &gridmesh.ChargerState{Connected: true, WantedWh: 5000, MinW: 1400, MaxW: 11_000}
	cold := &gridmesh.HeatPumpState{PowerW: 0, MaxW: 3000, IndoorC: 19, BandLowC: 19, BandHighC: 21}
	warm := &gridmesh.HeatPumpState{PowerW: 500, MaxW: 3000, IndoorC: 20.5, BandLowC: 19, BandHighC: 21}
	pv := &gridmesh.PVState{PowerW: 800, AvailableW: 1200}
	for _, tc := range []struct {
		name string
		d    HomeDevices
		shed gridmesh.ShedFlags
		want *gridmesh.HomeLoads
	}{
		{"no loads read", HomeDevices{MeterOK: true, Charger: car}, 0, nil},
		{"on the grid", HomeDevices{MeterOK: true, GridOK: true, Loads: loads}, 0,
			&gridmesh.HomeLoads{CriticalW: 200, OtherW: 150}},
		{"no meter: not islanded", HomeDevices{Loads: loads}, 0, &gridmesh.HomeLoads{CriticalW: 200, OtherW: 150}},
		{"loads that can disconnect whole", HomeDevices{MeterOK: true, GridOK: true, Loads: loads, CanDisconnect: true}, 0,
			&gridmesh.HomeLoads{CriticalW: 200, OtherW: 150, CanDisconnect: true}},
		{"islanded, everything", HomeDevices{MeterOK: true, Loads: loads, Charger: car, HeatPump: cold, PV: pv}, gridmesh.ShedOther,
			&gridmesh.HomeLoads{Islanded: true, CriticalW: 200, OtherW: 150, EVW: 1400, HeatPumpW: 3000, PVAvailableW: 1200, PVW: 800, Shed: gridmesh.ShedOther}},
		{"car that wants nothing", HomeDevices{MeterOK: true, GridOK: true, Loads: loads, Charger: &gridmesh.ChargerState{Connected: true, MinW: 1400}}, 0,
			&gridmesh.HomeLoads{CriticalW: 200, OtherW: 150}},
		{"warm house: what it draws", HomeDevices{MeterOK: true, GridOK: true, Loads: loads, HeatPump: warm}, 0,
			&gridmesh.HomeLoads{CriticalW: 200, OtherW: 150, HeatPumpW: 500}},
		{"PV reading less available than output", HomeDevices{MeterOK: true, GridOK: true, Loads: loads, PV: &gridmesh.PVState{PowerW: 900, AvailableW: 100}}, 0,
			&gridmesh.HomeLoads{CriticalW: 200, OtherW: 150, PVW: 900, PVAvailableW: 900}},
		{"garbage clamped", HomeDevices{MeterOK: true, GridOK: true, Loads: &gridmesh.LoadState{CriticalW: -5, NonCriticalW: gridmesh.W(math.NaN())}}, 0,
			&gridmesh.HomeLoads{}},
	} {
		got := HomeLoads(tc.d, tc.shed)
		if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestHeatPumpDemandW(t *testing.T) {
	for _, tc := range []struct {
		hp   gridmesh.HeatPumpState
		want gridmesh.W
	}{
		{gridmesh.HeatPumpState{PowerW: 0, MaxW: 3000, IndoorC: 19.9, BandLowC: 19, BandHighC: 21}, 3000},
		{gridmesh.HeatPumpState{PowerW: 0, MaxW: 3000, IndoorC: 20, BandLowC: 19, BandHighC: 21}, 0},
		{gridmesh.HeatPumpState{PowerW: 1200, MaxW: 3000, IndoorC: 22, BandLowC: 19, BandHighC: 21}, 1200},
		{gridmesh.HeatPumpState{PowerW: -10, MaxW: 3000, IndoorC: 21, BandLowC: 19, BandHighC: 21}, 0},
	} {
		if got := HeatPumpDemandW(tc.hp); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.hp, got, tc.want)
		}
	}
}

func withContactor(t gridmesh.Telemetry) gridmesh.Telemetry {
	l := *t.Loads
	l.CanDisconnect = true
	t.Loads = &l
	return t
}

func TestIslandHomes(t *testing.T) {
	withLoads := gridmesh.Telemetry{Home: "a", Battery: batt(5000, 10_000, 5000), BaseW: 999,
		Loads: &gridmesh.HomeLoads{CriticalW: 200, EVW: 1400, HeatPumpW: 3000, OtherW: 150, PVAvailableW: 1200, PVW: 800, Shed: gridmesh.ShedEV | gridmesh.ShedOther}}
	for _, tc := range []struct {
		name string
		t    gridmesh.Telemetry
		want IslandHome
	}{
		{"loads reported", withLoads, IslandHome{Home: "a", Battery: withLoads.Battery, CriticalW: 200, EVW: 1400, HeatPumpW: 3000, OtherW: 150,
			PVAvailableW: 1200, PVW: 800, Shed: Shed{EV: true, Other: true}}},
		{"loads that can disconnect", withContactor(withLoads), IslandHome{Home: "a", Battery: withLoads.Battery, CriticalW: 200, EVW: 1400, HeatPumpW: 3000, OtherW: 150,
			PVAvailableW: 1200, PVW: 800, Shed: Shed{EV: true, Other: true}, CanDisconnect: true}},
		{"no loads, importing: critical", gridmesh.Telemetry{Home: "b", BaseW: 400}, IslandHome{Home: "b", CriticalW: 400}},
		{"no loads, exporting: PV", gridmesh.Telemetry{Home: "c", BaseW: -700}, IslandHome{Home: "c", PVAvailableW: 700}},
	} {
		got := IslandHomes([]gridmesh.Telemetry{tc.t})
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestShedFlagsRoundTrip(t *testing.T) {
	for f := range gridmesh.ShedFlags(16) {
		f &= gridmesh.ShedEV | gridmesh.ShedHeatPump | gridmesh.ShedOther | gridmesh.ShedCritical
		if got := ShedOf(f).Flags(); got != f {
			t.Errorf("flags %b → %+v → %b", f, ShedOf(f), got)
		}
	}
}

func TestIslandSetpoints(t *testing.T) {
	res := IslandResult{Setpoints: []IslandSetpoint{
		{Home: "a", NetW: -300, BatteryW: -500, PVLimitW: NoPVLimit, Shed: Shed{HeatPump: true}},
		{Home: "b", NetW: 300, PVLimitW: -1},
		{Home: "c", NetW: 0, PVLimitW: 2 * gridmesh.MaxHomePowerW},
	}}
	want := []gridmesh.Setpoint{
		{Home: "a", NetW: -300, Island: true, PVLimitW: NoPVLimit, Shed: gridmesh.ShedHeatPump},
		{Home: "b", NetW: 300, Island: true, PVLimitW: 0},
		{Home: "c", NetW: 0, Island: true, PVLimitW: gridmesh.MaxHomePowerW},
	}
	got := IslandSetpoints(res)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("setpoint %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestPlanIsland(t *testing.T) {
	on := []gridmesh.Telemetry{islandReport("a", false, true), islandReport("b", false, true)}
	off := []gridmesh.Telemetry{islandReport("a", true, true), islandReport("b", true, true)}
	for _, tc := range []struct {
		name    string
		cfg     IslandConfig
		reports []gridmesh.Telemetry
		ok, err bool
		n       int
	}{
		{"on the grid", DefaultIslandConfig(), on, false, false, 0},
		{"islanded", DefaultIslandConfig(), off, true, false, 2},
		{"islanded, bad config", IslandConfig{ReserveFraction: 2}, off, true, true, 0},
	} {
		sps, _, ok, err := PlanIsland(tc.cfg, tc.reports)
		if ok != tc.ok || (err != nil) != tc.err || len(sps) != tc.n {
			t.Errorf("%s: %d setpoints, ok %v, err %v", tc.name, len(sps), ok, err)
		}
		for _, s := range sps {
			if !s.Island {
				t.Errorf("%s: %+v not an island setpoint", tc.name, s)
			}
		}
	}
}

func TestLocalIsland(t *testing.T) {
	loads := &gridmesh.HomeLoads{Islanded: true, CriticalW: 300, EVW: 1400, OtherW: 100}
	for _, tc := range []struct {
		name    string
		battery gridmesh.Flexibility
		loads   *gridmesh.HomeLoads
		ok      bool
		shed    gridmesh.ShedFlags
	}{
		{"no loads read", batt(5000, 10_000, 9000), nil, false, 0},
		{"unusable battery", gridmesh.Flexibility{MinW: 10}, loads, false, 0},
		{"full battery: everything runs", batt(5000, 10_000, 9000), loads, true, 0},
		{"half full, 1.8 kWh for the critical load: the car waits", batt(5000, 10_000, 6000), loads, true, gridmesh.ShedEV},
		{"low: the heat pump too", batt(5000, 10_000, 4000), loads, true, gridmesh.ShedEV | gridmesh.ShedHeatPump},
	} {
		sp, ok := LocalIsland(DefaultIslandConfig(), "h", tc.battery, tc.loads)
		if ok != tc.ok || ok && (!sp.Island || sp.Home != "h" || sp.Shed != tc.shed) {
			t.Errorf("%s: %+v ok %v", tc.name, sp, ok)
		}
	}
}

func TestDeadBus(t *testing.T) {
	for _, tc := range []struct {
		m       gridmesh.MeterReading
		meterOK bool
		want    bool
	}{
		{gridmesh.MeterReading{}, true, true},
		{gridmesh.MeterReading{VoltageV: 230}, true, false},               // islanded but live
		{gridmesh.MeterReading{GridOK: true}, true, false},                // a meter without voltage
		{gridmesh.MeterReading{}, false, false},                           // no meter
		{gridmesh.MeterReading{GridOK: true, VoltageV: 230}, true, false}, // on the grid
	} {
		if got := DeadBus(tc.m, tc.meterOK); got != tc.want {
			t.Errorf("%+v ok %v: %v, want %v", tc.m, tc.meterOK, got, tc.want)
		}
	}
}

func TestIslandSourceOf(t *testing.T) {
	for _, tc := range []struct {
		islandSP, meterOK, gridOK, active bool
		want                              IslandSource
	}{
		{true, true, false, false, IslandFromPlan},
		{true, true, true, true, IslandFromPlan}, // the plan rules, whatever the meter says
		{false, true, false, false, IslandAlone},
		{false, true, false, true, IslandAlone},
		{false, false, false, false, IslandKeep}, // no meter: no island of one
		{false, true, true, false, IslandKeep},
		{false, true, true, true, IslandRestore},
		{false, false, false, true, IslandRestore},
	} {
		if got := IslandSourceOf(tc.islandSP, tc.meterOK, tc.gridOK, tc.active); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc, got, tc.want)
		}
	}
}

func TestIslandTargetsOf(t *testing.T) {
	car := &gridmesh.ChargerState{Connected: true, MinW: 1400, MaxW: 11_000}
	for _, tc := range []struct {
		name    string
		sp      gridmesh.Setpoint
		charger *gridmesh.ChargerState
		want    IslandTargets
	}{
		{"restore", RestoreSetpoint(), car, IslandTargets{PVLimitW: gridmesh.MaxHomePowerW, ChargerW: 11_000}},
		{"island: the car at its least", gridmesh.Setpoint{Island: true, PVLimitW: 2000}, car, IslandTargets{PVLimitW: 2000, ChargerW: 1400}},
		{"island, EV shed", gridmesh.Setpoint{Island: true, PVLimitW: 2000, Shed: gridmesh.ShedEV}, car,
			IslandTargets{PVLimitW: 2000, Shed: gridmesh.ShedEV}},
		{"island, others shed", gridmesh.Setpoint{Island: true, Shed: gridmesh.ShedOther | gridmesh.ShedHeatPump}, car,
			IslandTargets{ChargerW: 1400, ShedOther: true, Shed: gridmesh.ShedOther | gridmesh.ShedHeatPump}},
		{"no charger reading", gridmesh.Setpoint{Island: true}, nil, IslandTargets{}},
		{"island, the home disconnected", gridmesh.Setpoint{Island: true, Shed: 0xf}, car,
			IslandTargets{ShedOther: true, DisconnectCritical: true, Shed: 0xf}},
		{"disconnect outside an island plan: never", gridmesh.Setpoint{Shed: gridmesh.ShedCritical}, nil,
			IslandTargets{Shed: gridmesh.ShedCritical}},
	} {
		if got := IslandTargetsOf(tc.sp, tc.charger); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestThermostat(t *testing.T) {
	hp := func(indoorC float64) gridmesh.HeatPumpState {
		return gridmesh.HeatPumpState{MaxW: 3000, IndoorC: indoorC, BandLowC: 19, BandHighC: 21} // middle 20 °C
	}
	for _, tc := range []struct {
		name   string
		hp     gridmesh.HeatPumpState
		shed   gridmesh.ShedFlags
		wasOn  bool
		on     bool
		powerW gridmesh.W
	}{
		{"cold: on", hp(19.7), 0, false, true, 3000},
		{"warm: off", hp(20.3), 0, true, false, 0},
		{"in the gap, was on: stays on", hp(20.2), 0, true, true, 3000},
		{"in the gap, was off: stays off", hp(19.8), 0, false, false, 0},
		{"at the gap's edge: unchanged", hp(19.75), 0, false, false, 0},
		{"shed: off even below the band", hp(17), gridmesh.ShedHeatPump, true, false, 0},
		{"another class shed: heats", hp(17), gridmesh.ShedEV, false, true, 3000},
	} {
		on, w := Thermostat(tc.hp, tc.shed, tc.wasOn)
		if on != tc.on || w != tc.powerW {
			t.Errorf("%s: on %v at %v, want %v at %v", tc.name, on, w, tc.on, tc.powerW)
		}
	}
}
