package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// testBattery has a round-trip efficiency of 0.81 so that sqrt(eff) is a
// round 0.9 in the tables below.
var testBattery = BatteryParams{CapacityWh: 10_000, MaxChargeW: 5_000, MaxDischargeW: 4_000, RoundTripEfficiency: 0.81}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestBatteryStep(t *testing.T) {
	p := testBattery
	tests := []struct {
		name      string
		stored    gridmesh.Wh
		cmd       gridmesh.W
		dt        time.Duration
		wantWh    gridmesh.Wh
		wantPower gridmesh.W
	}{
		{"charge within limits", 5_000, 1_000, time.Hour, 5_900, 1_000},
		{"discharge within limits", 5_000, -900, time.Hour, 4_000, -900},
		{"charge clamped to max", 1_000, 9_000, time.Hour, 5_500, 5_000},
		{"discharge clamped to max", 9_000, -9_000, 30 * time.Minute, 9_000 - 2_000/0.9, -4_000},
		{"charge lands at capacity", 9_550, 1_000, time.Hour, 10_000, 500},
		{"discharge lands at empty", 450, -1_000, time.Hour, 0, -405},
		{"full refuses charge", 10_000, 1_000, time.Hour, 10_000, 0},
		{"empty refuses discharge", 0, -1_000, time.Hour, 0, 0},
		{"full may discharge", 10_000, -1_000, time.Hour, 10_000 - 1_000/0.9, -1_000},
		{"empty may charge", 0, 1_000, time.Hour, 900, 1_000},
		{"idle", 5_000, 0, time.Hour, 5_000, 0},
		{"NaN command is idle", 5_000, gridmesh.W(math.NaN()), time.Hour, 5_000, 0},
		{"+Inf command is idle", 5_000, gridmesh.W(math.Inf(1)), time.Hour, 5_000, 0},
		{"zero dt gives instant power", 5_000, 7_000, 0, 5_000, 5_000},
		{"zero dt at full", 10_000, 7_000, 0, 10_000, 0},
		{"negative dt integrates nothing", 5_000, 1_000, -time.Hour, 5_000, 1_000},
		{"stored above capacity is clamped", 12_000, 1_000, time.Hour, 10_000, 0},
		{"negative stored is clamped", -5, -1_000, time.Hour, 0, 0},
		{"NaN stored counts as empty", gridmesh.Wh(math.NaN()), 1_000, time.Hour, 900, 1_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Step(BatteryState{StoredWh: tt.stored}, tt.cmd, tt.dt)
			if !near(float64(got.StoredWh), float64(tt.wantWh), 1e-9) || !near(float64(got.PowerW), float64(tt.wantPower), 1e-9) {
				t.Errorf("Step(%v Wh, %v, %v) = %v Wh at %v, want %v Wh at %v",
					float64(tt.stored), tt.cmd, tt.dt, float64(got.StoredWh), got.PowerW, float64(tt.wantWh), tt.wantPower)
			}
		})
	}
}

// TestBatteryRoundTripLoss charges an empty battery, then discharges it
// empty: what comes back is the round-trip efficiency times what went in.
func TestBatteryRoundTripLoss(t *testing.T) {
	for _, eff := range []float64{1, 0.95, 0.9, 0.81, 0.5} {
		p := BatteryParams{CapacityWh: 10_000, MaxChargeW: 5_000, MaxDischargeW: 5_000, RoundTripEfficiency: eff}
		s := p.Step(BatteryState{}, 1_000, time.Hour)
		in := float64(s.PowerW) * 1 // Wh over one hour
		s = p.Step(s, -1_000, 2*time.Hour)
		out := -float64(s.PowerW) * 2
		if s.StoredWh != 0 {
			t.Fatalf("eff %v: %v Wh left after discharging past empty", eff, float64(s.StoredWh))
		}
		if loss := in - out; !near(loss, (1-eff)*in, 1e-9) {
			t.Errorf("eff %v: %v Wh in, %v Wh out, loss %v Wh, want %v Wh", eff, in, out, loss, (1-eff)*in)
		}
	}
}

