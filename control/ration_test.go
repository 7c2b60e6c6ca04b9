package control_test

import (
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
	"github.com/gridmesh/gridmesh/control"
)

// rationHome is a home with a battery of full (deliverable) energy
// full, holding stored, and power limits of p each way.
func rationHome(id string, full, stored, p gridmesh.W, rt float64) control.IslandHome {
	return control.IslandHome{Home: gridmesh.HomeID(id), Battery: gridmesh.Flexibility{
		MinW: -p, MaxW: p, CapacityWh: gridmesh.Wh(full), DischargeWh: gridmesh.Wh(stored),
		ChargeWh: gridmesh.Wh(float64(full-stored) / rt), SoC: float64(stored / max(full, 1)),
	}, CanDisconnect: true}
}

func hourly(ws ...gridmesh.W) []gridmesh.W { return ws }

func TestCriticalReserveByHand(t *testing.T) {
	cfg := control.RationConfig{Step: 60 * 60e9, RestoreSteps: 1, RoundTrip: 1}
	h := rationHome("h1", 10_000, 5000, 2000, 1)
	for name, tc := range map[string]struct {
		fc   control.IslandForecast
		want []gridmesh.Wh
	}{
		"a night: every deficit summed":  {control.IslandForecast{CriticalW: hourly(500, 500, 500), PVW: hourly(0, 0, 0)}, []gridmesh.Wh{1500, 1000, 500, 0}},
		"morning PV refills":             {control.IslandForecast{CriticalW: hourly(500, 500, 0), PVW: hourly(0, 1500, 0)}, []gridmesh.Wh{500, 0, 0, 0}},
		"PV before the night saves none": {control.IslandForecast{CriticalW: hourly(0, 800), PVW: hourly(1500, 0)}, []gridmesh.Wh{0, 800, 0}},
		"beyond the batteries' power":    {control.IslandForecast{CriticalW: hourly(3000), PVW: hourly(0)}, []gridmesh.Wh{2000, 0}},
		"never more than full":           {control.IslandForecast{CriticalW: hourly(2000, 2000, 2000, 2000, 2000, 2000), PVW: make([]gridmesh.W, 6)}, []gridmesh.Wh{10_000, 10_000, 8000, 6000, 4000, 2000, 0}},
	} {
		got := control.CriticalReserve(cfg, []control.IslandHome{h}, tc.fc)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: reserve %v, want %v", name, got, tc.want)
		}
	}
}

func TestPlanRationByHand(t *testing.T) {
	cfg := control.RationConfig{Step: 60 * 60e9, RestoreSteps: 3, RoundTrip: 1}
	loaded := func(stored gridmesh.W, shed control.Shed) control.IslandHome {
		h := rationHome("h1", 10_000, stored, 5000, 1)
		h.CriticalW, h.OtherW, h.HeatPumpW, h.EVW, h.Shed = 500, 300, 1000, 1400, shed
		return h
	}
	night := control.IslandForecast{CriticalW: hourly(500, 500, 500, 500, 500, 500, 500, 500), PVW: make([]gridmesh.W, 8)} // reserve 4 kWh
	all := control.Shed{EV: true, HeatPump: true, Other: true}
	for name, tc := range map[string]struct {
		home control.IslandHome
		want control.Shed // served classes
	}{
		"plenty: everything runs":                       {loaded(9000, control.Shed{}), control.Shed{EV: true, HeatPump: true, Other: true}},
		"room for others and the heat pump":             {loaded(5400, control.Shed{}), control.Shed{HeatPump: true, Other: true}},
		"room for others only":                          {loaded(4400, control.Shed{}), control.Shed{Other: true}},
		"short of the night: nothing but critical":      {loaded(3000, control.Shed{}), control.Shed{}},
		"shed before: back only with three hours' room": {loaded(4400, all), control.Shed{}},
		"shed before, three hours' room: back":          {loaded(5000, all), control.Shed{Other: true}},
	} {
		plan := control.PlanRation(cfg, []control.IslandHome{tc.home}, night)
		if plan.Serve != tc.want {
			t.Errorf("%s: serves %+v, want %+v (reserve %v, stored %v)", name, plan.Serve, tc.want, plan.ReserveWh[0], plan.StoredWh)
		}
	}
}

