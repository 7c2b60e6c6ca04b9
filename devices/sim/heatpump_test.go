package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// testHeatPump heats a house losing 150 W/K with 5 kWh/K of mass (a
// time constant of 33 h) through a 2-4 °C day.
var testHeatPump = HeatPumpParams{
	MaxW: 3_000, COP: 3, LossWPerK: 150, CapacityWhPerK: 5_000,
	BandLowC: 20, BandHighC: 22, HysteresisC: 0.5,
	OutdoorMeanC: 3, OutdoorSwingC: 1,
}

func TestHeatPumpOutdoor(t *testing.T) {
	day := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	p := testHeatPump
	if got := p.OutdoorAt(day.Add(3 * time.Hour)); !near(got, 2, 1e-9) {
		t.Errorf("03:00: %v °C, want the coldest 2", got)
	}
	if got := p.OutdoorAt(day.Add(15 * time.Hour)); !near(got, 4, 1e-9) {
		t.Errorf("15:00: %v °C, want the warmest 4", got)
	}
}

// TestHeatPumpMatchesRC: without switching, Step is the exact solution of
// the RC model.
func TestHeatPumpMatchesRC(t *testing.T) {
	p := testHeatPump
	p.OutdoorSwingC = 0
	p.BandLowC, p.BandHighC, p.HysteresisC, p.FrostC = -50, 59, 0.5, -60 // nothing switches
	at := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	cmd := HeatPumpCommand{Manual: true, PowerW: 1_000}
	got := p.Step(ThermalState{IndoorC: 15}, cmd, at, 10*time.Hour)
	eq := 3 + 3*1_000/150.0
	want := eq + (15-eq)*math.Exp(-10/(5_000/150.0))
	if !near(got.IndoorC, want, 1e-9) || got.PowerW != 1_000 || !near(float64(got.UsedWh), 10_000, 1e-6) {
		t.Errorf("10 h at 1 kW: %+v, want %v °C", got, want)
	}
}

// TestHeatPumpThermostat: on its own the heat pump cycles around the
// middle of the band, switching exactly at the hysteresis bounds.
func TestHeatPumpThermostat(t *testing.T) {
	p := testHeatPump
	at := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	s := p.Step(ThermalState{IndoorC: 21}, HeatPumpCommand{}, at, 0)
	lo, hi, switches := 21.0, 21.0, 0
	for range 48 * 60 {
		next := p.Step(s, HeatPumpCommand{}, at, time.Minute)
		if next.PowerW != s.PowerW {
			switches++
		}
		lo, hi = min(lo, next.IndoorC), max(hi, next.IndoorC)
		s, at = next, at.Add(time.Minute)
	}
	if lo < 20.75-0.01 || hi > 21.25+0.01 || switches < 20 {
		t.Errorf("thermostat kept %.3f..%.3f °C with %d switches in 2 days", lo, hi, switches)
	}
}

// TestHeatPumpOverride: a command is followed below the comfort band
// (a heat pump told off stays off in a cold house) down to frost
// protection, and overridden above the band; without a command comfort
// keeps the house in the band.
func TestHeatPumpOverride(t *testing.T) {
	p := testHeatPump
	p.FrostC = 15 // reached within a day from 21 °C with the heat pump off
	at := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		cmd    gridmesh.W
		lo, hi float64 // where the house may go
	}{
		{"off lets it cool to frost protection", 0, 15, 22},
		{"full power heats it to the band", 3_000, 20, 22},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := HeatPumpCommand{Manual: true, PowerW: tt.cmd}
			s := ThermalState{IndoorC: 21}
			overridden, coldest := false, s.IndoorC
			for range 48 * 60 {
				s = p.Step(s, cmd, at, time.Minute)
				if s.IndoorC < tt.lo-1e-9 || s.IndoorC > tt.hi+1e-9 {
					t.Fatalf("%v °C outside [%v, %v]", s.IndoorC, tt.lo, tt.hi)
				}
				if s.PowerW != tt.cmd {
					overridden = true
				}
				coldest = min(coldest, s.IndoorC)
			}
			if !overridden {
				t.Error("never overridden")
			}
			if tt.cmd == 0 && coldest > 15+0.01 {
				t.Errorf("off: coldest %v °C, want frost protection's 15", coldest)
			}
		})
	}
	// Without a command the heat pump heats a house below its band at
	// full power, whatever its thermostat.
	s := p.Step(ThermalState{IndoorC: 19}, HeatPumpCommand{}, at, 0)
	if s.PowerW != p.MaxW || s.Recovery != RecoveryHeating {
		t.Errorf("default below the band: %+v", s)
	}
	if s := p.Step(ThermalState{IndoorC: 19}, HeatPumpCommand{Manual: true}, at, 0); s.PowerW != 0 {
		t.Errorf("told off below the band: %+v", s)
	}
	if s := p.Step(ThermalState{IndoorC: 14}, HeatPumpCommand{Manual: true}, at, 0); s.PowerW != p.MaxW || !s.Frost {
		t.Errorf("told off below frost protection: %+v", s)
	}
	// A command inside the band is followed as given, clamped.
	for _, w := range []gridmesh.W{0, 1_200, 3_000, 5_000, -1} {
		s := p.Step(ThermalState{IndoorC: 21}, HeatPumpCommand{Manual: true, PowerW: w}, at, 0)
		if s.PowerW != w.Clamp(0, 3_000) {
			t.Errorf("command %v: power %v", w, s.PowerW)
		}
	}
}

