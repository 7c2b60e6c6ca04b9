package control

import (
	"testing"

	"github.com/gridmesh/gridmesh"
)

// The four phases of BalanceIsland, each on its own.

func TestIslandStore(t *testing.T) {
	cfg := DefaultIslandConfig() // CriticalReserveHours 6
	for _, tc := range []struct {
		name         string
		homes        []IslandHome
		stored, free float64
	}{
		{"no battery", []IslandHome{{Home: "a", CriticalW: 500}}, 1, 1},
		{"half full, no critical", []IslandHome{{Home: "a", Battery: batt(5000, 10_000, 5000)}}, 0.5, 0.5},
		// 500 W for 6 h keeps 3 kWh of the 5 kWh held: 2 of 10 kWh free.
		{"critical keeps its hours", []IslandHome{{Home: "a", Battery: batt(5000, 10_000, 5000), CriticalW: 500}}, 0.5, 0.2},
		{"critical beyond the store", []IslandHome{{Home: "a", Battery: batt(5000, 10_000, 1000), CriticalW: 1000}}, 0.1, 0},
		{"two homes pooled", []IslandHome{
			{Home: "a", Battery: batt(5000, 10_000, 10_000)},
			{Home: "b", Battery: batt(5000, 30_000, 10_000)},
		}, 0.5, 0.5},
	} {
		stored, free := islandStore(cfg, tc.homes)
		if !near(gridmesh.W(stored), gridmesh.W(tc.stored)) || !near(gridmesh.W(free), gridmesh.W(tc.free)) {
			t.Errorf("%s: stored %v free %v, want %v and %v", tc.name, stored, free, tc.stored, tc.free)
		}
	}
}

func TestShedForEnergy(t *testing.T) {
	cfg := DefaultIslandConfig() // EV 0.50/0.60, heat pump 0.30/0.40, other 0.15/0.25
	loaded := IslandHome{Home: "a", Battery: batt(5000, 10_000, 5000), CriticalW: 200, EVW: 1400, HeatPumpW: 2000, OtherW: 300, PVW: 100}
	prevAll := loaded
	prevAll.Shed = Shed{EV: true, HeatPump: true, Other: true}
	for _, tc := range []struct {
		name  string
		home  IslandHome
		free  float64
		shed  [numClasses]bool
		needW gridmesh.W
	}{
		{"full: all served", loaded, 1, [numClasses]bool{}, 200 + 1400 + 2000 + 300},
		{"below the EV band", loaded, 0.45, [numClasses]bool{true, false, false}, 200 + 2000 + 300},
		{"below the heat pump band", loaded, 0.25, [numClasses]bool{true, true, false}, 200 + 300},
		{"below every band", loaded, 0.10, [numClasses]bool{true, true, true}, 200},
		{"inside the bands, shed before: stays shed", prevAll, 0.55, [numClasses]bool{true, false, false}, 200 + 2000 + 300},
		{"above the bands, shed before: restored", prevAll, 0.65, [numClasses]bool{}, 200 + 1400 + 2000 + 300},
	} {
		e := shedForEnergy(cfg, []IslandHome{tc.home}, bandShed(cfg, tc.free))
		if e.shed[0] != tc.shed || e.needW != tc.needW {
			t.Errorf("%s: shed %v need %v, want %v and %v", tc.name, e.shed[0], e.needW, tc.shed, tc.needW)
		}
		if len(e.loads) != 3 || e.pvW != 100 || e.dischargeMaxW != 5000 || e.chargeMaxW != 5000 || e.criticalW != 200 || e.nonCriticalW != 3700 {
			t.Errorf("%s: sums %+v", tc.name, e)
		}
	}
}

func TestShedForPower(t *testing.T) {
	const m = 0.1
	for _, tc := range []struct {
		name   string
		supply gridmesh.W // PV, no battery
		loads  []islandLoad
		want   [][numClasses]bool
	}{
		{"enough: nothing shed", 5000, []islandLoad{{0, 0, 1000, false}, {0, 1, 1000, false}}, [][numClasses]bool{{}}},
		{"EV first", 1500, []islandLoad{{0, 0, 1000, false}, {0, 1, 1000, false}}, [][numClasses]bool{{true, false, false}}},
		{"then the heat pump", 500, []islandLoad{{0, 0, 1000, false}, {0, 1, 1000, false}}, [][numClasses]bool{{true, true, false}}},
		{"largest EV first", 2500, []islandLoad{{0, 0, 1000, false}, {1, 0, 2000, false}}, [][numClasses]bool{{}, {true, false, false}}},
		{"a load coming back goes first", 2500, []islandLoad{{0, 0, 1000, true}, {1, 0, 2000, false}}, [][numClasses]bool{{true, false, false}, {}}},
	} {
		e := &islandEnergy{shed: make([][numClasses]bool, len(tc.want)), loads: tc.loads, pvW: tc.supply}
		for _, l := range tc.loads {
			e.needW += l.w
			if l.prev {
				e.marginW += m * l.w
			}
		}
		shedForPower(e, m)
		for i := range tc.want {
			if e.shed[i] != tc.want[i] {
				t.Errorf("%s: home %d shed %v, want %v", tc.name, i, e.shed[i], tc.want[i])
			}
		}
	}
}