// feederRun is a random islanded feeder over steps of a quarter hour:
// per step and home its critical load, non-critical loads and PV.
type feederRun struct {
	homes                []control.IslandHome // the start
	full                 []gridmesh.W
	crit, pv, ev, hp, ot [][]gridmesh.W // [step][home]
}

const ( // the property test's step and round trip
	simStepH = 0.25
	simRT    = 0.9
)

func randomFeeder(rng *mrand.Rand) feederRun {
	n, steps := 1+rng.IntN(4), 8+rng.IntN(56)
	var f feederRun
	for i := range n {
		full := gridmesh.W(rng.Float64() * 15_000)
		if rng.IntN(5) == 0 {
			full = 0
		}
		f.full = append(f.full, full)
		f.homes = append(f.homes, rationHome(fmt.Sprintf("h%d", i), full, full*gridmesh.W(rng.Float64()), gridmesh.W(500+rng.Float64()*4500), simRT))
		f.homes[i].CanDisconnect = rng.IntN(4) > 0 // a quarter of the homes have no contactor
	}
	sunUp, sunDown := rng.IntN(steps), rng.IntN(steps)
	for s := range steps {
		row := func(scale float64, p float64) []gridmesh.W {
			r := make([]gridmesh.W, n)
			for i := range r {
				if rng.Float64() < p {
					r[i] = gridmesh.W(rng.Float64() * scale)
				}
			}
			return r
		}
		pvScale := 0.0
		if s >= min(sunUp, sunDown) && s < max(sunUp, sunDown) {
			pvScale = 6000
		}
		f.crit = append(f.crit, row(1500, 1))
		f.pv = append(f.pv, row(pvScale, 0.9))
		f.ev, f.hp, f.ot = append(f.ev, row(3000, 0.3)), append(f.hp, row(2500, 0.5)), append(f.ot, row(800, 0.8))
	}
	return f
}

// simulate runs the feeder under policy and returns the critical energy
// served, Wh. Batteries may not discharge beyond what they hold nor
// charge beyond full within the step. With collapse, a step whose
// decision leaves critical load unserved (the island's sources fall
// short of what its lit homes draw) is dark: as a shared feeder does, it
// serves nothing and its batteries do not move.
func (f feederRun) simulate(t testing.TB, collapse bool, policy func(step int, hs []control.IslandHome) control.IslandResult) float64 {
	hs := append([]control.IslandHome(nil), f.homes...)
	served := 0.0
	for s := range f.crit {
		for i := range hs {
			b := &hs[i].Battery
			stored := float64(b.DischargeWh)
			b.ChargeWh = gridmesh.Wh((float64(f.full[i]) - stored) / simRT)
			b.MinW = -gridmesh.W(min(float64(-f.homes[i].Battery.MinW), stored/simStepH))
			b.MaxW = gridmesh.W(min(float64(f.homes[i].Battery.MaxW), float64(b.ChargeWh)/simStepH))
			hs[i].CriticalW, hs[i].PVAvailableW, hs[i].PVW = f.crit[s][i], f.pv[s][i], f.pv[s][i]
			hs[i].EVW, hs[i].HeatPumpW, hs[i].OtherW = f.ev[s][i], f.hp[s][i], f.ot[s][i]
		}
		res := policy(s, hs)
		dark := collapse && res.Balance.UnservedW > 1e-9
		if !dark {
			served += float64(res.Balance.ServedCriticalW) * simStepH
		}
		for _, sp := range res.Setpoints {
			i := int(sp.Home[1] - '0')
			hs[i].Shed = sp.Shed
			if dark {
				continue
			}
			b := &hs[i].Battery
			if sp.BatteryW < 0 {
				b.DischargeWh = max(b.DischargeWh+gridmesh.Wh(float64(sp.BatteryW)*simStepH), 0)
			} else {
				b.DischargeWh = min(b.DischargeWh+gridmesh.Wh(float64(sp.BatteryW)*simStepH*simRT), gridmesh.Wh(f.full[i]))
			}
		}
		if len(res.Setpoints) != len(hs) {
			t.Fatalf("step %d: %d setpoints for %d homes", s, len(res.Setpoints), len(hs))
		}
	}
	return served
}

