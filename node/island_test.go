package node

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

func report(home string, islanded bool, soc float64, critical, ev, pv gridmesh.W) gridmesh.Telemetry {
	cap := gridmesh.Wh(10_000)
	return gridmesh.Telemetry{
		Version: gridmesh.WireVersion, Home: gridmesh.HomeID(home), Neighborhood: "n",
		BaseW: critical + ev - pv,
		Battery: gridmesh.Flexibility{MinW: -5000, MaxW: 5000, SoC: soc, CapacityWh: cap,
			ChargeWh: cap * gridmesh.Wh(1-soc), DischargeWh: cap * gridmesh.Wh(soc)},
		Loads: &gridmesh.HomeLoads{Islanded: islanded, CriticalW: critical, EVW: ev, OtherW: 100, PVAvailableW: pv, PVW: pv},
	}
}

func TestIslandedNeedsHalfTheReports(t *testing.T) {
	for _, tc := range []struct {
		islanded, of int
		want         bool
	}{{0, 3, false}, {1, 3, false}, {2, 3, true}, {1, 2, true}, {0, 0, false}} {
		var rs []gridmesh.Telemetry
		for i := range tc.of {
			rs = append(rs, report(fmt.Sprintf("h%d", i), i < tc.islanded, 0.5, 300, 0, 0))
		}
		if got := control.Islanded(rs); got != tc.want {
			t.Errorf("%d of %d islanded: %v, want %v", tc.islanded, tc.of, got, tc.want)
		}
	}
}

// Property: an island plan's net imports sum to the unserved critical
// load (0 while the island suffices), every setpoint is an island one
// that validates, and at a low store the EVs are shed first.
func TestPlanIslandBalances(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 2))
	for trial := range 300 {
		var rs []gridmesh.Telemetry
		soc := rng.Float64()
		for i := range 1 + rng.IntN(12) {
			rs = append(rs, report(fmt.Sprintf("h%02d", i), true, soc,
				gridmesh.W(100+rng.Float64()*800), gridmesh.W(rng.IntN(2))*1400, gridmesh.W(rng.Float64()*4000)))
		}
		sps, unserved, ok, err := (&Node{}).planIsland(time.Unix(0, 0), rs)
		if err != nil || !ok {
			t.Fatalf("trial %d: ok %v err %v", trial, ok, err)
		}
		var sum gridmesh.W
		for _, s := range sps {
			sum += s.NetW
			if !s.Island {
				t.Fatalf("trial %d: setpoint %+v not in island mode", trial, s)
			}
		}
		if math.Abs(float64(sum-unserved)) > 1e-6*float64(len(sps))*1000 {
			t.Fatalf("trial %d: net imports sum to %v, unserved %v", trial, sum, unserved)
		}
		p := gridmesh.Plan{Version: gridmesh.WireVersion, Neighborhood: "n", LeaseMs: 3000, Setpoints: sps}
		if err := p.Validate(); err != nil {
			t.Fatalf("trial %d: plan invalid: %v", trial, err)
		}
		if soc < 0.5 {
			for _, s := range sps {
				if s.Shed&gridmesh.ShedEV == 0 {
					// a home with no EV load reports none to shed
					if r := rs[indexOfHome(rs, s.Home)]; r.Loads.EVW > 0 {
						t.Fatalf("trial %d: store at %.2f but %s's EV not shed", trial, soc, s.Home)
					}
				}
			}
		}
	}
	// Not islanded: no island plan.
	if _, _, ok, _ := (&Node{}).planIsland(time.Unix(0, 0), []gridmesh.Telemetry{report("a", false, 0.5, 1, 0, 0)}); ok {
		t.Fatal("island plan on the grid")
	}
}

func indexOfHome(rs []gridmesh.Telemetry, h gridmesh.HomeID) int {
	for i, r := range rs {
		if r.Home == h {
			return i
		}
	}
	return -1
}