// TestHeatPumpStepProperties drives random houses with random commands
// over random intervals: power stays in [0, MaxW], energy follows power,
// a house started in its band stays above frost protection and below the
// band's top (the heat pumps are sized for the weather), in the band as
// long as it is not told a power, and one long step equals many short
// ones.
func TestHeatPumpStepProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	for range iterations(20) {
		fp := RandomFullHome(rng)
		p := *fp.HeatPump
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		s := p.Step(ThermalState{IndoorC: fp.InitialIndoorC}, HeatPumpCommand{}, at, 0)
		cmd := HeatPumpCommand{}
		for range 200 {
			if rng.IntN(3) == 0 {
				cmd = HeatPumpCommand{Manual: true, PowerW: gridmesh.W(rng.Float64()*1.2*float64(p.MaxW) - 100)}
			}
			dt := time.Duration(rng.Int64N(int64(2 * time.Hour)))
			next := p.Step(s, cmd, at, dt)
			if next.PowerW < 0 || next.PowerW > p.MaxW {
				t.Fatalf("seed %d: power %v outside [0, %v]", seed, next.PowerW, p.MaxW)
			}
			lo := p.BandLowC
			if cmd.Manual {
				lo = p.FrostC
			}
			if next.IndoorC < lo-1e-6 || next.IndoorC > p.BandHighC+1e-6 || math.IsNaN(next.IndoorC) {
				t.Fatalf("seed %d: %v °C outside [%v, %v] with %+v", seed, next.IndoorC, lo, p.BandHighC, p)
			}
			if used := float64(next.UsedWh - s.UsedWh); used < 0 || used > float64(p.MaxW)*dt.Hours()+1e-6 {
				t.Fatalf("seed %d: %v Wh in %v", seed, used, dt)
			}
			fine := s
			for i := range 7 {
				from := at.Add(dt * time.Duration(i) / 7)
				fine = p.Step(fine, cmd, from, at.Add(dt*time.Duration(i+1)/7).Sub(from))
			}
			// The outdoor temperature is sampled per segment, so cut
			// steps differ by a little.
			if !near(fine.IndoorC, next.IndoorC, 0.02) || !near(float64(fine.UsedWh), float64(next.UsedWh), 0.01*float64(p.MaxW)) {
				t.Fatalf("seed %d: one step %+v, seven steps %+v", seed, next, fine)
			}
			s, at = next, at.Add(dt)
		}
	}
}

func TestHeatPumpParamsValidate(t *testing.T) {
	if err := testHeatPump.Validate(); err != nil {
		t.Fatal(err)
	}
	for i, mutate := range []func(*HeatPumpParams){
		func(p *HeatPumpParams) { p.MaxW = 0 },
		func(p *HeatPumpParams) { p.COP = 0.5 },
		func(p *HeatPumpParams) { p.COP = math.NaN() },
		func(p *HeatPumpParams) { p.LossWPerK = 0 },
		func(p *HeatPumpParams) { p.CapacityWhPerK = -1 },
		func(p *HeatPumpParams) { p.BandLowC = 22 },
		func(p *HeatPumpParams) { p.BandHighC = math.Inf(1) },
		func(p *HeatPumpParams) { p.HysteresisC = 0 },
		func(p *HeatPumpParams) { p.FrostC = 20 },
		func(p *HeatPumpParams) { p.FrostC = math.NaN() },
		func(p *HeatPumpParams) { p.HysteresisC = 1.5 },
		func(p *HeatPumpParams) { p.OutdoorSwingC = -1 },
		func(p *HeatPumpParams) { p.OutdoorMeanC = math.NaN() },
	} {
		p := testHeatPump
		mutate(&p)
		if p.Validate() == nil {
			t.Errorf("case %d: %+v validated", i, p)
		}
	}
}