// TestBatteryStepProperties drives random batteries with random commands
// over random intervals and checks bounds, limits and energy conservation.
func TestBatteryStepProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for range 200 {
		p := RandomHome(rng).Battery
		p.RoundTripEfficiency = 0.5 + 0.5*rng.Float64()
		eta := math.Sqrt(p.RoundTripEfficiency)
		s := BatteryState{StoredWh: gridmesh.Wh(rng.Float64()) * p.CapacityWh}
		for range 200 {
			var cmd gridmesh.W
			switch rng.IntN(20) {
			case 0:
				cmd = gridmesh.W(math.NaN())
			case 1:
				cmd = gridmesh.W(math.Inf(1 - 2*rng.IntN(2)))
			default:
				cmd = gridmesh.W((rng.Float64()*2 - 1) * 12_000)
			}
			dt := time.Duration(rng.Int64N(int64(2 * time.Hour)))
			if rng.IntN(10) == 0 {
				dt = 0
			}
			next := p.Step(s, cmd, dt)
			if next.StoredWh < 0 || next.StoredWh > p.CapacityWh || !next.StoredWh.Finite() {
				t.Fatalf("seed %d: stored %v Wh outside [0, %v]", seed, float64(next.StoredWh), float64(p.CapacityWh))
			}
			if next.PowerW < -p.MaxDischargeW || next.PowerW > p.MaxChargeW || !next.PowerW.Finite() {
				t.Fatalf("seed %d: power %v outside [%v, %v]", seed, next.PowerW, -p.MaxDischargeW, p.MaxChargeW)
			}
			if next.PowerW != 0 && (cmd > 0) != (next.PowerW > 0) {
				t.Fatalf("seed %d: command %v delivered as %v", seed, cmd, next.PowerW)
			}
			h := dt.Hours()
			want := float64(next.PowerW) * h * eta
			if next.PowerW < 0 {
				want = float64(next.PowerW) * h / eta
			}
			if got := float64(next.StoredWh - s.StoredWh); !near(got, want, 1e-9*float64(p.CapacityWh)) {
				t.Fatalf("seed %d: stored changed by %v Wh, power %v over %v implies %v Wh", seed, got, next.PowerW, dt, want)
			}
			if err := p.Flexibility(next).Validate(); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			s = next
		}
	}
}

func TestBatteryFlexibility(t *testing.T) {
	p := testBattery
	tests := []struct {
		name string
		s    BatteryState
		want gridmesh.Flexibility
	}{
		{"empty", BatteryState{StoredWh: 0, PowerW: -1_000}, gridmesh.Flexibility{PowerW: 0, MinW: 0, MaxW: 5_000, SoC: 0, CapacityWh: 10_000, ChargeWh: 10_000 / 0.9, DischargeWh: 0}},
		{"full", BatteryState{StoredWh: 10_000, PowerW: 2_000}, gridmesh.Flexibility{PowerW: 0, MinW: -4_000, MaxW: 0, SoC: 1, CapacityWh: 10_000, ChargeWh: 0, DischargeWh: 9_000}},
		{"half", BatteryState{StoredWh: 5_000, PowerW: 2_000}, gridmesh.Flexibility{PowerW: 2_000, MinW: -4_000, MaxW: 5_000, SoC: 0.5, CapacityWh: 10_000, ChargeWh: 5_000 / 0.9, DischargeWh: 4_500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Flexibility(tt.s)
			if err := got.Validate(); err != nil {
				t.Fatal(err)
			}
			if got.PowerW != tt.want.PowerW || got.MinW != tt.want.MinW || got.MaxW != tt.want.MaxW || got.SoC != tt.want.SoC ||
				got.CapacityWh != tt.want.CapacityWh || !near(float64(got.ChargeWh), float64(tt.want.ChargeWh), 1e-9) ||
				!near(float64(got.DischargeWh), float64(tt.want.DischargeWh), 1e-9) {
				t.Errorf("Flexibility(%+v) = %+v, want %+v", tt.s, got, tt.want)
			}
		})
	}
}