func TestHomeLoadsOf(t *testing.T) {
	snap := &loopSnapshot{
		MeterOK: true, GridOK: false,
		Loads:    &gridmesh.LoadState{CriticalW: 200, NonCriticalW: 150},
		Charger:  &gridmesh.ChargerState{Connected: true, WantedWh: 5000, MinW: 1400, MaxW: 11000},
		HeatPump: &gridmesh.HeatPumpState{MaxW: 3000, IndoorC: 19, BandLowC: 19, BandHighC: 21},
		PV:       &gridmesh.PVState{PowerW: 800, AvailableW: 1200, LimitW: 800, PeakW: 4000},
	}
	l := homeLoadsOf(snap, gridmesh.ShedOther)
	want := gridmesh.HomeLoads{Islanded: true, CriticalW: 200, OtherW: 150, EVW: 1400, HeatPumpW: 3000, PVAvailableW: 1200, PVW: 800, Shed: gridmesh.ShedOther}
	if l == nil || *l != want {
		t.Fatalf("loads %+v, want %+v", l, want)
	}
	if homeLoadsOf(&loopSnapshot{}, 0) != nil {
		t.Fatal("loads reported without a loads reading")
	}
	if !control.DeadBus(gridmesh.MeterReading{}, true) || control.DeadBus(gridmesh.MeterReading{VoltageV: 230}, true) || control.DeadBus(gridmesh.MeterReading{}, false) {
		t.Fatal("dead bus misjudged")
	}
}

// Before the peak, each battery keeps its capacity share of the reserve:
// a battery holding no more than its share may not discharge.
func TestHoldReserve(t *testing.T) {
	homes := []control.HomeState{
		{Home: "a", Battery: gridmesh.Flexibility{MinW: -5000, MaxW: 5000, CapacityWh: 10_000, DischargeWh: 2_000}},
		{Home: "b", Battery: gridmesh.Flexibility{MinW: -5000, MaxW: 5000, CapacityWh: 30_000, DischargeWh: 20_000}},
	}
	out := control.HoldReserve(homes, 12_000) // shares: 3 kWh and 9 kWh
	if out[0].Battery.MinW != 0 || out[0].Battery.DischargeWh != 0 {
		t.Fatalf("a holds less than its share but may discharge: %+v", out[0].Battery)
	}
	if out[1].Battery.MinW != -5000 || out[1].Battery.DischargeWh != 11_000 {
		t.Fatalf("b: %+v, want 11 kWh above its share", out[1].Battery)
	}
	if homes[0].Battery.MinW != -5000 {
		t.Fatal("input modified")
	}
	if got := control.HoldReserve(homes, 0); got[0] != homes[0] {
		t.Fatal("no reserve changed a home")
	}
}

// The reserve ahead of the peak covers the forecast evening deficit from
// three days of history, and is asked only within the lookahead.
func TestReserveAheadOfPeak(t *testing.T) {
	cfg := DefaultReserveConfig(control.PVModel{LatitudeDeg: 52, PeakW: 10_000})
	var h forecastHistory
	day0 := time.Date(2026, 1, 12, 0, 0, 0, 0, time.UTC)
	for at := day0; at.Before(day0.Add(72 * time.Hour)); at = at.Add(control.HistoryStep) {
		load := gridmesh.W(500)
		if hr := at.Hour(); hr >= 17 && hr < 21 {
			load = 3000
		}
		h.Add(at, load, 0)
	}
	now := day0.Add(72*time.Hour + 14*time.Hour) // 14:00, 3 h before the peak
	r, err := h.ReserveWh(cfg, now, 20_000)
	if err != nil {
		t.Fatal(err)
	}
	want := 3000 * 4 / math.Sqrt(0.9) // 4 h at 3 kW, after discharge losses
	if math.Abs(float64(r)-want) > 0.05*want {
		t.Fatalf("reserve %v Wh, want about %v", r, want)
	}
	if _, err := h.ReserveWh(cfg, day0.Add(72*time.Hour+8*time.Hour), 20_000); err == nil {
		t.Fatal("reserve asked 9 h before the peak, lookahead 6 h")
	}
}