// forecastFrom is the feeder's perfect forecast from step s to its end,
// per home too (loads, PV, the batteries' rated power and full energy).
func (f feederRun) forecastFrom(s int) control.IslandForecast {
	var fc control.IslandForecast
	for i, h := range f.homes {
		fc.Homes = append(fc.Homes, control.HomeForecast{Home: h.Home, DischargeW: -h.Battery.MinW, ChargeW: h.Battery.MaxW, FullWh: gridmesh.Wh(f.full[i])})
	}
	for k := s; k < len(f.crit); k++ {
		var c, p gridmesh.W
		for i := range f.crit[k] {
			c, p = c+f.crit[k][i], p+f.pv[k][i]
			hf := &fc.Homes[i]
			hf.CriticalW, hf.PVW = append(hf.CriticalW, f.crit[k][i]), append(hf.PVW, f.pv[k][i])
			hf.EVW, hf.HeatPumpW, hf.OtherW = append(hf.EVW, f.ev[k][i]), append(hf.HeatPumpW, f.hp[k][i]), append(hf.OtherW, f.ot[k][i])
		}
		fc.CriticalW, fc.PVW = append(fc.CriticalW, c), append(fc.PVW, p)
	}
	return fc
}

// The deployed plan (DefaultRationConfig: disconnects on) never serves
// less critical energy than the present-tick balancer it replaces, on
// random feeders over random horizons, with forecasts that come true
// (per home). Energy is counted as a shared feeder delivers it: a step
// whose decision leaves any critical load unserved is dark as a whole
// (nothing served, no battery moves); batteries discharge at most
// min(rated, held/step) and charge at most min(rated, room/step).
func TestRationServesAtLeastTheBalancer(t *testing.T) {
	icfg := control.DefaultIslandConfig()
	rcfg := control.DefaultRationConfig()
	if rcfg.Step.Hours() != simStepH || rcfg.RoundTrip != simRT || !rcfg.DisconnectHomes {
		t.Fatalf("the feeders step %v h at a %v round trip, the default config %+v", simStepH, simRT, rcfg)
	}
	seed1, seed2 := uint64(14), uint64(2)
	t.Logf("seed %d, %d", seed1, seed2)
	rng := mrand.New(mrand.NewPCG(seed1, seed2))
	better := 0
	for k := range 400 {
		f := randomFeeder(rng)
		balanced := f.simulate(t, true, func(_ int, hs []control.IslandHome) control.IslandResult {
			res, err := control.BalanceIsland(icfg, hs)
			if err != nil {
				t.Fatal(err)
			}
			return res
		})
		rationed := f.simulate(t, true, func(s int, hs []control.IslandHome) control.IslandResult {
			res, _, err := control.RationIsland(icfg, rcfg, hs, f.forecastFrom(s))
			if err != nil {
				t.Fatal(err)
			}
			return res
		})
		if rationed < balanced-1e-6*(1+balanced) {
			t.Fatalf("feeder %d (%d homes, %d steps): rationed %.3f Wh of critical load, the balancer %.3f", k, len(f.homes), len(f.crit), rationed, balanced)
		}
		if rationed > balanced+1 {
			better++
		}
	}
	t.Logf("rationing served more critical energy on %d of 400 feeders", better)
}