func TestBatteryParamsValidate(t *testing.T) {
	if err := testBattery.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*BatteryParams){
		func(p *BatteryParams) { p.CapacityWh = 0 },
		func(p *BatteryParams) { p.CapacityWh = gridmesh.Wh(math.Inf(1)) },
		func(p *BatteryParams) { p.MaxChargeW = 0 },
		func(p *BatteryParams) { p.MaxDischargeW = -1 },
		func(p *BatteryParams) { p.MaxDischargeW = gridmesh.W(math.NaN()) },
		func(p *BatteryParams) { p.RoundTripEfficiency = 0 },
		func(p *BatteryParams) { p.RoundTripEfficiency = 1.1 },
		func(p *BatteryParams) { p.RoundTripEfficiency = math.NaN() },
	}
	for i, mutate := range bad {
		p := testBattery
		mutate(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("case %d: %+v validated", i, p)
		}
	}
}

// TestBatteryReserve: the backup reserve stops discharge and the energy
// on offer, unless it is usable.
func TestBatteryReserve(t *testing.T) {
	p := testBattery
	p.ReserveSoC = 0.2 // 2,000 Wh
	tests := []struct {
		name      string
		s         BatteryState
		cmd       gridmesh.W
		dt        time.Duration
		wantWh    gridmesh.Wh
		wantPower gridmesh.W
	}{
		{"discharge lands at reserve", BatteryState{StoredWh: 2_450}, -1_000, time.Hour, 2_000, -405},
		{"at reserve refuses discharge", BatteryState{StoredWh: 2_000}, -1_000, time.Hour, 2_000, 0},
		{"below reserve refuses discharge", BatteryState{StoredWh: 1_000}, -1_000, time.Hour, 1_000, 0},
		{"below reserve may charge", BatteryState{StoredWh: 1_000}, 1_000, time.Hour, 1_900, 1_000},
		{"usable reserve discharges", BatteryState{StoredWh: 2_000, ReserveUsable: true}, -900, time.Hour, 1_000, -900},
		{"usable reserve lands at empty", BatteryState{StoredWh: 450, ReserveUsable: true}, -1_000, time.Hour, 0, -405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Step(tt.s, tt.cmd, tt.dt)
			if !near(float64(got.StoredWh), float64(tt.wantWh), 1e-9) || !near(float64(got.PowerW), float64(tt.wantPower), 1e-9) || got.ReserveUsable != tt.s.ReserveUsable {
				t.Errorf("Step(%+v, %v, %v) = %+v, want %v Wh at %v", tt.s, tt.cmd, tt.dt, got, float64(tt.wantWh), tt.wantPower)
			}
		})
	}
	f := p.Flexibility(BatteryState{StoredWh: 5_000})
	if f.MinW != -4_000 || !near(float64(f.DischargeWh), 3_000*0.9, 1e-9) || f.SoC != 0.5 {
		t.Errorf("above reserve: %+v", f)
	}
	f = p.Flexibility(BatteryState{StoredWh: 1_500, PowerW: -1_000})
	if f.MinW != 0 || f.DischargeWh != 0 || f.PowerW != 0 || f.MaxW != 5_000 || f.SoC != 0.15 {
		t.Errorf("below reserve: %+v", f)
	}
	f = p.Flexibility(BatteryState{StoredWh: 1_500, ReserveUsable: true})
	if f.MinW != -4_000 || !near(float64(f.DischargeWh), 1_500*0.9, 1e-9) {
		t.Errorf("usable reserve: %+v", f)
	}
	for _, r := range []float64{-0.1, 1.1, math.NaN()} {
		q := testBattery
		q.ReserveSoC = r
		if q.Validate() == nil {
			t.Errorf("reserve %v validated", r)
		}
	}
}
