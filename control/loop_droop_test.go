package control

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

// at is r with the grid frequency set to hz.
func at(r Reading, hz float64) Reading {
	r.FrequencyHz = hz
	return r
}

func TestLoopDroop(t *testing.T) {
	// 49.75 Hz is 0.25 Hz low: (0.25-0.015)/(0.5-0.015) of the range.
	part := gridmesh.W((0.25 - 0.015) / (0.5 - 0.015))
	tests := []struct {
		name    string
		plan    bool // follow a plan setting this home to 3 kW
		r       Reading
		battery gridmesh.W
		droop   gridmesh.W
		clamped bool
	}{
		{name: "not measured", r: idle(1_000), battery: -1_000},
		{name: "nominal", r: at(idle(1_000), 50), battery: -1_000},
		{name: "inside the deadband, low", r: at(idle(1_000), 49.986), battery: -1_000},
		{name: "inside the deadband, high", r: at(idle(1_000), 50.014), battery: -1_000},
		{name: "49.5 Hz: full discharge", r: at(idle(0), 49.5), battery: -5_000, droop: -5_000},
		{name: "50.5 Hz: full charge", r: at(idle(0), 50.5), battery: 5_000, droop: 5_000},
		{name: "beyond full: still full", r: at(idle(0), 49.2), battery: -5_000, droop: -5_000},
		{name: "partial, on top of self-consumption", r: at(idle(1_000), 49.75), battery: -1_000 - 5_000*part, droop: -5_000 * part},
		{name: "full discharge on top of a deficit: clamped", r: at(idle(1_000), 49.5), battery: -5_000, droop: -5_000, clamped: true},
		{name: "full charge absorbs a surplus too: clamped", r: at(idle(-2_000), 50.5), battery: 5_000, droop: 5_000, clamped: true},
		{name: "empty battery cannot discharge", r: at(Reading{NetW: 1_000, Battery: gridmesh.Flexibility{MaxW: 5_000}}, 49.5), battery: 0, clamped: true},
		{name: "NaN frequency", r: at(idle(1_000), math.NaN()), battery: -1_000},
		{name: "infinite frequency", r: at(idle(1_000), math.Inf(-1)), battery: -1_000},
		{name: "implausible frequency", r: at(idle(1_000), 30), battery: -1_000},
		{name: "plan: setpoint plus droop", plan: true, r: at(idle(1_000), 49.75), battery: 2_000 - 5_000*part, droop: -5_000 * part},
		{name: "plan: full discharge overrides a charging setpoint", plan: true, r: at(idle(1_000), 49.5), battery: -3_000, droop: -5_000},
		{name: "plan: full charge clamped", plan: true, r: at(idle(1_000), 50.5), battery: 5_000, droop: 5_000, clamped: true},
		{name: "unusable reading: held, no droop", r: at(Reading{NetW: gridmesh.W(math.NaN()), Battery: idle(0).Battery}, 49.5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLoop(t)
			want := Command{BatteryW: tt.battery, DroopW: tt.droop, Clamped: tt.clamped}
			if tt.plan {
				p := plan(1, 1, t0, 5*time.Second, 3_000)
				if err := l.Offer(p, t0); err != nil {
					t.Fatal(err)
				}
				want.Mode, want.Epoch, want.AimNetW = ModePlan, p.Epoch, 3_000
			}
			want.Held = !tt.r.usable()
			c := l.Step(tt.r, t0.Add(time.Second))
			if math.Abs(float64(c.BatteryW-want.BatteryW)) > 1e-9 || math.Abs(float64(c.DroopW-want.DroopW)) > 1e-9 {
				t.Fatalf("Step = %+v, want %+v", c, want)
			}
			c.BatteryW, c.DroopW = want.BatteryW, want.DroopW
			if c != want {
				t.Fatalf("Step = %+v, want %+v", c, want)
			}
		})
	}
}

// A home whose battery does exactly what it is told: over many ticks of a
// sustained dip the battery keeps the whole droop response on top of
// the aim (the net-point control does not take it back as load), and
// returns to the aim when the frequency does.
func TestLoopDroopHeldOverTicks(t *testing.T) {
	const baseW = 1_200
	part := gridmesh.W((0.25 - 0.015) / (0.5 - 0.015))
	for _, tc := range []struct {
		name   string
		aimW   gridmesh.W
		hidden bool // the battery reads 0 W whatever it delivers
	}{{"autonomous", 0, false}, {"plan", 300, false}, {"autonomous, power hidden", 0, true}, {"plan, power hidden", 300, true}} {
		t.Run(tc.name, func(t *testing.T) {
			l := newTestLoop(t)
			if tc.aimW != 0 {
				if err := l.Offer(plan(1, 1, t0, time.Minute, tc.aimW), t0); err != nil {
					t.Fatal(err)
				}
			}
			var batteryW gridmesh.W
			now := t0
			tick := func(hz float64) gridmesh.W {
				now = now.Add(100 * time.Millisecond)
				r := Reading{NetW: baseW + batteryW, FrequencyHz: hz, Battery: gridmesh.Flexibility{PowerW: batteryW, MinW: -5_000, MaxW: 5_000}}
				if tc.hidden {
					r.Battery.PowerW = 0
				}
				batteryW = l.Step(r, now).BatteryW
				return baseW + batteryW // the meter after the command
			}
			near := func(got, want gridmesh.W) bool { return math.Abs(float64(got-want)) < 1e-6 }
			for i := range 5 {
				if net := tick(50); !near(net, tc.aimW) {
					t.Fatalf("before the dip, tick %d: net %v, want %v", i, net, tc.aimW)
				}
			}
			droop := -5_000 * part
			for i := range 20 {
				if net := tick(49.75); !near(net, tc.aimW+droop) {
					t.Fatalf("dip tick %d: net %v, want aim %v + droop %v", i, net, tc.aimW, droop)
				}
			}
			for i := range 5 {
				if net := tick(50); !near(net, tc.aimW) {
					t.Fatalf("after the dip, tick %d: net %v, want %v", i, net, tc.aimW)
				}
			}
		})
	}
}

func TestNewLoopValidatesDroop(t *testing.T) {
	bad := LoopConfig{Home: "me", Neighborhood: "nb", Droop: DroopConfig{NominalHz: 50, DeadbandHz: 0.5, FullAtHz: 0.2}}
	if _, err := NewLoop(bad); !errors.Is(err, ErrBadDroopConfig) {
		t.Fatalf("NewLoop with a bad droop curve: %v, want ErrBadDroopConfig", err)
	}
	// A configured curve is used: 60 Hz nominal, so 59.5 Hz is full discharge.
	l, err := NewLoop(LoopConfig{Home: "me", Neighborhood: "nb", Droop: DroopConfig{NominalHz: 60, DeadbandHz: 0.015, FullAtHz: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	if c := l.Step(at(idle(0), 59.5), t0); c.DroopW != -5_000 {
		t.Fatalf("59.5 Hz on a 60 Hz curve: %+v, want full discharge", c)
	}
}