func TestRationIsDeterministicAndOrderFree(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	f := randomFeeder(rng)
	icfg, rcfg := control.DefaultIslandConfig(), control.DefaultRationConfig()
	hs := append([]control.IslandHome(nil), f.homes...)
	for i := range hs {
		hs[i].CriticalW, hs[i].OtherW, hs[i].PVAvailableW = f.crit[0][i], f.ot[0][i], f.pv[0][i]
	}
	a, pa, err := control.RationIsland(icfg, rcfg, hs, f.forecastFrom(0))
	if err != nil {
		t.Fatal(err)
	}
	rev := append([]control.IslandHome(nil), hs...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	b, pb, _ := control.RationIsland(icfg, rcfg, rev, f.forecastFrom(0))
	if fmt.Sprint(a, pa) != fmt.Sprint(b, pb) {
		t.Errorf("order changed the decision:\n%v %v\n%v %v", a, pa, b, pb)
	}
}

func TestRationConfigValidate(t *testing.T) {
	if err := control.DefaultRationConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []control.RationConfig{{}, {Step: 1, RestoreSteps: 0, RoundTrip: 1}, {Step: 1, RestoreSteps: 1, RoundTrip: math.NaN()}, {Step: 1, RestoreSteps: 1, RoundTrip: 1.1}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// Without an announced length, the horizon of an outage that starts on a
// winter evening at 52° N reaches the next morning's PV, and the reserve
// covers the whole night's critical load.
func TestDefaultHorizonReachesTheMorning(t *testing.T) {
	cfg := control.DefaultRationConfig()
	pv := control.PVModel{LatitudeDeg: 52, LongitudeDeg: 0, PeakW: 3500}
	var h control.ForecastHistory
	start := time.Date(2026, 1, 15, 18, 20, 0, 0, time.UTC)
	for at := start.Add(-3 * 24 * time.Hour); at.Before(start); at = at.Add(cfg.Step) {
		h.Add(at, 400, pv.ClearSkyW(at)/2)
	}
	fc := control.ForecastIsland(&h, pv, start, control.DefaultRationHorizon, cfg)
	sunrise := -1
	for i, w := range fc.PVW {
		if w > 400 {
			sunrise = i
			break
		}
	}
	if sunrise < 0 {
		t.Fatalf("no PV above the critical load within the %v horizon from %v", control.DefaultRationHorizon, start)
	}
	home := rationHome("h1", 100_000, 100_000, 5000, 0.9)
	reserve := control.CriticalReserve(cfg, []control.IslandHome{home}, fc)
	night := gridmesh.Wh(400 * float64(sunrise) * cfg.Step.Hours())
	if reserve[0] < night {
		t.Errorf("reserve at %v is %v Wh, short of the %v Wh the night's critical load needs until %v", start, reserve[0], night, start.Add(time.Duration(sunrise)*cfg.Step))
	}
}

// nightHomes are three homes of 400, 500 and 600 W of critical load on
// one 20 kWh pool (the first home's battery), the second off last time
// when offBefore.
func nightHomes(stored gridmesh.W, offBefore bool) []control.IslandHome {
	hs := []control.IslandHome{rationHome("h1", 20_000, stored, 5000, 1), rationHome("h2", 0, 0, 0, 1), rationHome("h3", 0, 0, 0, 1)}
	for i, w := range []gridmesh.W{400, 500, 600} {
		hs[i].CriticalW, hs[i].OtherW = w, 100
	}
	hs[1].Shed.Critical = offBefore
	return hs
}

func cannot(hs []control.IslandHome, i int) []control.IslandHome {
	hs[i].CanDisconnect = false
	return hs
}

func withPV(hs []control.IslandHome, w gridmesh.W) []control.IslandHome {
	hs[0].PVAvailableW = w
	return hs
}

func withPower(hs []control.IslandHome, w gridmesh.W) []control.IslandHome {
	hs[0].Battery.MinW, hs[0].Battery.MaxW = -w, w
	return hs
}

func TestPlanRationDisconnectsByHand(t *testing.T) {
	cfg := control.RationConfig{Step: 60 * 60e9, RestoreSteps: 3, RoundTrip: 1, DisconnectHomes: true}
	// Two evening hours of 1.5 kW, six small hours of 600 W: 6.6 kWh
	// for every home.
	night := control.IslandForecast{CriticalW: hourly(1500, 1500, 600, 600, 600, 600, 600, 600), PVW: make([]gridmesh.W, 8)}
	even := control.IslandForecast{CriticalW: hourly(1500, 1500, 1500, 1500, 1500, 1500, 1500, 1500), PVW: make([]gridmesh.W, 8)}
	// An evening hour and three small ones, then PV enough for all, then
	// a night again: a disconnect decides over the first night only.
	morning := control.IslandForecast{CriticalW: hourly(1500, 600, 600, 600, 1500, 1500, 1500, 1500), PVW: hourly(0, 0, 0, 0, 2000, 0, 0, 0)}
	guessed := night
	guessed.Guessed = []bool{false, false, true, true, false, false, false, false} // two of seven steps ahead: more than a quarter
	fewGuessed := night
	fewGuessed.Guessed = []bool{true, true, false, false, false, false, false, false} // the present (measured) and one of seven
	dawn := control.IslandForecast{CriticalW: hourly(1500, 1500, 1500), PVW: hourly(700, 0, 0)}
	for name, tc := range map[string]struct {
		homes []control.IslandHome
		fc    control.IslandForecast
		cfg   control.RationConfig
		want  string
	}{
		"the night carried: every home lit":               {nightHomes(6600, false), night, cfg, "[]"},
		"short: the small hours first, what is left now":  {nightHomes(4350, false), night, cfg, "[h3]"},
		"the small hours take it all: every home off now": {nightHomes(3600, false), night, cfg, "[h1 h2 h3]"},
		"off last time: lit homes kept first":             {nightHomes(4350, true), night, cfg, "[h2]"},
		"an even night: every home lit now, the surest":   {nightHomes(8000, false), even, cfg, "[]"},
		"empty, PV now: lit while the PV is not used":     {withPV(nightHomes(0, false), 700), dawn, cfg, "[h3]"},
		"a guessed night: none off for energy":            {nightHomes(3600, false), guessed, cfg, "[]"},
		"a step guessed: energy decides":                  {nightHomes(3600, false), fewGuessed, cfg, "[h1 h2 h3]"},
		"only until the PV returns":                       {nightHomes(2400, false), morning, cfg, "[h3]"},
		"power for two homes only: the largest off":       {withPower(nightHomes(20_000, false), 1000), night, cfg, "[h3]"},
		"disconnects not allowed":                         {nightHomes(3600, false), night, control.RationConfig{Step: cfg.Step, RestoreSteps: 3, RoundTrip: 1}, "[]"},
		"h3 cannot disconnect: lit first, h1 next":        {cannot(nightHomes(4350, false), 2), night, cfg, "[h2]"},
		"none can disconnect: every home lit":             {cannot(cannot(cannot(nightHomes(3600, false), 0), 1), 2), night, cfg, "[]"},
	} {
		plan := control.PlanRation(tc.cfg, tc.homes, tc.fc)
		if got := fmt.Sprint(plan.Disconnect); got != tc.want {
			t.Errorf("%s: disconnects %s, want %s (stored %v, reserve %v)", name, got, tc.want, plan.StoredWh, plan.ReserveWh[0])
		}
		if len(plan.Disconnect) > 0 && plan.Serve != (control.Shed{}) {
			t.Errorf("%s: serves %+v while homes are off", name, plan.Serve)
		}
	}
}

// A disconnected home draws nothing in the balance and sheds everything;
// its battery still serves the others; the critical load adds up.
func TestRationIslandDisconnectsHomes(t *testing.T) {
	cfg := control.RationConfig{Step: 60 * 60e9, RestoreSteps: 3, RoundTrip: 1, DisconnectHomes: true}
	night := control.IslandForecast{CriticalW: hourly(1500, 1500, 600, 600, 600, 600, 600, 600), PVW: make([]gridmesh.W, 8)}
	res, plan, err := control.RationIsland(control.DefaultIslandConfig(), cfg, nightHomes(4350, false), night)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(plan.Disconnect) != "[h3]" {
		t.Fatalf("disconnects %v, want [h3]", plan.Disconnect)
	}
	all := control.Shed{EV: true, HeatPump: true, Other: true, Critical: true}
	if sp := res.Setpoints[2]; sp.Shed != all || sp.NetW != 0 || sp.BatteryW != 0 {
		t.Errorf("disconnected home's setpoint %+v, want everything shed and nothing drawn", sp)
	}
	if sp := res.Setpoints[0]; sp.BatteryW != -900 || sp.Shed.Critical {
		t.Errorf("the battery's home %+v, want 900 W discharged for the two lit homes", sp)
	}
	b := res.Balance
	if b.CriticalW != 1500 || b.DisconnectedW != 600 || b.ServedCriticalW != 900 || b.UnservedW != 0 {
		t.Errorf("balance %+v, want 1500 W critical, 600 W of it disconnected, 900 W served", b)
	}
	if got := control.IslandSetpoints(res)[2].Shed; got != 0xf {
		t.Errorf("wire flags %#x, want every class and the critical load", got)
	}
}

// On random feeders, the plan with disconnects (PlanRation, whose
// decision the rollout takes when it serves the most): only homes whose
// loads can disconnect are left off, and only while the stored energy
// falls short of every home's reserve until the PV returns, or the power
// short of every home's critical load; the homes lit are within the
// power (unless the homes that cannot be off alone exceed it), and all
// of them the power allows while the energy suffices for
// every step of the night no heavier than the present one; in
// RationIsland's balance, whichever policy it takes, every critical watt
// is served, unserved or disconnected; and neither depends on order.
func TestDisconnectProperties(t *testing.T) {
	icfg := control.DefaultIslandConfig()
	rcfg := control.RationConfig{Step: 15 * 60e9, RestoreSteps: 4, RoundTrip: simRT, DisconnectHomes: true}
	rng := mrand.New(mrand.NewPCG(7, 11))
	off := 0
	for k := range 400 {
		f := randomFeeder(rng)
		hs := append([]control.IslandHome(nil), f.homes...)
		var totalW, maxW, pvW gridmesh.W
		for i := range hs {
			hs[i].CriticalW, hs[i].PVAvailableW, hs[i].OtherW = f.crit[0][i], f.pv[0][i], f.ot[0][i]
			hs[i].Shed.Critical = rng.IntN(3) == 0
			totalW, maxW, pvW = totalW+hs[i].CriticalW, max(maxW, hs[i].CriticalW), pvW+hs[i].PVAvailableW
		}
		fc := f.forecastFrom(0)
		res, taken, err := control.RationIsland(icfg, rcfg, hs, fc)
		if err != nil {
			t.Fatal(err)
		}
		plan := control.PlanRation(rcfg, hs, fc)
		var offW, fixedW gridmesh.W // off, and lit because they cannot be off
		for _, h := range hs {
			switch {
			case slices.Contains(plan.Disconnect, h.Home) && !h.CanDisconnect:
				t.Fatalf("feeder %d: %s off, and its loads cannot disconnect", k, h.Home)
			case slices.Contains(plan.Disconnect, h.Home):
				offW += h.CriticalW
			case !h.CanDisconnect:
				fixedW += h.CriticalW
			}
		}
		var powerW gridmesh.W
		for _, h := range hs {
			powerW -= h.Battery.MinW
		}
		powerW += pvW
		if len(plan.Disconnect) > 0 {
			off++
			if plan.StoredWh >= plan.ReserveWh[0] && totalW <= powerW {
				t.Fatalf("feeder %d: homes %v off with %v Wh stored for a reserve of %v and %v W of power for %v W", k, plan.Disconnect, plan.StoredWh, plan.ReserveWh[0], powerW, totalW)
			}
		}
		b := res.Balance
		if d := b.CriticalW - b.ServedCriticalW - b.UnservedW - b.DisconnectedW; math.Abs(float64(d)) > 1e-6 || b.CriticalW-totalW > 1e-6 || totalW-b.CriticalW > 1e-6 {
			t.Fatalf("feeder %d: balance %+v does not add up to %v W of critical load", k, b, totalW)
		}
		for t := 1; t < len(fc.CriticalW); t++ { // the disconnect's stretch: until the PV returns
			if fc.PVW[t] >= fc.CriticalW[t] {
				fc = control.IslandForecast{CriticalW: fc.CriticalW[:t], PVW: fc.PVW[:t]}
				break
			}
		}
		litW := totalW - offW
		if litW > powerW+1e-6 && litW > fixedW+1e-6 {
			t.Fatalf("feeder %d: %v W lit (%v W of homes that cannot be off), beyond the %v W the PV and batteries give", k, litW, fixedW, powerW)
		}
		// The energy to light every home in every step of the night no
		// heavier than the present one (the present step as it is now):
		// with that in store, every home the power allows is lit now.
		fc.CriticalW[0], fc.PVW[0] = totalW, pvW
		needWh := 0.0
		for t, c := range fc.CriticalW {
			if c <= totalW && c > 0 {
				free := min(fc.PVW[t], c)
				needWh += max(float64(min(c, fc.PVW[t]+powerW-pvW)-free), 0) * rcfg.Step.Hours()
			}
		}
		if needWh <= float64(plan.StoredWh)-1e-6 && litW < min(totalW, powerW)-maxW-1e-6 {
			t.Fatalf("feeder %d: %v W lit of %v W with %v Wh stored, %v Wh enough to light every home in the steps no heavier", k, litW, totalW, plan.StoredWh, needWh)
		}
		rev := append([]control.IslandHome(nil), hs...)
		slices.Reverse(rev)
		if _, p2, _ := control.RationIsland(icfg, rcfg, rev, f.forecastFrom(0)); fmt.Sprint(p2) != fmt.Sprint(taken) {
			t.Fatalf("feeder %d: order changed the decision: %v, %v", k, taken, p2)
		}
	}
	if off == 0 {
		t.Fatal("no random feeder had a home off: the property tested nothing")
	}
	t.Logf("homes off on %d of 400 feeders", off)
}

// BenchmarkDisconnectAgainstTheBalancer measures, on the property test's
// random feeders (forecasts that come true), how rationing with homes
// disconnected compares with the present-tick balancer: on how many of
// 400 feeders it serves less and more critical energy, and the served
// energy summed over all of them over the balancer's, counted as the
// classes' property counts it (a feeder short of power still serves its
// critical load in part: "partial") and as a shared feeder does (a step
// whose lit load the sources cannot carry is dark: "collapse").
func BenchmarkDisconnectAgainstTheBalancer(b *testing.B) {
	icfg := control.DefaultIslandConfig()
	rcfg := control.DefaultRationConfig()
	for range b.N {
		for _, collapse := range []bool{false, true} {
			rng := mrand.New(mrand.NewPCG(14, 2))
			worse, better, sumR, sumB := 0, 0, 0.0, 0.0
			for range 400 {
				f := randomFeeder(rng)
				balanced := f.simulate(b, collapse, func(_ int, hs []control.IslandHome) control.IslandResult {
					res, _ := control.BalanceIsland(icfg, hs)
					return res
				})
				rationed := f.simulate(b, collapse, func(s int, hs []control.IslandHome) control.IslandResult {
					res, _, _ := control.RationIsland(icfg, rcfg, hs, f.forecastFrom(s))
					return res
				})
				sumR, sumB = sumR+rationed, sumB+balanced
				if rationed < balanced-1e-6*(1+balanced) {
					worse++
				}
				if rationed > balanced+1 {
					better++
				}
			}
			name := map[bool]string{false: "partial", true: "collapse"}[collapse]
			b.ReportMetric(float64(worse), name+"_worse/400")
			b.ReportMetric(float64(better), name+"_better/400")
			b.ReportMetric(sumR/sumB, name+"_served/balancer")
		}
	}
}

// The island's forecast marks the steps it had no history of the same
// time of day for: all but one hour with an hour of history, none with days.
func TestForecastMarksGuesses(t *testing.T) {
	start := time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		history time.Duration
		prior   bool
		want    int
	}{
		{time.Hour, false, 96 - 4}, // an hour of history: the horizon's last hour, a day after it, is known
		{3 * 24 * time.Hour, false, 0},
		{time.Hour, true, 0},             // the rest from the prior, scaled to the hour's level
		{30 * time.Minute, true, 96 - 2}, // too little for the prior's level
		{3 * 24 * time.Hour, true, 0},
	} {
		cfg := control.DefaultRationConfig()
		cfg.LoadPrior = tc.prior
		var h control.ForecastHistory
		for at := start.Add(-tc.history); at.Before(start); at = at.Add(cfg.Step) {
			h.Add(at, 400, 0)
		}
		fc := control.ForecastIsland(&h, control.PVModel{}, start, control.DefaultRationHorizon, cfg)
		n := 0
		for _, g := range fc.Guessed {
			if g {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("%v of history, prior %v: %d of %d steps guessed, want %d", tc.history, tc.prior, n, len(fc.CriticalW), tc.want)
		}
	}
}

// homeRows is a home's forecast of critical load by hour, no PV and no
// other load, with a battery of full Wh and rated power ratedW.
func homeRows(id string, full gridmesh.Wh, ratedW gridmesh.W, crit ...gridmesh.W) control.HomeForecast {
	z := make([]gridmesh.W, len(crit))
	return control.HomeForecast{Home: gridmesh.HomeID(id), CriticalW: crit, PVW: z, EVW: z, HeatPumpW: z, OtherW: z, DischargeW: ratedW, ChargeW: ratedW, FullWh: full}
}

// The cases where the plan with disconnects alone serves less than the
// balancer, or more, played forward on the feeder model: RationIsland
// takes the decision of the policy that serves the most.
func TestRationRolloutByHand(t *testing.T) {
	cfg := control.RationConfig{Step: 60 * 60e9, RestoreSteps: 3, RoundTrip: 1, DisconnectHomes: true}
	for name, tc := range map[string]struct {
		homes []control.HomeForecast
		held  []gridmesh.W
		want  control.RationPolicy
		// served by each policy: classes only, disconnects, balancer
		served [3]gridmesh.Wh
	}{
		// 2.5 kWh for a 3.5 kWh night: the plan lights the lightest
		// hours, whole homes. In the second hour it lights h1 (500 W)
		// for a 250 W share, and in the last the 750 Wh left fits h2
		// alone but the plan lights h1 first (smallest first) and h2 no
		// longer fits: 500 Wh stays stored at the end. The balancer
		// serves every hour until the energy runs out: 2.5 kWh.
		"whole homes strand energy: the plan without disconnects": {
			homes: []control.HomeForecast{homeRows("h1", 1000, 1000, 0, 500, 500, 250), homeRows("h2", 2000, 2000, 750, 750, 0, 750)},
			held:  []gridmesh.W{1000, 1500}, want: control.PolicyClasses, served: [3]gridmesh.Wh{2500, 2000, 2500},
		},
		// 300 W of battery for 500 W of critical load: the balancer's
		// feeder is dark every hour; lighting h1 alone serves 250 W.
		"power short: the plan with disconnects": {
			homes: []control.HomeForecast{homeRows("h1", 3000, 300, 250, 250, 250, 250), homeRows("h2", 0, 0, 250, 250, 250, 250)},
			held:  []gridmesh.W{3000, 0}, want: control.PolicyDisconnect, served: [3]gridmesh.Wh{0, 1000, 0},
		},
	} {
		var hs []control.IslandHome
		var fc control.IslandForecast
		for i, f := range tc.homes {
			h := rationHome(string(f.Home), gridmesh.W(f.FullWh), tc.held[i], f.DischargeW, 1)
			h.Battery.MinW = -min(f.DischargeW, tc.held[i])
			h.CriticalW = f.CriticalW[0]
			hs = append(hs, h)
		}
		for k := range tc.homes[0].CriticalW {
			fc.CriticalW, fc.PVW = append(fc.CriticalW, tc.homes[0].CriticalW[k]+tc.homes[1].CriticalW[k]), append(fc.PVW, 0)
		}
		fc.Homes = tc.homes
		_, plan, err := control.RationIsland(control.DefaultIslandConfig(), cfg, hs, fc)
		if err != nil {
			t.Fatal(err)
		}
		if plan.Policy != tc.want || plan.ServedWh != tc.served {
			t.Errorf("%s: policy %d serving %v, want %d serving %v", name, plan.Policy, plan.ServedWh, tc.want, tc.served)
		}
	}
}

// BenchmarkRationIslandDeployed is one plan of a 15-home island on the
// deployed path: disconnects on, a day's horizon (96 steps), the homes'
// forecasts derived from the island's (the rollout plays three policies
// over it).
func BenchmarkRationIslandDeployed(b *testing.B) {
	icfg, rcfg := control.DefaultIslandConfig(), control.DefaultRationConfig()
	var hs []control.IslandHome
	for i := range 15 {
		h := rationHome(fmt.Sprintf("h%02d", i), 13_500, 4000, 5000, simRT)
		h.CriticalW, h.HeatPumpW, h.OtherW = gridmesh.W(300+20*i), 2000, 300
		hs = append(hs, h)
	}
	fc := control.IslandForecast{CriticalW: make([]gridmesh.W, 96), PVW: make([]gridmesh.W, 96)}
	for k := range fc.CriticalW {
		fc.CriticalW[k] = gridmesh.W(4000 + 3000*math.Sin(float64(k)/15))
		if k > 50 && k < 80 {
			fc.PVW[k] = 12_000
		}
	}
	for b.Loop() {
		if _, _, err := control.RationIsland(icfg, rcfg, hs, fc); err != nil {
			b.Fatal(err)
		}
	}
}