func TestSpreadSurplus(t *testing.T) {
	for _, tc := range []struct {
		name      string
		homes     []IslandHome
		shedEV    bool // the one EV load is shed coming in
		batteryW  []gridmesh.W
		curtailW  gridmesh.W
		evServed  bool
		pvW, need gridmesh.W // need: the critical load, the served load coming in
	}{
		{"charges by room left", []IslandHome{
			{Home: "a", Battery: batt(5000, 10_000, 9000), CriticalW: 500},
			{Home: "b", Battery: batt(5000, 10_000, 7000), CriticalW: 500},
		}, false, []gridmesh.W{500, 1500}, 0, false, 3000, 1000},
		{"full batteries: curtail", []IslandHome{{Home: "a", Battery: batt(5000, 10_000, 10_000), CriticalW: 1000}}, false, []gridmesh.W{0}, 2000, false, 3000, 1000},
		{"a shed EV served from what the battery cannot take", []IslandHome{{Home: "a", Battery: batt(1000, 10_000, 5000), CriticalW: 1000, EVW: 1400}}, true, []gridmesh.W{1000}, 600, true, 4000, 1000},
	} {
		e := &islandEnergy{shed: make([][numClasses]bool, len(tc.homes)), pvW: tc.pvW}
		for _, h := range tc.homes {
			e.chargeMaxW += h.Battery.MaxW
		}
		if tc.shedEV {
			e.shed[0][0] = true
			e.loads = []islandLoad{{0, 0, 1400, false}}
		}
		b, curtail := spreadSurplus(tc.homes, e, tc.need, 0.1)
		for i := range b {
			if !near(b[i], tc.batteryW[i]) {
				t.Errorf("%s: battery %d at %v, want %v", tc.name, i, b[i], tc.batteryW[i])
			}
		}
		if !near(curtail, tc.curtailW) || tc.shedEV && e.shed[0][0] == tc.evServed {
			t.Errorf("%s: curtail %v (want %v), EV shed %v", tc.name, curtail, tc.curtailW, e.shed[0][0])
		}
	}
}

func TestCoverDeficit(t *testing.T) {
	cfg := DefaultIslandConfig() // ReserveFraction 0.15
	two := []IslandHome{
		{Home: "a", Battery: batt(5000, 10_000, 2500)}, // 1 kWh above the reserve
		{Home: "b", Battery: batt(5000, 10_000, 4500)}, // 3 kWh above
	}
	for _, tc := range []struct {
		name     string
		homes    []IslandHome
		deficit  gridmesh.W
		batteryW []gridmesh.W
		unserved gridmesh.W
	}{
		{"by energy above the reserve", two, 2000, []gridmesh.W{-500, -1500}, 0},
		{"capped by power, the rest unserved", two, 12_000, []gridmesh.W{-5000, -5000}, 2000},
		{"at the reserve: by what they hold", []IslandHome{
			{Home: "a", Battery: batt(5000, 10_000, 1000)},
			{Home: "b", Battery: batt(5000, 10_000, 500)},
		}, 1500, []gridmesh.W{-1000, -500}, 0},
	} {
		var dischargeMax gridmesh.W
		for _, h := range tc.homes {
			dischargeMax -= h.Battery.MinW
		}
		b, unserved := coverDeficit(cfg, tc.homes, tc.deficit, dischargeMax)
		for i := range b {
			if !near(b[i], tc.batteryW[i]) {
				t.Errorf("%s: battery %d at %v, want %v", tc.name, i, b[i], tc.batteryW[i])
			}
		}
		if !near(unserved, tc.unserved) {
			t.Errorf("%s: unserved %v, want %v", tc.name, unserved, tc.unserved)
		}
	}
}
