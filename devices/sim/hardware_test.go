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
	for _, tc := range []struct {
		from, want gridmesh.W
		after      time.Duration
		drive      gridmesh.W
	}{
		{0, 2000, 100 * time.Millisecond, 0},       // still reacting
		{0, 2000, 700 * time.Millisecond, 500},     // half a second of ramp
		{0, 2000, 2200 * time.Millisecond, 2000},   // there
		{0, 2000, time.Hour, 2000},                 // and stays
		{1500, -500, 1200 * time.Millisecond, 500}, // down a kilowatt
		{1500, 1400, 300 * time.Millisecond, 1400}, // a small step lands
	} {
		if got := hw.driveAt(tc.from, tc.want, t0, t0.Add(tc.after)); got != tc.drive {
			t.Errorf("%v to %v after %v: drive %v, want %v", tc.from, tc.want, tc.after, got, tc.drive)
		}
	}
	if got := (BatteryHardware{ReactionDelay: time.Second}).driveAt(0, 2000, t0, t0.Add(1001*time.Millisecond)); got != 2000 {
		t.Errorf("no ramp: drive %v after the delay, want the command", got)
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
