package sim

import (
	"math"
	"testing"
	"time"

	"github.com/gridmesh/gridmesh"
)

func TestBatteryDrive(t *testing.T) {
	t0 := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	hw := BatteryHardware{RampWPerS: 1000, ReactionDelay: 200 * time.Millisecond}
	cmds := []timedCommand{{1000, t0}, {2000, t0.Add(100 * time.Millisecond)}, {-500, t0.Add(300 * time.Millisecond)}}
	for _, tc := range []struct {
		after time.Duration
		w     gridmesh.W
		ok    bool
	}{
		{100 * time.Millisecond, 0, false}, // nothing in effect yet
		{200 * time.Millisecond, 1000, true},
		{350 * time.Millisecond, 2000, true},
		{time.Second, -500, true},
	} {
		if w, ok := hw.target(cmds, t0.Add(tc.after)); w != tc.w || ok != tc.ok {
			t.Errorf("target after %v: %v %v, want %v %v", tc.after, w, ok, tc.w, tc.ok)
		}
	}
	if got := hw.prune(cmds, t0.Add(350*time.Millisecond)); len(got) != 2 || got[0].w != 2000 {
		t.Errorf("pruned to %v, want the command in effect and the one to come", got)
	}
	for _, tc := range []struct {
		cur, target gridmesh.W
		dt          time.Duration
		want        gridmesh.W
	}{
		{0, 2000, 500 * time.Millisecond, 500},
		{1500, -500, time.Second, 500},
		{1500, 1400, 200 * time.Millisecond, 1400}, // a small step lands
	} {
		if got := hw.ramp(tc.cur, tc.target, tc.dt); got != tc.want {
			t.Errorf("ramp %v to %v over %v: %v, want %v", tc.cur, tc.target, tc.dt, got, tc.want)
		}
	}
	if got := (BatteryHardware{}).ramp(0, 2000, time.Millisecond); got != 2000 {
		t.Errorf("no ramp: %v, want the target at once", got)
	}
}

func TestBatteryHardwareValidate(t *testing.T) {
	for name, hw := range map[string]BatteryHardware{
		"negative ramp":  {RampWPerS: -1},
		"NaN ramp":       {RampWPerS: gridmesh.W(math.NaN())},
		"negative delay": {ReactionDelay: -time.Second},
		"hour delay":     {ReactionDelay: time.Hour},
		"negative noise": {NoiseW: -1},
	} {
		if err := hw.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A home battery with a delay and a ramp: the meter sees the power move
// as the hardware moves it; the energy stored follows the delivered power.
func TestHomeBatteryRampsAfterItsDelay(t *testing.T) {
	at := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	now := at
	p := testHomeParams()
	p.Battery.Hardware = BatteryHardware{RampWPerS: 1000, ReactionDelay: 200 * time.Millisecond}
	h, err := NewHome(p, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetBatteryPower(2000); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		at   time.Duration
		want gridmesh.W
	}{{100 * time.Millisecond, 0}, {700 * time.Millisecond, 500}, {1200 * time.Millisecond, 1000}, {3 * time.Second, 2000}} {
		now = at.Add(step.at)
		if s := h.Snapshot(); math.Abs(float64(s.BatteryW-step.want)) > 1e-6 {
			t.Errorf("after %v: battery at %v, want %v", step.at, s.BatteryW, step.want)
		}
	}
	// 0.2 s at 0, 2 s ramping (1 kW mean), 0.8 s at 2 kW: 3.6 kWs = 1 Wh.
	stored := h.Snapshot().StoredWh - gridmesh.Wh(p.InitialSoC)*p.Battery.CapacityWh
	want := gridmesh.Wh(3600.0/3600) * gridmesh.Wh(math.Sqrt(p.Battery.RoundTripEfficiency))
	if math.Abs(float64(stored-want)) > 0.06 { // a 100 ms step of the ramp: 50 W·0.1 s
		t.Errorf("stored %v Wh over the ramp, want %v", stored, want)
	}
}

func TestHomeBatteryReportsLikeHardware(t *testing.T) {
	at := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	t.Run("noise", func(t *testing.T) {
		p := testHomeParams()
		p.Battery.Hardware = BatteryHardware{NoiseW: 20, NoiseSeed: 3}
		h, err := NewHome(p, func() time.Time { return at })
		if err != nil {
			t.Fatal(err)
		}
		_ = h.SetBatteryPower(1000)
		var sum, sq float64
		const n = 2000
		for range n {
			f, _ := h.Battery()
			d := float64(f.PowerW - 1000)
			sum, sq = sum+d, sq+d*d
		}
		mean, sd := sum/n, math.Sqrt(sq/n-(sum/n)*(sum/n))
		if math.Abs(mean) > 2 || sd < 18 || sd > 22 {
			t.Errorf("noise mean %.2f W, sd %.2f W; want about 0 and 20", mean, sd)
		}
		if s := h.Snapshot(); s.BatteryW != 1000 {
			t.Errorf("delivered %v, want the command: noise is the measurement's", s.BatteryW)
		}
	})
	t.Run("hidden power", func(t *testing.T) {
		p := testHomeParams()
		p.Battery.Hardware = BatteryHardware{HidesPower: true}
		h, err := NewHome(p, func() time.Time { return at })
		if err != nil {
			t.Fatal(err)
		}
		_ = h.SetBatteryPower(-1500)
		if f, _ := h.Battery(); f.PowerW != 0 || f.SoC != p.InitialSoC {
			t.Errorf("reading %+v, want no power and the rest", f)
		}
		if s := h.Snapshot(); s.BatteryW != -1500 {
			t.Errorf("delivered %v, want -1500", s.BatteryW)
		}
	})
}

func testHomeParams() HomeParams {
	return HomeParams{Battery: testBattery, InitialSoC: 0.5, PV: testPV, Load: testLoad}
}

// A loop repeats its command every tick; a delayed battery still takes it
// up: the delay is the command's transport, not restarted by each one.
func TestHomeBatteryFollowsRepeatedCommands(t *testing.T) {
	now := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	p := testHomeParams()
	p.Battery.Hardware = BatteryHardware{RampWPerS: 5000, ReactionDelay: 200 * time.Millisecond}
	h, err := NewHome(p, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	for range 10 { // a second of 100 ms ticks
		if err := h.SetBatteryPower(2000); err != nil {
			t.Fatal(err)
		}
		now = now.Add(100 * time.Millisecond)
	}
	if s := h.Snapshot(); s.BatteryW != 2000 {
		t.Errorf("battery at %v after a second of the same command, want 2000", s.BatteryW)
	}
	if n := len(h.batteryCmds); n > 3 {
		t.Errorf("%d commands kept, want those within the delay", n)
	}
}
